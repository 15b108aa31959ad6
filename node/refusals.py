"""The figures behind a refusal, so a client can say *why* in numbers without re-checking the rules.

``protocol.apply`` decides; this module only reports what the refused transaction met: for
``over_credit_limit`` the payer's available amount and the amount asked, for ``bad_seq`` the
sequence number the account expects, and so on. The API returns them beside the result code of a
refused ``POST /tx`` (``figures``), and the wallet builds its messages from them
(``over credit limit: available 8.50 h, asked 12.00 h``) instead of duplicating the ledger's rules.

Amounts are integers in the currency's minor units; accounts are ``tly1…`` addresses. An operation
is reported against the state it met: the transaction's earlier operations are applied first, on a
throwaway overlay. Keys per code (every operation-level code also carries ``op_index`` and, where the
operation names one, ``currency``):

| code | figures |
|---|---|
| ``bad_seq`` | ``expected_seq``, ``seq`` |
| ``bad_auth`` | ``threshold``, ``signed_weight`` |
| ``too_late`` | ``last_valid_ledger``, ``ledger`` |
| ``over_credit_limit``, ``underfunded`` | ``available``, ``asked`` |
| ``over_max_balance`` | ``account``, ``balance``, ``asked``, ``max_balance`` |
| ``not_member``, ``destination_not_member``, ``already_member`` | ``account`` |
| ``wrong_kind`` | ``kind`` |
| ``not_issuer`` | ``issuer`` |
| ``bad_steward_auth`` | ``steward_threshold``, ``steward_signatures`` |
| ``bad_signers`` | ``threshold``, ``total_weight`` |
| protocol version 3's codes | see ``node.design_refusals`` |
| ``overloaded`` (the mempool's, ``node.capacity``) | ``retry_after_s`` |
"""

from __future__ import annotations

from node.design_refusals import design_figures
from protocol.addresses import encode_account
from protocol.apply import apply_transaction
from protocol.context import LedgerContext
from protocol.designs.approval import stewards_approving
from protocol.designs.operations import Accredit, CreditHours, ExchangePay, RegisterBusiness, RemoveBusiness
from protocol.governance.operations import CastVote, LeaveCurrency, Propose, Vouch
from protocol.operations import (
    AdmitMember,
    CreateCurrency,
    Mint,
    Operation,
    Payment,
    Redeem,
    SetCreditLimit,
    SetSigners,
)
from protocol.results import ResultCode, TxResult
from protocol.state import StateOverlay
from protocol.transactions import Transaction, TransactionBody

Figures = dict[str, int | str]
R = ResultCode


def bad_seq_figures(expected_seq: int, seq: int) -> Figures:
    return {"expected_seq": expected_seq, "seq": seq}


def refusal_figures(
    state: StateOverlay,
    tx: Transaction,
    result: TxResult,
    *,
    ledger: LedgerContext,
    signers: frozenset[bytes],
) -> Figures:
    """The figures of ``result``, a refusal of ``tx`` applied to ``state`` (which is not changed)
    in ``ledger`` (its sequence, close time and protocol version)."""
    ledger_seq = ledger.seq
    if result.op_index < 0:
        return _transaction_figures(state, tx, result.code, ledger_seq, signers)
    scope = state.nested()  # never committed
    body = tx.body
    if result.op_index > 0:
        earlier = TransactionBody(
            body.source, body.seq, body.last_valid_ledger, body.memo, body.operations[: result.op_index]
        )
        apply_transaction(
            scope,
            Transaction(earlier, tx.body_bytes, tx.hash, tx.signatures),
            ledger_seq=ledger_seq,
            signers=signers,
            close_time_ms=ledger.close_time_ms,
            protocol_version=ledger.protocol_version,
        )
    op = body.operations[result.op_index]
    figures: Figures = {"op_index": result.op_index}
    code = _currency_of(op)
    if code is not None:
        figures["currency"] = code
        figures |= _operation_figures(scope, op, code, body.source, result.code, signers, ledger)
    elif isinstance(op, SetSigners) and result.code is R.BAD_SIGNERS:
        figures |= {"threshold": op.threshold, "total_weight": sum(w for _, w in op.signers)}
    return figures | design_figures(scope, op, body.source, result.code)


def _transaction_figures(
    state: StateOverlay, tx: Transaction, code: ResultCode, ledger_seq: int, signers: frozenset[bytes]
) -> Figures:
    account = state.account(tx.body.source)
    if code is R.BAD_SEQ:
        return bad_seq_figures(account.seq + 1, tx.body.seq)
    if code is R.BAD_AUTH:
        weight = sum(w for key, w in account.signers if key in signers)
        return {"threshold": account.threshold, "signed_weight": weight}
    if code is R.TOO_LATE:
        return {"last_valid_ledger": tx.body.last_valid_ledger, "ledger": ledger_seq}
    return {}


def _currency_of(op: Operation) -> str | None:
    """The currency an operation is about (None for one about no currency, e.g. set_signers)."""
    if isinstance(op, CreateCurrency):
        return op.code
    if isinstance(op, Payment | AdmitMember | SetCreditLimit | Mint | Redeem):
        return op.currency
    if isinstance(op, Propose | CastVote | Vouch | LeaveCurrency):
        return op.currency
    if isinstance(op, Accredit | CreditHours | RegisterBusiness | RemoveBusiness | ExchangePay):
        return op.currency  # (an exchange: the payer's currency)
    return None


def _operation_figures(
    state: StateOverlay,
    op: Operation,
    code: str,
    source: bytes,
    result: ResultCode,
    signers: frozenset[bytes],
    ledger: LedgerContext,
) -> Figures:
    currency = state.currency(code)
    if result in (R.OVER_CREDIT_LIMIT, R.UNDERFUNDED) and isinstance(op, Payment | Redeem):
        payer = state.holding(source, code)
        return {"available": payer.available if payer else 0, "asked": op.amount}
    if result is R.OVER_MAX_BALANCE and isinstance(op, Payment | Mint) and currency is not None:
        payee = state.holding(op.destination, code)
        return {
            "account": encode_account(op.destination),
            "balance": payee.balance if payee else 0,
            "asked": op.amount,
            "max_balance": currency.max_balance,
        }
    if result in (R.NOT_MEMBER, R.DESTINATION_NOT_MEMBER, R.ALREADY_MEMBER):
        return {"account": encode_account(_member_of(op, source, result))}
    if currency is None:
        return {}
    if result is R.WRONG_KIND:
        return {"kind": currency.kind.value}
    if result is R.NOT_ISSUER:
        return {"issuer": encode_account(currency.issuer)}
    if result is R.BAD_STEWARD_AUTH:
        signed = stewards_approving(state, currency, signers, ledger)
        return {"steward_threshold": currency.steward_threshold, "steward_signatures": signed}
    return {}


def _member_of(op: Operation, source: bytes, result: ResultCode) -> bytes:
    """The account a membership code is about: the member named by the operation, the recipient of
    a payment, or (``not_member`` on a payment) its payer."""
    if isinstance(op, Payment):
        return op.destination if result is R.DESTINATION_NOT_MEMBER else source
    if isinstance(op, AdmitMember | SetCreditLimit):
        return op.member
    return source
