"""Every change of an account's standing in a currency: admit, reinstate, suspend, expel, leave.

Shared by the stewards' ``admit_member`` operation, vouching, proposals' actions and the
``leave`` operation, so each rule exists once. Invariants kept here: ``Currency.members`` counts
the holdings in good standing (role MEMBER); value never disappears (an expelled member's
balance, credit or debt, and a leaver's remainder move to the commons fund, so a mutual
currency still sums to exactly zero and an issued one still holds all it minted minus redeemed).
"""

from __future__ import annotations

from dataclasses import replace

from protocol.context import LedgerContext
from protocol.governance.fund import fund_address
from protocol.governance.rules import GovernancePolicy
from protocol.governance.transfer import (
    BLOCKED,
    blank_holding,
    credited,
    fund_holding,
    settle,
    write_balances,
)
from protocol.results import ResultCode
from protocol.state import Currency, Role, StateOverlay

R = ResultCode


def admit(
    state: StateOverlay, currency: Currency, account: bytes, credit_limit: int | None, ctx: LedgerContext
) -> ResultCode:
    """Make ``account`` a member of a mutual or time currency (``None`` = the default limit).

    A suspended or expelled account is not admitted again this way: that is ``reinstate``, which
    only a passed proposal does.
    """
    if ctx.governance and account == fund_address(currency.code):
        return R.FUND_ACCOUNT
    holding = state.holding(account, currency.code)
    if holding is not None:
        if holding.role is Role.MEMBER:
            return R.ALREADY_MEMBER
        if holding.role in BLOCKED:
            return BLOCKED[holding.role]
        if holding.role is Role.CLEARING:
            return R.CLEARING_ACCOUNT  # (version 3) a community's clearing account is no member
        currency, holding = settle(state, currency, holding, ctx)
    base = holding or blank_holding(currency, account, ctx)
    limit = currency.default_credit_limit if credit_limit is None else credit_limit
    currency, serial = _next_serial(currency, ctx)
    state.put(replace(base, credit_limit=limit, role=Role.MEMBER, admission=serial))
    state.put(replace(currency, members=currency.members + 1))
    return R.OK


def reinstate(state: StateOverlay, currency: Currency, account: bytes, ctx: LedgerContext) -> ResultCode:
    """Lift a suspension or expulsion. A reinstated member gets a new admission serial (so they
    do not vote on proposals made while they were out) and, after an expulsion, the default
    credit limit."""
    holding = state.holding(account, currency.code)
    if holding is None or holding.role not in BLOCKED:
        in_good_standing = holding is not None and (holding.member or not currency.kind.is_mutual_credit)
        return R.ALREADY_MEMBER if in_good_standing else R.NOT_MEMBER
    if not currency.kind.is_mutual_credit:
        state.put(replace(holding, role=Role.HOLDER))
        return R.OK
    limit = currency.default_credit_limit if holding.role is Role.EXPELLED else holding.credit_limit
    currency, serial = _next_serial(currency, ctx)
    state.put(replace(holding, role=Role.MEMBER, credit_limit=limit, admission=serial))
    state.put(replace(currency, members=currency.members + 1))
    return R.OK


def suspend(state: StateOverlay, currency: Currency, account: bytes, ctx: LedgerContext) -> ResultCode:
    """Freeze an account: it keeps its balance but cannot pay, be paid, vote or vouch."""
    refusal = _removal_refusal(state, currency, account, allow_suspended=False)
    if refusal is not None:
        return refusal
    holding = state.holding(account, currency.code) or blank_holding(currency, account, ctx)
    state.put(replace(holding, role=Role.SUSPENDED))
    if holding.member:
        state.put(replace(currency, members=currency.members - 1))
    return R.OK


def expel(state: StateOverlay, currency: Currency, account: bytes, ctx: LedgerContext) -> ResultCode:
    """Expel an account: its balance, credit or debt, moves to the commons fund.

    The fund takes a debt even beyond its own credit limit: refusing would protect exactly the
    member a community most needs to expel. The fund's limit only bounds its payouts.
    """
    refusal = _removal_refusal(state, currency, account, allow_suspended=True)
    if refusal is not None:
        return refusal
    holding = state.holding(account, currency.code) or blank_holding(currency, account, ctx)
    currency, holding = settle(state, currency, holding, ctx)
    was_member = holding.member
    expelled = replace(holding, balance=0, credit_limit=0, role=Role.EXPELLED)
    fund = fund_holding(state, currency, ctx)
    moved = write_balances(state, currency, [(holding, expelled), (fund, credited(fund, holding.balance))])
    currency = moved or currency  # moving a balance inside one currency keeps its supply in range
    if was_member:
        state.put(replace(currency, members=currency.members - 1))
    return R.OK


def leave(state: StateOverlay, currency: Currency, account: bytes, ctx: LedgerContext) -> ResultCode:
    """A member leaves a mutual or time currency. Not while in debt (the community would carry
    it); a positive balance goes to the commons fund. They may be admitted again later."""
    if not currency.kind.is_mutual_credit:
        return R.WRONG_KIND  # holders of an issued currency simply pay out what they hold
    if _protected(currency, account):
        return R.ISSUER_PROTECTED
    holding = state.holding(account, currency.code)
    if holding is None or holding.role is Role.HOLDER:
        return R.NOT_MEMBER
    if holding.role is Role.EXPELLED:
        return R.EXPELLED
    currency, holding = settle(state, currency, holding, ctx)
    if holding.balance < 0:
        return R.IN_DEBT
    was_member = holding.member
    left = replace(holding, balance=0, credit_limit=0, role=Role.HOLDER)
    fund = fund_holding(state, currency, ctx)
    currency = (
        write_balances(state, currency, [(holding, left), (fund, credited(fund, holding.balance))])
        or currency
    )
    if was_member:
        state.put(replace(currency, members=currency.members - 1))
    return R.OK


def _removal_refusal(
    state: StateOverlay, currency: Currency, account: bytes, *, allow_suspended: bool
) -> ResultCode | None:
    if _protected(currency, account):
        return R.ISSUER_PROTECTED
    holding = state.holding(account, currency.code)
    role = holding.role if holding is not None else Role.HOLDER
    if role is Role.CLEARING:
        return R.CLEARING_ACCOUNT  # (version 3) it holds the community's exchange position
    if role is Role.EXPELLED or (role is Role.SUSPENDED and not allow_suspended):
        return BLOCKED[role]
    if currency.kind.is_mutual_credit and role is Role.HOLDER:
        return R.NOT_MEMBER
    return None


def _protected(currency: Currency, account: bytes) -> bool:
    """The issuer of an issued currency (holders' money depends on it redeeming) and, from
    version 3, the guarantor of guaranteed credits (they are its debt) never leave, nor are they
    suspended or expelled."""
    if account != currency.issuer:
        return False
    return not currency.kind.is_mutual_credit or currency.extension.terms.guaranteed


def _next_serial(currency: Currency, ctx: LedgerContext) -> tuple[Currency, int]:
    """The admission serial for one more admission.

    Serials fix a proposal's electorate, so they are needed only where a vote can be open: a
    currency governed by its members, or one with a proposal still open. Elsewhere (and before
    version 2) the serial is 0 and no counter moves, so a currency that uses no governance keeps
    exactly the state it would have had under version 1.
    """
    ext = currency.extension
    if not ctx.governance or (ext.rules.policy is GovernancePolicy.STEWARDS and ext.open_proposals == 0):
        return currency, 0
    serial = currency.extension.admissions + 1
    return replace(currency, extension=replace(currency.extension, admissions=serial)), serial
