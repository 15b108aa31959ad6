"""JSON shapes of the operations and proposal actions protocol version 3 adds (guaranteed time
credits, spend-locally money, exchange between communities, key recovery), and of the entries the
API shows for them.

Kept beside ``views.py`` so its ``operation_json`` stays one small ``match``; amounts are integers
in the currency's minor units, keys are addresses, as everywhere in the API.
"""

from __future__ import annotations

from typing import Any, assert_never

from node.designs_reads import GuarantorReport, OrganisationReport, Position
from protocol.addresses import encode_account
from protocol.designs.actions import (
    AgreeExchange,
    DelistBusiness,
    DesignAction,
    ListBusiness,
    SetAccreditation,
)
from protocol.designs.clearing import clearing_address
from protocol.designs.entries import Accreditation, Business, Guardianship
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
from protocol.state import Currency


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


# -- entries and reports ---------------------------------------------------------------------------


def terms_json(currency: Currency) -> dict[str, Any]:
    """A currency's version-3 terms (keys added to ``GET /currencies/{code}``)."""
    terms = currency.extension.terms
    body: dict[str, Any] = {"terms": {"guaranteed": terms.guaranteed, "accept": terms.accept.value}}
    if terms.guaranteed:
        body["guarantor"] = encode_account(currency.issuer)
    return body


def business_entry_json(business: Business) -> dict[str, Any]:
    return business_json(business.account, business.name, business.category, business.offer)


def accreditation_json(found: Accreditation, balance: int) -> dict[str, Any]:
    return {
        "organisation": encode_account(found.organisation),
        "active": found.active,
        "quota": found.quota,
        "credited": found.credited,
        "remaining": found.remaining,
        "redeemed": found.redeemed,
        "balance": balance,
    }


def guarantor_report_json(report: GuarantorReport) -> dict[str, Any]:
    currency = report.currency
    return {
        "code": currency.code,
        "decimals": currency.decimals,
        "guarantor": encode_account(currency.issuer),
        "guarantor_balance": report.guarantor_balance,
        "outstanding": report.outstanding,
        "credited": sum(found.credited for found, _ in report.organisations),
        "organisations": [accreditation_json(found, balance) for found, balance in report.organisations],
    }


def organisation_report_json(currency: Currency, report: OrganisationReport) -> dict[str, Any]:
    return {
        "code": currency.code,
        "decimals": currency.decimals,
        **accreditation_json(report.accreditation, report.balance),
        "credits": [
            {
                "ledger": c.ledger,
                "close_time_ms": c.close_time_ms,
                "tx": c.tx_hash.hex(),
                "volunteer": encode_account(c.volunteer),
                "amount": c.amount,
                "service": c.service,
            }
            for c in report.credits
        ],
    }


def position_json(position: Position) -> dict[str, Any]:
    """An agreement, its clearing accounts and who owes whom (amounts in each currency's own
    minor units). The debtor's clearing account holds what its members paid in; the creditor's
    is below zero by what it paid out to its members."""
    agreement = position.agreement
    sides = (agreement.a, agreement.b)
    debtor, creditor = position.debtor, position.creditor
    return {
        "a": agreement.a,
        "b": agreement.b,
        "version": agreement.version,
        "in_force": agreement.in_force,
        "rate": {"num": agreement.rate_num, "den": agreement.rate_den},
        "agreed": {agreement.a: agreement.agreed_a, agreement.b: agreement.agreed_b},
        "limits": {code: agreement.limit_of(code) for code in sides},
        "clearing": {
            code: {
                "address": encode_account(clearing_address(code, agreement.partner_of(code))),
                "balance": position.balance_of(code),
            }
            for code in sides
        },
        "owes": None
        if debtor is None or creditor is None
        else {
            "debtor": debtor,
            "creditor": creditor,
            "debtor_amount": abs(position.balance_of(debtor)),
            "creditor_amount": abs(position.balance_of(creditor)),
        },
    }


def guardianship_json(account: bytes, found: Guardianship | None, now_ms: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "account": encode_account(account),
        "guardians": [],
        "threshold": 0,
        "delay_s": 0,
        "approvals": [],
        "recovery": None,
    }
    if found is None:
        return body
    body |= {
        "guardians": [encode_account(g) for g in found.guardians],
        "threshold": found.threshold,
        "delay_s": found.delay_s,
        "approvals": [
            {"guardian": encode_account(g), "new_key": encode_account(k)} for g, k in found.approvals
        ],
    }
    if found.started:
        body["recovery"] = {
            "new_key": encode_account(found.started_key),
            "due_ms": found.due_ms,
            "due": found.due_ms <= now_ms,
        }
    return body
