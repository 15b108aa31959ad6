"""Applying a transaction to ledger state: every rule of the three currency kinds.

``apply_transaction`` is pure: it reads and writes only the overlay it is given, and returns a
``TxResult``. The order of checks is part of the protocol (every node must reach the same code):

1. transaction level — an operation newer than the protocol version, malformed, too late, wrong
   sequence, insufficient signatures: the transaction changes nothing at all, not even the
   sequence number (it cannot be attributed to its source, so it must not be able to burn the
   source's sequence numbers);
2. operation level — the first failing operation's code is the result, all operations are
   undone, but the sequence number *is* used up, so the same signed transaction can never be
   replayed later when it would succeed (this mirrors Stellar).

Invariants kept here and re-checked by tests: the balances of a mutual/time currency sum to
exactly zero; no balance goes below −credit limit (mutual/time) or below zero (issued); an issued
currency's supply equals the sum of its holders' balances; every stored number (balances, supply)
fits in an int64, so state always decodes again (a payment or mint that would push a balance or a
currency's circulation past it fails with ``over_max_balance``). Governance (protocol version 2)
keeps them too: value moved by demurrage, the levy or an expulsion goes to the commons fund. So do
the designs of version 3 (``protocol.designs``): a guaranteed credit is the guarantor's debt, an
exchange moves money inside each currency through its clearing account.
"""

from __future__ import annotations

from dataclasses import replace
from typing import assert_never

from protocol.codec import INT64_MAX
from protocol.context import LedgerContext
from protocol.designs.apply import apply_design_operation
from protocol.designs.approval import stewards_approve
from protocol.designs.operations import (
    Accredit,
    ApproveRecovery,
    CancelRecovery,
    CreditHours,
    ExchangePay,
    FinishRecovery,
    RegisterBusiness,
    RemoveBusiness,
    SetGuardians,
)
from protocol.designs.payments import payment_refusal, record_redemption
from protocol.designs.terms import NO_TERMS, terms_refusal
from protocol.governance import demurrage, proposals, standing, transfer, vouching
from protocol.governance.operations import CastVote, LeaveCurrency, Propose, Vouch
from protocol.governance.rules import DEFAULT_RULES, GovernancePolicy, founders_needed, rules_refusal
from protocol.operations import (
    AdmitMember,
    CreateCurrency,
    CurrencyKind,
    Mint,
    Operation,
    Payment,
    Redeem,
    SetCreditLimit,
    SetSigners,
    check_well_formed,
    min_protocol,
    signers_are_valid,
)
from protocol.results import ResultCode, TxResult
from protocol.state import NO_EXTENSION, Account, Currency, CurrencyExtension, Holding, Role, StateOverlay
from protocol.transactions import Transaction
from protocol.versions import CURRENT_PROTOCOL_VERSION, PROTOCOL_V1

R = ResultCode
_MEMBER, _HOLDER = Role.MEMBER, Role.HOLDER  # module constants: enum attribute lookups cost on the hot path


