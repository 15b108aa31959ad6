"""The operations and proposal actions of protocol version 3 in plain words, for
``describe_operation`` and ``describe_action``."""

from __future__ import annotations

from collections.abc import Callable
from typing import assert_never

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

Namer = Callable[[bytes], str]
Amount = Callable[[int, str], str]


def describe_design(op: DesignOperation, amount: Amount, name: Namer) -> str:
    match op:
        case Accredit(currency, organisation, quota, active):
            if not active:
                return f"withdraw the accreditation of {name(organisation)} in {currency}"
            return f"accredit {name(organisation)} to credit up to {amount(quota, currency)} in all"
        case CreditHours(currency, volunteer, value, service):
            return f"credit {amount(value, currency)} to {name(volunteer)} for “{service}”"
        case RegisterBusiness(currency, business, title, category, offer):
            return f"register {name(business)} as “{title}” ({category}) in {currency}" + _offer(offer)
        case RemoveBusiness(currency, business):
            return f"remove {name(business)} from the businesses of {currency}"
        case ExchangePay(destination, value, currency, send_max, hops):
            receive = hops[-1].currency if hops else currency
            versions = ", ".join(f"{hop.currency} v{hop.version}" for hop in hops)
            return (
                f"pay {amount(value, receive)} to {name(destination)}, paying at most "
                f"{amount(send_max, currency)} (exchange, agreement {versions})"
            )
        case SetGuardians(guardians, threshold, delay_s):
            if not guardians:
                return "remove the account's guardians"
            listed = ", ".join(name(g) for g in guardians)
            return (
                f"name {listed} as guardians: {threshold} of them may replace this account's key, "
                f"{duration_text(delay_s)} after they agree, unless the key cancels it"
            )
        case ApproveRecovery(account, new_key):
            return f"as a guardian, approve replacing the key of {name(account)} with {name(new_key)}"
        case CancelRecovery():
            return "cancel the key recovery under way for this account"
        case FinishRecovery(account):
            return f"finish the key recovery of {name(account)} (its new key takes over)"
        case _:
            assert_never(op)


def describe_design_action(action: DesignAction, code: str, amount: Amount, name: Namer) -> str:
    match action:
        case SetAccreditation(organisation, quota, active):
            return describe_design(Accredit(code, organisation, quota, active), amount, name)
        case ListBusiness(business, title, category, offer):
            return describe_design(RegisterBusiness(code, business, title, category, offer), amount, name)
        case DelistBusiness(business):
            return describe_design(RemoveBusiness(code, business), amount, name)
        case AgreeExchange(partner, num, den, own, other):
            return (
                f"agree to exchange with {partner}: {amount(num, partner)} for every {amount(den, code)}, "
                f"{code}'s clearing account within {amount(own, code)}, {partner}'s within "
                f"{amount(other, partner)}"
            )
        case _:
            assert_never(action)


def duration_text(seconds: int) -> str:
    """``259200`` → ``3 days``; ``90`` → ``90 s``."""
    for unit, size in (("day", 86_400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} s"


def _offer(offer: str) -> str:
    return f", offering “{offer}”" if offer else ""
