"""Guaranteed time credits (after Zeitvorsorge, St. Gallen): a guarantor stands behind hours of
care volunteers earn through accredited organisations.

* The currency's creator is its guarantor and its first member (credit limit 0). It accredits
  organisations with an hour quota (``Accredit``), or the members decide by proposal where they
  govern (``SetAccreditation``); an accredited organisation becomes a member if it was not one.
* An accredited organisation credits a member's hours for a described service
  (``CreditHours``): the volunteer's balance rises, the guarantor's falls by as much, so the
  currency still sums to zero and the guarantor's debt is visible to all. Its credits in total
  never pass its quota (lowering a quota below what was credited stops further credits).
* Credits never expire or decay: demurrage is refused for such a currency, and it takes part in
  no exchange (``guaranteed_credits``).
* Outstanding credits, the guarantor's liability, are every balance above zero except the
  guarantor's own: ``outstanding``.

Whom holders may pay (accredited care providers only, or peers too) is ``protocol.designs.payments``.
"""

from __future__ import annotations

from dataclasses import replace

from protocol.context import LedgerContext
from protocol.designs.entries import Accreditation, accreditation_key
from protocol.designs.operations import Accredit, CreditHours
from protocol.governance import standing
from protocol.governance.rules import GovernancePolicy
from protocol.governance.transfer import credited, member_refusal, write_balances
from protocol.results import ResultCode
from protocol.state import Currency, Holding, StateOverlay

R = ResultCode


def accreditation(state: StateOverlay, code: str, organisation: bytes) -> Accreditation | None:
    found = state.get(accreditation_key(code, organisation))
    return found if isinstance(found, Accreditation) else None


def is_provider(state: StateOverlay, code: str, account: bytes) -> bool:
    """Whether ``account`` is an organisation accredited now (it may credit hours and redeem)."""
    found = accreditation(state, code, account)
    return found is not None and found.active


def outstanding(currency: Currency, guarantor: Holding | None) -> int:
    """The credits held by anyone but the guarantor: what the guarantor owes."""
    own = guarantor.balance if guarantor is not None and guarantor.balance > 0 else 0
    return currency.supply - own


def direct_refusal(currency: Currency, source: bytes, not_authority: ResultCode) -> ResultCode | None:
    """Why ``source`` may not change this rule directly: it is not the currency's issuer (or
    guarantor), or the members govern, and only a passed proposal may."""
    if source != currency.issuer:
        return not_authority
    if currency.extension.rules.policy is GovernancePolicy.MEMBERS:
        return R.NEEDS_PROPOSAL
    return None


def accredit_operation(state: StateOverlay, op: Accredit, source: bytes, ctx: LedgerContext) -> ResultCode:
    currency = state.currency(op.currency)
    if currency is None:
        return R.NO_CURRENCY
    if not currency.extension.terms.guaranteed:
        return R.WRONG_KIND
    refusal = direct_refusal(currency, source, R.NOT_GUARANTOR)
    if refusal is not None:
        return refusal
    return accredit(state, currency, op.organisation, op.quota, op.active, ctx)


def accredit(
    state: StateOverlay, currency: Currency, organisation: bytes, quota: int, active: bool, ctx: LedgerContext
) -> ResultCode:
    """Accredit ``organisation`` (a member from now on) or change its quota, or withdraw it."""
    if not currency.extension.terms.guaranteed:
        return R.WRONG_KIND
    found = accreditation(state, currency.code, organisation)
    if found is None and not active:
        return R.NOT_ACCREDITED  # nothing to withdraw
    holding = state.holding(organisation, currency.code)
    if active and (holding is None or not holding.member):
        admitted = standing.admit(state, currency, organisation, 0, ctx)
        if admitted is not R.OK:
            return admitted
    if found is None:
        state.put(Accreditation(currency.code, organisation, quota, active=active))
    else:
        state.put(replace(found, quota=quota, active=active))
    return R.OK


def credit_hours(state: StateOverlay, op: CreditHours, source: bytes, ctx: LedgerContext) -> ResultCode:
    """The volunteer gains ``op.amount`` hours, the guarantor owes as much more."""
    currency = state.currency(op.currency)
    if currency is None:
        return R.NO_CURRENCY
    if not currency.extension.terms.guaranteed:
        return R.WRONG_KIND
    found = accreditation(state, op.currency, source)
    if found is None or not found.active:
        return R.NOT_ACCREDITED
    refusal = member_refusal(state.holding(source, op.currency))
    if refusal is not None:
        return refusal
    volunteer = state.holding(op.volunteer, op.currency)
    refusal = member_refusal(volunteer, R.DESTINATION_NOT_MEMBER)
    if refusal is not None:
        return refusal
    assert volunteer is not None
    if found.credited + op.amount > found.quota:
        return R.OVER_QUOTA
    new_balance = volunteer.balance + op.amount
    if currency.max_balance and new_balance > currency.max_balance:
        return R.OVER_MAX_BALANCE
    guarantor = state.holding(currency.issuer, op.currency)
    if guarantor is None or guarantor.account == volunteer.account:
        return R.NOT_GUARANTOR if guarantor is None else R.DESTINATION_NOT_MEMBER
    # the guarantor's debt is not bounded by its credit limit: the quotas it granted bound it
    updates = [(guarantor, credited(guarantor, -op.amount)), (volunteer, credited(volunteer, op.amount))]
    if write_balances(state, currency, updates) is None:
        return R.OVER_MAX_BALANCE  # more credits than a ledger number can hold
    state.put(replace(found, credited=found.credited + op.amount))
    return R.OK
