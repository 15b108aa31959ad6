"""Exchange between communities: a member pays in her currency, the recipient gets his, in one
transaction, through the two communities' clearing accounts (``protocol.designs.clearing``).

Agreeing. Each community agrees to terms through its own governance (a proposal with an
``agree_exchange`` action: its stewards sign it, or its members vote). The terms are stored
oriented by code (``a`` < ``b``) with the rate as a reduced fraction, so both sides agreeing to
the same rate and limits is one set of terms. Agreeing to different terms starts a new version,
in force once the partner agrees to it too; until then no exchange runs.

Paying. ``ExchangePay`` names the amount the recipient gets and the agreement version of each hop
(a changed agreement makes the payment ``stale_rate``). Going back along the path each amount is
rounded up: ``cost = ceil(amount · den / num)``, so the payer's side always gives at least what the
recipient's side receives at the agreed rate — rounding never creates value. Each leg moves money
inside one currency only (payer → clearing account, clearing account → recipient), so every
currency's totals (zero for mutual credit, minted minus redeemed for issued) stay as they were.

Limits. A clearing account of a mutual or time currency stays within ±its community's limit; one
of an issued currency between 0 (it pays only what it holds) and the limit. A move back towards
the range is always allowed, so positions can be unwound after a limit was lowered.
"""

from __future__ import annotations

import math

from protocol.codec import INT64_MAX
from protocol.context import LedgerContext
from protocol.designs.actions import AgreeExchange
from protocol.designs.clearing import clearing_address
from protocol.designs.entries import ExchangeAgreement, agreement_key
from protocol.designs.operations import ExchangePay
from protocol.designs.payments import acceptance_refusal
from protocol.governance.transfer import (
    BLOCKED,
    blank_holding,
    credited,
    member_refusal,
    settle,
    write_balances,
)
from protocol.results import ResultCode
from protocol.state import Currency, Holding, Role, StateOverlay

R = ResultCode


def agreement(state: StateOverlay, code: str, partner: str) -> ExchangeAgreement | None:
    found = state.get(agreement_key(code, partner))
    return found if isinstance(found, ExchangeAgreement) else None


def rate_from(found: ExchangeAgreement, code: str) -> tuple[int, int]:
    """(num, den): ``num`` minor units of the partner's currency for ``den`` of ``code``'s."""
    return (found.rate_num, found.rate_den) if code == found.a else (found.rate_den, found.rate_num)


