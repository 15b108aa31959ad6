"""Running a proposal's actions against the state.

``run_actions`` applies them in order inside a nested overlay: all of them, or (on the first one
that cannot run) none, with that action's result code and index. The same function serves the
dry run when a proposal is made (so a proposal that could not run today is refused at once, with
the reason) and the execution when it passes (where the state may have changed since: then the
proposal ends ``failed`` with the reason, and nothing changes).
"""

from __future__ import annotations

from dataclasses import replace
from typing import assert_never

from protocol.context import LedgerContext
from protocol.designs.actions import AgreeExchange, DelistBusiness, ListBusiness, SetAccreditation
from protocol.designs.apply import run_design_action
from protocol.governance import demurrage, standing
from protocol.governance.actions import (
    Action,
    Admit,
    Expel,
    PayFromFund,
    Reinstate,
    SetDefaultCreditLimit,
    SetDemurrage,
    SetFundCreditLimit,
    SetLevy,
    SetMaxBalance,
    SetMemberCreditLimit,
    SetRules,
    SetStewards,
    Suspend,
)
from protocol.governance.fund import fund_address
from protocol.governance.rules import rules_refusal
from protocol.governance.transfer import current_index, fund_holding, pay
from protocol.results import ResultCode
from protocol.state import Currency, Role, StateOverlay

R = ResultCode
MAX_LEVY_PPM = 100_000  # 10 % of each payment
_MUTUAL_ONLY = (SetDefaultCreditLimit, SetMemberCreditLimit, Admit, SetFundCreditLimit)


def run_actions(
    state: StateOverlay, code: str, actions: tuple[Action, ...], ctx: LedgerContext, *, commit: bool
) -> tuple[ResultCode, int]:
    """Run ``actions`` atomically; (OK, -1) or (the failing action's code, its index). With
    ``commit=False`` nothing is kept either way (the dry run)."""
    scope = state.nested()
    for index, action in enumerate(actions):
        result = run_action(scope, code, action, ctx)
        if result is not R.OK:
            return result, index
    if commit:
        scope.commit()
    return R.OK, -1


_MemberAction = SetMemberCreditLimit | Admit | Reinstate | Suspend | Expel
_CurrencySetting = (
    SetDefaultCreditLimit
    | SetStewards
    | SetRules
    | SetDemurrage
    | SetLevy
    | SetMaxBalance
    | SetFundCreditLimit
    | PayFromFund
)


def run_action(state: StateOverlay, code: str, action: Action, ctx: LedgerContext) -> ResultCode:
    """Apply one action to currency ``code`` (which exists: currencies are never removed)."""
    currency = state.currency(code)
    if currency is None:
        return R.NO_CURRENCY
    if isinstance(action, _MUTUAL_ONLY) and not currency.kind.is_mutual_credit:
        return R.WRONG_KIND  # issued currencies have no credit and no membership
    match action:
        case SetMemberCreditLimit() | Admit() | Reinstate() | Suspend() | Expel():
            return _run_member_action(state, currency, action, ctx)
        case SetAccreditation() | ListBusiness() | DelistBusiness() | AgreeExchange():
            return run_design_action(state, currency, action, ctx)
        case _:
            return _run_setting(state, currency, action, ctx)


def _run_member_action(
    state: StateOverlay, currency: Currency, action: _MemberAction, ctx: LedgerContext
) -> ResultCode:
    """An action on one member's standing or credit."""
    match action:
        case SetMemberCreditLimit(member, limit):
            holding = state.holding(member, currency.code)
            if holding is None or holding.role not in (Role.MEMBER, Role.SUSPENDED):
                return R.EXPELLED if holding is not None and holding.role is Role.EXPELLED else R.NOT_MEMBER
            state.put(replace(holding, credit_limit=limit))
            return R.OK
        case Admit(member, limit):
            return standing.admit(state, currency, member, limit, ctx)
        case Reinstate(member):
            return standing.reinstate(state, currency, member, ctx)
        case Suspend(member):
            return standing.suspend(state, currency, member, ctx)
        case Expel(member):
            return standing.expel(state, currency, member, ctx)
        case _:
            assert_never(action)


def _run_setting(
    state: StateOverlay, currency: Currency, action: _CurrencySetting, ctx: LedgerContext
) -> ResultCode:
    """An action on the currency's own settings or its commons fund."""
    match action:
        case SetDefaultCreditLimit(limit):
            state.put(replace(currency, default_credit_limit=limit))
        case SetStewards(stewards, threshold):
            state.put(replace(currency, stewards=stewards, steward_threshold=threshold))
        case SetRules(rules):
            refusal = rules_refusal(rules, currency.kind)
            if refusal is not None:
                return refusal
            state.put(replace(currency, extension=replace(currency.extension, rules=rules)))
        case SetDemurrage(rate):
            return _set_demurrage(state, currency, rate, ctx)
        case SetLevy(rate):
            if rate > MAX_LEVY_PPM:
                return R.BAD_RATE
            state.put(replace(currency, extension=replace(currency.extension, levy_ppm=rate)))
        case SetMaxBalance(ceiling):
            state.put(replace(currency, max_balance=ceiling))
        case SetFundCreditLimit(limit):
            state.put(replace(fund_holding(state, currency, ctx), credit_limit=limit))
        case PayFromFund(destination, amount):
            return pay(state, currency, fund_address(currency.code), destination, amount, ctx, from_fund=True)
        case _:
            assert_never(action)
    return R.OK


def _set_demurrage(state: StateOverlay, currency: Currency, rate: int, ctx: LedgerContext) -> ResultCode:
    """A new rate applies from now on: the index is re-anchored at its current value, so what
    holdings owe for the past stays what the old rate made it."""
    if rate > demurrage.MAX_DEMURRAGE_PPM:
        return R.BAD_RATE
    if rate and currency.extension.terms.guaranteed:
        return R.GUARANTEED_CREDITS  # guaranteed credits never decay (protocol.designs.credits)
    index = current_index(currency, ctx.close_time_ms)
    anchored = replace(currency.extension, demurrage_index=index, demurrage_since_ms=ctx.close_time_ms)
    state.put(replace(currency, demurrage_ppm=rate, extension=anchored))
    return R.OK