def apply_transaction(
    state: StateOverlay,
    tx: Transaction,
    *,
    ledger_seq: int,
    signers: frozenset[bytes] | None,
    close_time_ms: int = 0,
    protocol_version: int = PROTOCOL_V1,
) -> TxResult:
    """Apply ``tx`` in ledger ``ledger_seq`` and say what happened.

    Args:
        state: the ledger's overlay; on success it holds the transaction's changes.
        tx: the decoded transaction.
        ledger_seq: the ledger being closed (for the validity window).
        signers: ``tx.signers()``, computed by the caller (who may cache it); None means a
            signature did not verify.
        close_time_ms: the ledger's agreed close time (deadlines and demurrage run on it).
        protocol_version: the version the rules are applied under (the previous header's).
    """
    ctx = LedgerContext(ledger_seq, close_time_ms, protocol_version)
    body = tx.body
    if protocol_version < CURRENT_PROTOCOL_VERSION and any(
        min_protocol(op) > protocol_version for op in body.operations
    ):
        return TxResult(tx.hash, R.PROTOCOL_TOO_OLD)
    if not all(check_well_formed(op, body.source) for op in body.operations):
        return TxResult(tx.hash, R.MALFORMED)
    if ledger_seq > body.last_valid_ledger:
        return TxResult(tx.hash, R.TOO_LATE)
    account = state.account(body.source)
    if body.seq != account.seq + 1:
        return TxResult(tx.hash, R.BAD_SEQ)
    if signers is None or sum(w for key, w in account.signers if key in signers) < account.threshold:
        return TxResult(tx.hash, R.BAD_AUTH)

    scope = state.nested()
    result = TxResult(tx.hash, R.OK)
    for index, op in enumerate(body.operations):
        code = _apply_operation(scope, op, body.source, signers, ctx)
        if code is not R.OK:
            result = TxResult(tx.hash, code, index)
            break
    else:
        scope.commit()
    # The sequence is bumped on the current account entry: a set_signers in this very
    # transaction has already been merged (success) or dropped (failure).
    account = state.account(body.source)
    state.put(Account(account.id, body.seq, account.threshold, account.signers))  # not replace(): hot path
    return result


def _apply_operation(
    state: StateOverlay, op: Operation, source: bytes, signers: frozenset[bytes], ctx: LedgerContext
) -> ResultCode:
    match op:
        case Payment():
            return _payment(state, op, source, ctx)
        case CreateCurrency():
            return _create_currency(state, op, source, ctx)
        case AdmitMember():
            return _admit_member(state, op, signers, ctx)
        case SetCreditLimit():
            return _set_credit_limit(state, op, signers, ctx)
        case Mint():
            return _mint(state, op, source, ctx)
        case Redeem():
            return _redeem(state, op, source, ctx)
        case SetSigners():
            return _set_signers(state, op, source)
        case Propose():
            return proposals.propose(state, op, source, signers, ctx)
        case CastVote():
            return proposals.vote(state, op, source, ctx)
        case Vouch():
            return vouching.vouch(state, op, source, ctx)
        case LeaveCurrency():
            currency = state.currency(op.currency)
            return R.NO_CURRENCY if currency is None else standing.leave(state, currency, source, ctx)
        case (
            Accredit()
            | CreditHours()
            | RegisterBusiness()
            | RemoveBusiness()
            | ExchangePay()
            | SetGuardians()
            | ApproveRecovery()
            | CancelRecovery()
            | FinishRecovery()
        ):
            return apply_design_operation(state, op, source, ctx)
        case _:
            assert_never(op)


def _payment(state: StateOverlay, op: Payment, source: bytes, ctx: LedgerContext) -> ResultCode:
    currency = state.currency(op.currency)
    if currency is None:
        return R.NO_CURRENCY
    payer = state.holding(source, op.currency)
    payee = state.holding(op.destination, op.currency)
    # The fast path: no levy, no demurrage, no restriction on whom holders pay, two members in
    # good standing (mutual credit) or two existing holders in good standing (issued). Everything
    # else, with the same result codes in the same order, is _slow_payment.
    if not (currency.plain_transfers and payer is not None and payee is not None):
        return _slow_payment(state, currency, op, source, ctx)
    if currency.kind.is_mutual_credit:
        if not (payer.role is _MEMBER and payee.role is _MEMBER):
            return _slow_payment(state, currency, op, source, ctx)
        if payer.balance - op.amount < -payer.credit_limit:
            return R.OVER_CREDIT_LIMIT
    else:
        if not (payer.role is _HOLDER and payee.role is _HOLDER):
            return _slow_payment(state, currency, op, source, ctx)
        if payer.balance < op.amount:
            return R.UNDERFUNDED
    new_payee_balance = payee.balance + op.amount
    if _over_ceiling(currency, new_payee_balance):
        return R.OVER_MAX_BALANCE
    # Direct construction rather than dataclasses.replace: this is the hot path of every payment.
    new_payer = Holding(
        payer.account,
        payer.currency,
        payer.balance - op.amount,
        payer.credit_limit,
        payer.role,
        payer.demurrage_index,
        payer.admission,
    )
    new_payee = Holding(
        payee.account,
        payee.currency,
        new_payee_balance,
        payee.credit_limit,
        payee.role,
        payee.demurrage_index,
        payee.admission,
    )
    if currency.kind.is_mutual_credit:
        # supply of mutual credit = money in circulation = the sum of positive balances
        delta = (
            _positive(new_payer.balance)
            - _positive(payer.balance)
            + _positive(new_payee.balance)
            - _positive(payee.balance)
        )
        if delta:
            if currency.supply + delta > INT64_MAX:
                # circulation past what the currency entry can store (huge credit limits)
                return R.OVER_MAX_BALANCE
            state.put(_with_supply(currency, currency.supply + delta))
    state.put(new_payer)
    state.put(new_payee)
    return R.OK


