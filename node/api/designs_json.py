"""JSON shapes of the operations and proposal actions protocol version 3 adds (guaranteed time
credits, spend-locally money, exchange between communities, key recovery), and of the entries the
API shows for them.

Kept beside ``views.py`` so its ``operation_json`` stays one small ``match``; amounts are integers
in the currency's minor units, keys are addresses, as everywhere in the API.
"""

from __future__ import annotations

from typing import Any, assert_never

from protocol.addresses import encode_account
from protocol.designs.actions import (
    AgreeExchange,
    DelistBusiness,
    DesignAction,
    ListBusiness,
    SetAccreditation,
)
from protocol.designs.operations import (
    Accredit,
    ApproveRecovery,
    CancelRecovery,
    CreditHours,
    DesignOperation,
    ExchangePay,
    FinishRecovery,
    RegisterBusiness,
    RemoveBusiness,
    SetGuardians,
)


def design_operation_json(op: DesignOperation, source: bytes) -> dict[str, Any]:
    match op:
        case Accredit(currency, organisation, quota, active):
            return {
                "type": "accredit",
                "currency": currency,
                "organisation": encode_account(organisation),
                "quota": quota,
                "active": active,
            }
        case CreditHours(currency, volunteer, amount, service):
            return {
                "type": "credit_hours",
                "currency": currency,
                "from": encode_account(source),
                "to": encode_account(volunteer),
                "amount": amount,
                "service": service,
            }
        case RegisterBusiness(currency, business, name, category, offer):
            return {"type": "register_business", "currency": currency} | business_json(
                business, name, category, offer
            )
        case RemoveBusiness(currency, business):
            return {"type": "remove_business", "currency": currency, "business": encode_account(business)}
        case ExchangePay(destination, amount, currency, send_max, hops):
            return {
                "type": "exchange_pay",
                "from": encode_account(source),
                "to": encode_account(destination),
                "currency": currency,
                "send_max": send_max,
                "receive_currency": hops[-1].currency if hops else currency,
                "amount": amount,
                "path": [{"currency": hop.currency, "agreement_version": hop.version} for hop in hops],
            }
        case SetGuardians(guardians, threshold, delay_s):
            return {
                "type": "set_guardians",
                "guardians": [encode_account(g) for g in guardians],
                "threshold": threshold,
                "delay_s": delay_s,
            }
        case ApproveRecovery(account, new_key):
            return {
                "type": "approve_recovery",
                "account": encode_account(account),
                "new_key": encode_account(new_key),
            }
        case CancelRecovery():
            return {"type": "cancel_recovery", "account": encode_account(source)}
        case FinishRecovery(account):
            return {"type": "finish_recovery", "account": encode_account(account)}
        case _:
            assert_never(op)


def design_action_json(action: DesignAction) -> dict[str, Any]:
    """The fields of a version-3 proposal action (``action_json`` adds its name)."""
    match action:
        case SetAccreditation(organisation, quota, active):
            return {"organisation": encode_account(organisation), "quota": quota, "active": active}
        case ListBusiness(business, name, category, offer):
            return business_json(business, name, category, offer)
        case DelistBusiness(business):
            return {"business": encode_account(business)}
        case AgreeExchange(partner, num, den, own, other):
            return {
                "partner": partner,
                "rate_num": num,
                "rate_den": den,
                "own_limit": own,
                "partner_limit": other,
            }
        case _:
            assert_never(action)


def business_json(business: bytes, name: str, category: str, offer: str) -> dict[str, Any]:
    return {"business": encode_account(business), "name": name, "category": category, "offer": offer}
