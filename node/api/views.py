"""JSON shapes of ledger objects, shared by every endpoint (hashes hex, keys as addresses,
amounts as integers in the currency's minor units)."""

from __future__ import annotations

from typing import Any, assert_never

from node.api.designs_json import design_operation_json, terms_json
from node.api.governance_json import currency_governance_json, governance_operation_json
from node.reads import LedgerSummary, Member, TxRecord
from protocol.addresses import encode_account
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
from protocol.governance.operations import CastVote, LeaveCurrency, Propose, Vouch
from protocol.governance.transfer import balance_at
from protocol.ledger import LedgerHeader
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
from protocol.results import ResultCode
from protocol.state import Account, Currency, Holding
from protocol.transactions import Transaction


def header_json(header: LedgerHeader, tx_count: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "seq": header.seq,
        "hash": header.hash.hex(),
        "previous_hash": header.previous_hash.hex(),
        "close_time_ms": header.close_time_ms,
        "tx_set_hash": header.tx_set_hash.hex(),
        "results_hash": header.results_hash.hex(),
        "state_hash": header.state_hash.hex(),
        "version": header.version,
        "max_tx_set_size": header.params.max_tx_set_size,
    }
    if tx_count is not None:
        body["tx_count"] = tx_count
    return body


def currency_json(currency: Currency) -> dict[str, Any]:
    body = {
        "code": currency.code,
        "kind": currency.kind.value,
        "decimals": currency.decimals,
        "issuer": encode_account(currency.issuer),
        "stewards": [encode_account(s) for s in currency.stewards],
        "steward_threshold": currency.steward_threshold,
        "default_credit_limit": currency.default_credit_limit,
        "max_balance": currency.max_balance,
        "supply": currency.supply,
        "members": currency.members,
        "demurrage_ppm": currency.demurrage_ppm,
        **currency_governance_json(currency),
    }
    return body | terms_json(currency)  # protocol version 3 (node.api.designs_json)


def balance_json(holding: Holding, currency: Currency | None, as_of_ms: int | None = None) -> dict[str, Any]:
    """One holding. With ``as_of_ms`` (the last ledger's close time) a demurrage currency's
    balance is what the holder can spend then, demurrage settled (the ledger settles it lazily)."""
    mutual = currency is not None and currency.kind.is_mutual_credit
    balance = holding.balance
    if currency is not None and as_of_ms is not None:
        balance = balance_at(currency, holding, as_of_ms)
    return {
        "currency": holding.currency,
        "kind": currency.kind.value if currency else None,
        "decimals": currency.decimals if currency else 0,
        "balance": balance,
        "credit_limit": holding.credit_limit if mutual else 0,
        "available": balance + holding.credit_limit if mutual else max(balance, 0),
        "member": holding.member,
        "role": holding.role.value,
    }


def account_json(
    account: Account, balances: list[dict[str, Any]], pending_sequence: int, ledger: int
) -> dict[str, Any]:
    return {
        "address": encode_account(account.id),
        "sequence": account.seq,
        "pending_sequence": max(pending_sequence, account.seq),
        "threshold": account.threshold,
        "signers": [{"address": encode_account(key), "weight": weight} for key, weight in account.signers],
        "balances": balances,
        "ledger": ledger,
    }


def operation_json(op: Operation, source: bytes) -> dict[str, Any]:
    match op:
        case Payment(destination, currency, amount):
            return {
                "type": "payment",
                "from": encode_account(source),
                "to": encode_account(destination),
                "currency": currency,
                "amount": amount,
            }
        case CreateCurrency():
            return {
                "type": "create_currency",
                "code": op.code,
                "kind": op.kind.value,
                "decimals": op.decimals,
                "stewards": [encode_account(s) for s in op.stewards],
                "steward_threshold": op.steward_threshold,
                "default_credit_limit": op.default_credit_limit,
                "max_balance": op.max_balance,
            }
        case AdmitMember(currency, member, limit):
            return {
                "type": "admit_member",
                "currency": currency,
                "member": encode_account(member),
                "credit_limit": limit,
            }
        case SetCreditLimit(currency, member, limit):
            return {
                "type": "set_credit_limit",
                "currency": currency,
                "member": encode_account(member),
                "credit_limit": limit,
            }
        case Mint(currency, destination, amount):
            return {"type": "mint", "currency": currency, "to": encode_account(destination), "amount": amount}
        case Redeem(currency, amount):
            return {"type": "redeem", "currency": currency, "amount": amount}
        case SetSigners(signers, threshold):
            return {
                "type": "set_signers",
                "threshold": threshold,
                "signers": [{"address": encode_account(k), "weight": w} for k, w in signers],
            }
        case Propose() | CastVote() | Vouch() | LeaveCurrency():
            return governance_operation_json(op)
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
            return design_operation_json(op, source)
        case _:
            assert_never(op)


def transaction_json(tx: Transaction) -> dict[str, Any]:
    return {
        "hash": tx.hash.hex(),
        "source": encode_account(tx.body.source),
        "seq": tx.body.seq,
        "last_valid_ledger": tx.body.last_valid_ledger,
        "memo": tx.body.memo.decode("utf-8", "replace"),
        "operations": [operation_json(op, tx.body.source) for op in tx.body.operations],
    }


def tx_record_json(record: TxRecord) -> dict[str, Any]:
    """A transaction as a ledger holds it: its contents, where it went and how it ended."""
    return {
        **transaction_json(record.tx),
        "signature_count": len(record.tx.signatures),
        "ledger": record.ledger,
        "index": record.index,
        "close_time_ms": record.close_time_ms,
        "code": record.code.value,
        "explanation": record.code.explanation,
        "op_index": record.op_index if record.code is not ResultCode.OK else None,
    }


def ledger_summary_json(summary: LedgerSummary) -> dict[str, Any]:
    return header_json(summary.header, summary.tx_count)


def member_json(member: Member, currency: Currency, as_of_ms: int | None = None) -> dict[str, Any]:
    last = member.last_activity
    return {
        "address": encode_account(member.holding.account),
        **balance_json(member.holding, currency, as_of_ms),
        "last_activity": None
        if last is None
        else {"ledger": last.ledger, "close_time_ms": last.close_time_ms},
    }