def _slow_payment(
    state: StateOverlay, currency: Currency, op: Payment, source: bytes, ctx: LedgerContext
) -> ResultCode:
    """A payment off the fast path: from version 3 the currency's terms first (whom holders may
    pay, no clearing account), then levy, demurrage and standing (protocol.governance.transfer)."""
    if ctx.designs:
        refusal = payment_refusal(state, currency, source, op.destination)
        if refusal is not None:
            return refusal
    code = transfer.pay(state, currency, source, op.destination, op.amount, ctx)
    if code is R.OK and ctx.designs:
        record_redemption(state, currency, source, op.destination, op.amount)
    return code


def _create_currency(
    state: StateOverlay, op: CreateCurrency, source: bytes, ctx: LedgerContext
) -> ResultCode:
    if op.demurrage_ppm != 0 and not ctx.governance:
        return R.UNSUPPORTED
    if op.demurrage_ppm > demurrage.MAX_DEMURRAGE_PPM:
        return R.BAD_RATE
    rules = op.rules or DEFAULT_RULES
    refusal = rules_refusal(rules, op.kind) if op.rules is not None else None
    terms = op.terms or NO_TERMS
    refusal = refusal or terms_refusal(terms, op.kind, op.demurrage_ppm)
    if refusal is not None:
        return refusal
    if state.currency(op.code) is not None:
        return R.CURRENCY_EXISTS
    extension = NO_EXTENSION
    if rules != DEFAULT_RULES or op.demurrage_ppm or terms != NO_TERMS:
        since = ctx.close_time_ms if op.demurrage_ppm else 0
        extension = CurrencyExtension(rules, demurrage_since_ms=since, terms=terms)
    currency = Currency(
        op.code,
        op.kind,
        op.decimals,
        source,
        op.stewards,
        op.steward_threshold,
        op.default_credit_limit,
        op.max_balance,
        op.demurrage_ppm,
        supply=0,
        members=0,
        extension=extension,
    )
    state.put(currency)
    if terms.guaranteed:  # the guarantor is the first member; its debt is the credits outstanding
        return standing.admit(state, currency, source, 0, ctx)
    return R.OK


def _admit_member(
    state: StateOverlay, op: AdmitMember, signers: frozenset[bytes], ctx: LedgerContext
) -> ResultCode:
    currency = state.currency(op.currency)
    if currency is None:
        return R.NO_CURRENCY
    if currency.kind is CurrencyKind.ISSUED:
        return R.WRONG_KIND  # anyone may hold an issued currency; there is no membership
    if currency.members >= founders_needed(currency.extension.rules):
        return R.WRONG_ADMISSION_POLICY
    if not stewards_approve(state, currency, signers, ctx):
        return R.BAD_STEWARD_AUTH
    return standing.admit(state, currency, op.member, op.credit_limit, ctx)


