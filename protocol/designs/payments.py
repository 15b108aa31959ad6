"""Whom a payment may reach under a currency's terms (protocol version 3), and what a payment to
an accredited organisation records.

* ``registered`` (spend-locally money): the issuer and registered businesses pay anyone; anyone
  else pays only registered businesses (``not_registered``).
* ``providers`` (guaranteed credits): the guarantor and accredited organisations pay anyone;
  anyone else pays only accredited organisations (``not_provider``): that is redemption.
* Nobody pays a clearing account directly (``clearing_account``): exchanges do.

Called by ``protocol.apply`` before the transfer itself (``protocol.governance.transfer``), and by
the exchange for the payer's leg (``protocol.designs.exchange``).
"""

from __future__ import annotations

from dataclasses import replace

from protocol.designs.credits import accreditation, is_provider
from protocol.designs.local import is_business
from protocol.designs.terms import Acceptance
from protocol.results import ResultCode
from protocol.state import Currency, Role, StateOverlay

R = ResultCode


def payment_refusal(state: StateOverlay, currency: Currency, payer: bytes, payee: bytes) -> ResultCode | None:
    """Why ``payer`` may not pay ``payee`` in ``currency`` (a payment operation), or None."""
    holding = state.holding(payee, currency.code)
    if holding is not None and holding.role is Role.CLEARING:
        return R.CLEARING_ACCOUNT
    return acceptance_refusal(state, currency, payer, payee)


def acceptance_refusal(
    state: StateOverlay, currency: Currency, payer: bytes, payee: bytes
) -> ResultCode | None:
    """Why the currency's terms do not let ``payer`` pay ``payee``, or None."""
    code = currency.code
    match currency.extension.terms.accept:
        case Acceptance.ANYONE:
            return None
        case Acceptance.REGISTERED:
            if payer == currency.issuer or is_business(state, code, payer) or is_business(state, code, payee):
                return None
            return R.NOT_REGISTERED
        case Acceptance.PROVIDERS:
            if payer == currency.issuer or is_provider(state, code, payer) or is_provider(state, code, payee):
                return None
            return R.NOT_PROVIDER


def record_redemption(
    state: StateOverlay, currency: Currency, payer: bytes, payee: bytes, amount: int
) -> None:
    """After a payment in a guaranteed currency: credits a holder paid an accredited organisation
    count as redeemed with it (the organisation's report)."""
    if not currency.extension.terms.guaranteed or payer == currency.issuer:
        return
    found = accreditation(state, currency.code, payee)
    if found is not None and accreditation(state, currency.code, payer) is None:
        state.put(replace(found, redeemed=found.redeemed + amount))
