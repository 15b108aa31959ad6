"""Moving money inside one currency when governance features are in play: demurrage settled
first, the levy to the commons fund, suspended and expelled accounts refused, and the fund
paying out (only ever on behalf of a passed proposal).

``protocol.apply`` keeps its fast path for the common case (no levy, no demurrage, two members
in good standing) and calls ``transfer`` for everything else; the result codes, and their order,
are the same on both paths.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from protocol.codec import INT64_MAX
from protocol.context import LedgerContext
from protocol.governance import demurrage
from protocol.governance.fund import fund_address
from protocol.results import ResultCode
from protocol.state import Currency, Holding, Role, StateOverlay

R = ResultCode
BLOCKED = {Role.SUSPENDED: R.SUSPENDED, Role.EXPELLED: R.EXPELLED}
"""The code refusing an account that was suspended or expelled, by its role."""
_NO_DEMURRAGE = frozenset({Role.FUND, Role.CLEARING})  # community accounts (clearing: version 3)


def member_refusal(holding: Holding | None, not_member: ResultCode = R.NOT_MEMBER) -> ResultCode | None:
    """None for a member in good standing; otherwise why not (``suspended``, ``expelled``, or
    ``not_member`` — or the code given — for anyone never admitted, departed, or the fund)."""
    if holding is not None and holding.role is Role.MEMBER:
        return None
    return BLOCKED.get(holding.role, not_member) if holding is not None else not_member


def current_index(currency: Currency, now_ms: int) -> int:
    """The currency's demurrage index at ``now_ms``."""
    ext = currency.extension
    return demurrage.index_at(ext.demurrage_index, ext.demurrage_since_ms, currency.demurrage_ppm, now_ms)


def balance_at(currency: Currency, holding: Holding, now_ms: int) -> int:
    """What ``holding`` is worth at ``now_ms`` once its demurrage is settled (what its owner can
    spend); the stored balance is only brought up to date when the holding is next touched."""
    if currency.plain_transfers or holding.role is Role.FUND:
        return holding.balance
    return demurrage.kept(holding.balance, current_index(currency, now_ms) - holding.demurrage_index)


def blank_holding(currency: Currency, account: bytes, ctx: LedgerContext) -> Holding:
    """The holding an account gets on its first contact with ``currency``: the fund's address
    becomes the fund (from version 2), and demurrage starts counting now, not at the epoch."""
    if not ctx.governance:
        return Holding(account, currency.code, 0, 0, Role.HOLDER)
    role = Role.FUND if account == fund_address(currency.code) else Role.HOLDER
    index = 0 if role is Role.FUND else current_index(currency, ctx.close_time_ms)
    return Holding(account, currency.code, 0, 0, role, index)


def fund_holding(state: StateOverlay, currency: Currency, ctx: LedgerContext) -> Holding:
    address = fund_address(currency.code)
    return state.holding(address, currency.code) or blank_holding(currency, address, ctx)


def settle(
    state: StateOverlay, currency: Currency, holding: Holding, ctx: LedgerContext
) -> tuple[Currency, Holding]:
    """Charge the demurrage ``holding`` owes up to the ledger's close time to the commons fund.

    Writes the holding, the fund and the currency's supply; returns the currency and holding as
    they now are. The fund itself never pays demurrage.
    """
    if currency.plain_transfers or holding.role in _NO_DEMURRAGE:
        return currency, holding
    index = current_index(currency, ctx.close_time_ms)
    if holding.demurrage_index >= index:
        return currency, holding
    remaining = demurrage.kept(holding.balance, index - holding.demurrage_index)
    settled = replace(holding, balance=remaining, demurrage_index=index)
    charge = holding.balance - remaining
    if charge == 0:
        state.put(settled)
        return currency, settled
    fund = fund_holding(state, currency, ctx)
    # moving value between two balances of one currency never overflows its supply
    currency = (
        write_balances(state, currency, [(holding, settled), (fund, credited(fund, charge))]) or currency
    )
    return currency, settled