def cost(amount: int, rate: tuple[int, int]) -> int:
    """What ``amount`` of the partner's currency costs in one's own at ``rate`` (rounded up)."""
    num, den = rate
    return -(-amount * den // num)


def agree(state: StateOverlay, currency: Currency, action: AgreeExchange, ctx: LedgerContext) -> ResultCode:
    """``currency``'s community agrees to ``action``'s terms with the partner community."""
    partner = state.currency(action.partner)
    if partner is None:
        return R.NO_CURRENCY
    if currency.extension.terms.guaranteed or partner.extension.terms.guaranteed:
        return R.GUARANTEED_CREDITS
    divisor = math.gcd(action.rate_num, action.rate_den)
    num, den = action.rate_num // divisor, action.rate_den // divisor
    own_is_a = currency.code < partner.code
    a, b = (currency.code, partner.code) if own_is_a else (partner.code, currency.code)
    terms = (
        (num, den, action.own_limit, action.partner_limit)
        if own_is_a
        else (den, num, action.partner_limit, action.own_limit)
    )
    found = agreement(state, a, b)
    if found is not None and (found.rate_num, found.rate_den, found.limit_a, found.limit_b) == terms:
        version, agreed_a, agreed_b = (
            found.version,
            found.agreed_a or own_is_a,
            found.agreed_b or not own_is_a,
        )
    else:
        version, agreed_a, agreed_b = (found.version + 1 if found else 1), own_is_a, not own_is_a
    updated = ExchangeAgreement(a, b, version, *terms, agreed_a, agreed_b)
    if updated.in_force:
        for code, other in ((a, b), (b, a)):
            refusal = _open_clearing(state, code, other)
            if refusal is not None:
                return refusal
    state.put(updated)
    return R.OK


def _open_clearing(state: StateOverlay, code: str, partner: str) -> ResultCode | None:
    address = clearing_address(code, partner)
    holding = state.holding(address, code)
    if holding is None:
        state.put(Holding(address, code, 0, 0, Role.CLEARING))
    elif holding.role is not Role.CLEARING:
        return R.CLEARING_ACCOUNT  # somebody admitted the address as a member before
    return None


def pay(state: StateOverlay, op: ExchangePay, source: bytes, ctx: LedgerContext) -> ResultCode:
    """The payer's leg, then each clearing leg, all in one transaction (or nothing)."""
    path = op.path
    currencies = [state.currency(code) for code in path]
    agreements: list[ExchangeAgreement] = []
    for index, hop in enumerate(op.hops):
        if currencies[index] is None or currencies[index + 1] is None:
            return R.NO_CURRENCY
        found = agreement(state, path[index], hop.currency)
        if found is None or not found.in_force:
            return R.NO_AGREEMENT
        if found.version != hop.version:
            return R.STALE_RATE
        agreements.append(found)
    amounts = [op.amount]
    for index in reversed(range(len(op.hops))):
        amounts.insert(0, cost(amounts[0], rate_from(agreements[index], path[index])))
    if amounts[0] > op.send_max:
        return R.OVER_SEND_MAX
    last = len(path) - 1
    for index, code in enumerate(path):
        currency = currencies[index]
        assert currency is not None
        before = agreements[index - 1] if index > 0 else None  # the clearing account paying
        after = agreements[index] if index < last else None  # the clearing account paid
        payer = clearing_address(code, path[index - 1]) if before else source
        payee = clearing_address(code, path[index + 1]) if after else op.destination
        refusal = _leg(state, currency, payer, payee, amounts[index], before, after, ctx)
        if refusal is not None:
            return refusal
    return R.OK


def _leg(
    state: StateOverlay,
    currency: Currency,
    payer: bytes,
    payee: bytes,
    amount: int,
    payer_clearing: ExchangeAgreement | None,
    payee_clearing: ExchangeAgreement | None,
    ctx: LedgerContext,
) -> ResultCode | None:
    """Move ``amount`` inside ``currency``; a side with an agreement is that community's clearing
    account, held within the agreed limit; any other side is a member and follows the member
    rules (standing, whom it may pay, credit limit or funds, ceiling, demurrage)."""
    code = currency.code
    mutual = currency.kind.is_mutual_credit
    if payer_clearing is None:
        refusal = _member_side(state.holding(payer, code), mutual, R.NOT_MEMBER)
        if refusal is None and not mutual and state.holding(payer, code) is None:
            refusal = R.UNDERFUNDED  # nobody sent this account the currency yet
        refusal = refusal or acceptance_refusal(state, currency, payer, payee)
        if refusal is not None:
            return refusal
    if payee_clearing is None:
        refusal = _member_side(state.holding(payee, code), mutual, R.DESTINATION_NOT_MEMBER)
        if refusal is not None:
            return refusal
    for account, clearing in ((payer, payer_clearing), (payee, payee_clearing)):
        holding = state.holding(account, code)
        if clearing is None and holding is not None:
            currency, _ = settle(state, currency, holding, ctx)
    from_holding = state.holding(payer, code)
    to_holding = state.holding(payee, code) or blank_holding(currency, payee, ctx)
    assert from_holding is not None  # a member, a holder with funds, or an open clearing account
    new_from, new_to = from_holding.balance - amount, to_holding.balance + amount
    if payer_clearing is not None:
        if new_from < (-payer_clearing.limit_of(code) if mutual else 0):
            return R.OVER_EXCHANGE_LIMIT
    elif new_from < (-from_holding.credit_limit if mutual else 0):
        return R.OVER_CREDIT_LIMIT if mutual else R.UNDERFUNDED
    if payee_clearing is not None:
        if new_to > payee_clearing.limit_of(code):
            return R.OVER_EXCHANGE_LIMIT
    elif new_to > INT64_MAX or (currency.max_balance and new_to > currency.max_balance):
        return R.OVER_MAX_BALANCE
    updates = [(from_holding, credited(from_holding, -amount)), (to_holding, credited(to_holding, amount))]
    if write_balances(state, currency, updates) is None:
        return R.OVER_MAX_BALANCE
    return None


def _member_side(holding: Holding | None, mutual: bool, not_member: ResultCode) -> ResultCode | None:
    """A payer or recipient who is not a clearing account: a member in good standing of a mutual
    currency, or anyone neither suspended nor expelled in an issued one."""
    if holding is not None and holding.role is Role.CLEARING:
        return R.CLEARING_ACCOUNT
    if mutual:
        return member_refusal(holding, not_member)
    if holding is not None and holding.role in BLOCKED:
        return BLOCKED[holding.role]
    return None