def _set_credit_limit(
    state: StateOverlay, op: SetCreditLimit, signers: frozenset[bytes], ctx: LedgerContext
) -> ResultCode:
    currency = state.currency(op.currency)
    if currency is None:
        return R.NO_CURRENCY
    if currency.kind is CurrencyKind.ISSUED:
        return R.WRONG_KIND  # issued balances never go below zero: there is no credit
    if currency.extension.rules.policy is GovernancePolicy.MEMBERS:
        return R.NEEDS_PROPOSAL
    if not stewards_approve(state, currency, signers, ctx):
        return R.BAD_STEWARD_AUTH
    holding = state.holding(op.member, op.currency)
    if holding is None or holding.role not in (Role.MEMBER, Role.SUSPENDED):
        return R.NOT_MEMBER
    state.put(replace(holding, credit_limit=op.credit_limit))
    return R.OK


def _mint(state: StateOverlay, op: Mint, source: bytes, ctx: LedgerContext) -> ResultCode:
    currency = state.currency(op.currency)
    if currency is None:
        return R.NO_CURRENCY
    if currency.kind is not CurrencyKind.ISSUED:
        return R.WRONG_KIND  # mutual credit is created by payments, never minted
    if source != currency.issuer:
        return R.NOT_ISSUER
    holding = state.holding(op.destination, op.currency)
    if holding is not None and holding.role in (Role.SUSPENDED, Role.EXPELLED):
        return R.SUSPENDED if holding.role is Role.SUSPENDED else R.EXPELLED
    holding = holding or transfer.blank_holding(currency, op.destination, ctx)
    currency, holding = transfer.settle(state, currency, holding, ctx)
    new_balance = holding.balance + op.amount
    if _over_ceiling(currency, new_balance) or currency.supply + op.amount > INT64_MAX:
        return R.OVER_MAX_BALANCE
    state.put(replace(holding, balance=new_balance))
    state.put(replace(currency, supply=currency.supply + op.amount))
    return R.OK


def _redeem(state: StateOverlay, op: Redeem, source: bytes, ctx: LedgerContext) -> ResultCode:
    currency = state.currency(op.currency)
    if currency is None:
        return R.NO_CURRENCY
    if currency.kind is not CurrencyKind.ISSUED:
        return R.WRONG_KIND
    if source != currency.issuer:
        return R.NOT_ISSUER
    holding = state.holding(source, op.currency)
    if holding is not None:
        currency, holding = transfer.settle(state, currency, holding, ctx)
    if holding is None or holding.balance < op.amount:
        return R.UNDERFUNDED
    state.put(replace(holding, balance=holding.balance - op.amount))
    state.put(replace(currency, supply=currency.supply - op.amount))
    return R.OK


def _set_signers(state: StateOverlay, op: SetSigners, source: bytes) -> ResultCode:
    if not signers_are_valid(op.signers, op.threshold):
        return R.BAD_SIGNERS
    state.put(replace(state.account(source), signers=tuple(sorted(op.signers)), threshold=op.threshold))
    return R.OK


def _over_ceiling(currency: Currency, balance: int) -> bool:
    """Past the currency's ceiling, or past what a balance can hold (an overflow attack)."""
    return balance > INT64_MAX or (currency.max_balance > 0 and balance > currency.max_balance)


def _with_supply(c: Currency, supply: int) -> Currency:
    """``replace(c, supply=supply)`` without its cost (most payments change the supply)."""
    return Currency(
        c.code,
        c.kind,
        c.decimals,
        c.issuer,
        c.stewards,
        c.steward_threshold,
        c.default_credit_limit,
        c.max_balance,
        c.demurrage_ppm,
        supply,
        c.members,
        c.extension,
    )


def _positive(balance: int) -> int:
    return balance if balance > 0 else 0
