"""Amounts in a currency's own units, and operations in plain words."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, assert_never

from protocol.addresses import encode_account
from protocol.amounts import format_amount
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
from protocol.transactions import TransactionBody


def units(value: int, code: str, kind: str | None, decimals: int) -> str:
    """``-150`` in a time currency → ``"-1.50 h"``; other currencies carry their code."""
    text = format_amount(value, decimals)
    return f"{text} h" if kind == "time" else f"{text} {code}"


def units_for(value: int, code: str, currencies: dict[str, dict[str, Any]]) -> str:
    info = currencies.get(code)
    if info is None or not isinstance(info.get("decimals"), int):
        return f"{value} minor units of {code}"
    return units(value, code, info.get("kind"), info["decimals"])


Namer = Callable[[bytes], str]


def default_namer(key: bytes) -> str:
    return encode_account(key)


def describe_operation(
    op: Operation, currencies: dict[str, dict[str, Any]], name: Namer = default_namer
) -> str:
    def amount(value: int, code: str) -> str:
        text = units_for(value, code, currencies)
        return text if text.endswith(code) else f"{text} of {code}"

    match op:
        case Payment(destination, currency, value):
            return f"pay {amount(value, currency)} to {name(destination)}"
        case CreateCurrency():
            stewards = ", ".join(name(s) for s in op.stewards)
            info = {op.code: {"kind": op.kind.value, "decimals": op.decimals}}
            limit = units_for(op.default_credit_limit, op.code, info)
            words = (
                f"create the {op.kind.value} currency {op.code} ({op.decimals} decimals); stewards {stewards}, "
                f"{op.steward_threshold} of them must sign"
            )
            if op.kind.is_mutual_credit:
                words += f"; default credit limit {limit}"
            if op.max_balance:
                words += f"; ceiling {units_for(op.max_balance, op.code, info)}"
            return words
        case AdmitMember(currency, member, limit):
            which = "the default credit limit" if limit is None else f"credit limit {amount(limit, currency)}"
            return f"admit {name(member)} to {currency} with {which}"
        case SetCreditLimit(currency, member, limit):
            return f"set the credit limit of {name(member)} in {currency} to {amount(limit, currency)}"
        case Mint(currency, destination, value):
            return f"mint {amount(value, currency)} to {name(destination)}"
        case Redeem(currency, value):
            return f"redeem (take out of circulation) {amount(value, currency)}"
        case SetSigners(signers, threshold):
            listed = ", ".join(f"{name(k)} (weight {w})" for k, w in signers)
            return f"replace the account's signers with {listed}; signatures worth {threshold} needed"
        case _:
            assert_never(op)


def describe_body(
    body: TransactionBody, currencies: dict[str, dict[str, Any]], name: Namer = default_namer
) -> list[str]:
    return [describe_operation(op, currencies, name) for op in body.operations]