def write_balances(
    state: StateOverlay, currency: Currency, updates: Sequence[tuple[Holding, Holding]]
) -> Currency | None:
    """Write the new holdings and keep a mutual currency's supply (the sum of positive balances)
    exact; None (nothing written) when that supply would pass what an int64 can store."""
    if currency.kind.is_mutual_credit:
        delta = sum(max(new.balance, 0) - max(old.balance, 0) for old, new in updates)
        if delta:
            if currency.supply + delta > INT64_MAX:
                return None
            currency = replace(currency, supply=currency.supply + delta)
            state.put(currency)
    for _, new in updates:
        state.put(new)
    return currency


def pay(
    state: StateOverlay,
    currency: Currency,
    source: bytes,
    destination: bytes,
    amount: int,
    ctx: LedgerContext,
    *,
    from_fund: bool = False,
) -> ResultCode:
    """Move ``amount`` from ``source`` to ``destination``; the payer adds the levy, which goes to
    the fund. With ``from_fund`` the source is the commons fund (no levy; ``fund_short`` when its
    balance and credit limit do not cover the amount)."""
    code = currency.code
    payer = fund_holding(state, currency, ctx) if from_fund else state.holding(source, code)
    payee = state.holding(destination, code)
    if payee is None and ctx.governance and destination == fund_address(code):
        payee = blank_holding(currency, destination, ctx)  # a gift to the commons fund
    refusal = _standing_refusal(currency, payer, payee)
    if refusal is not None:
        return refusal
    if payer is None:
        return R.UNDERFUNDED  # an issued currency nobody sent this account yet
    payee = payee or blank_holding(currency, destination, ctx)
    if not currency.plain_transfers:
        # settling one may credit the other (when it is the fund): read both again afterwards
        currency, _ = settle(state, currency, payer, ctx)
        currency, _ = settle(state, currency, payee, ctx)
        payer = state.holding(payer.account, code) or payer
        payee = state.holding(payee.account, code) or payee
    levy = 0 if from_fund else currency.extension.levy_ppm * amount // demurrage.PPM
    total = amount + levy
    floor = -payer.credit_limit if currency.kind.is_mutual_credit else 0
    if payer.balance - total < floor:
        if from_fund:
            return R.FUND_SHORT
        return R.OVER_CREDIT_LIMIT if currency.kind.is_mutual_credit else R.UNDERFUNDED
    received = amount + (levy if payee.role is Role.FUND else 0)
    if _over_ceiling(currency, payee, payee.balance + received):
        return R.OVER_MAX_BALANCE
    updates = [(payer, credited(payer, -total)), (payee, credited(payee, received))]
    if levy and payee.role is not Role.FUND:
        fund = fund_holding(state, currency, ctx)
        updates.append((fund, credited(fund, levy)))
    return R.OK if write_balances(state, currency, updates) is not None else R.OVER_MAX_BALANCE


def _standing_refusal(currency: Currency, payer: Holding | None, payee: Holding | None) -> ResultCode | None:
    """Who may pay and be paid: members in mutual currencies (the fund too), anyone not
    suspended or expelled in issued ones. The payer is judged before the payee."""
    if currency.kind.is_mutual_credit:
        if payer is None or payer.role is not Role.FUND:
            refusal = member_refusal(payer)
            if refusal is not None:
                return refusal
        if payee is None or payee.role is not Role.FUND:
            return member_refusal(payee, R.DESTINATION_NOT_MEMBER)
        return None
    for holding in (payer, payee):
        if holding is not None and holding.role in BLOCKED:
            return BLOCKED[holding.role]
        if holding is not None and holding.role is Role.CLEARING:
            return R.CLEARING_ACCOUNT  # (version 3) clearing accounts move only through exchanges
    return None


def _over_ceiling(currency: Currency, payee: Holding, balance: int) -> bool:
    """Past the currency's ceiling (the fund has none), or past what a balance can hold."""
    if balance > INT64_MAX:
        return True
    return payee.role is not Role.FUND and currency.max_balance > 0 and balance > currency.max_balance


def credited(holding: Holding, amount: int) -> Holding:
    """``holding`` with ``amount`` added to its balance (negative to debit)."""
    return replace(holding, balance=holding.balance + amount)
