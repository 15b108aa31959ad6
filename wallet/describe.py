"""Amounts in a currency's own units, and operations in plain words."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, assert_never

from protocol.addresses import encode_account
from protocol.amounts import format_amount
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
from protocol.operations import (
    MAX_DECIMALS,
    AdmitMember,
    CreateCurrency,
    CurrencyKind,
    Mint,
    Operation,
    Payment,
    Redeem,
    SetCreditLimit,
    SetSigners,
)
from protocol.transactions import TransactionBody
from wallet.describe_designs import describe_design
from wallet.describe_governance import describe_governance

_KINDS = {kind.value: kind for kind in CurrencyKind}


@dataclass(frozen=True, slots=True)
class Units:
    """How a currency's amounts read: its kind (time currencies count hours) and decimal places."""

    kind: CurrencyKind | None
    decimals: int

    def text(self, value: int, code: str) -> str:
        """``-150`` in a time currency → ``"-1.50 h"``; other currencies carry their code."""
        amount = format_amount(value, self.decimals)
        return f"{amount} h" if self.kind is CurrencyKind.TIME else f"{amount} {code}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": None if self.kind is None else self.kind.value, "decimals": self.decimals}

    @classmethod
    def parse(cls, data: object) -> Units:
        """The ``to_json`` form back (as stored in transaction files). Raises ValueError."""
        if not isinstance(data, dict):
            raise ValueError("a currency's units are an object {kind, decimals}")
        kind, decimals = data.get("kind"), data.get("decimals")
        if kind is not None and kind not in _KINDS:
            raise ValueError(f"unknown currency kind {kind!r}")
        if not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= MAX_DECIMALS:
            raise ValueError(f"decimals must be an integer from 0 to {MAX_DECIMALS}")
        return cls(None if kind is None else _KINDS[kind], decimals)


UnitTable = Mapping[str, Units]  # currency code → units


def units_for(value: int, code: str, currencies: UnitTable) -> str:
    info = currencies.get(code)
    return f"{value} minor units of {code}" if info is None else info.text(value, code)


Namer = Callable[[bytes], str]


def default_namer(key: bytes) -> str:
    return encode_account(key)


def amount_of(value: int, code: str, currencies: UnitTable) -> str:
    """An amount with its units and currency: ``1.50 h of HOURS``, ``20.00 LETS``."""
    text = units_for(value, code, currencies)
    return text if text.endswith(code) else f"{text} of {code}"


def describe_operation(op: Operation, currencies: UnitTable, name: Namer = default_namer) -> str:
    def amount(value: int, code: str) -> str:
        return amount_of(value, code, currencies)

    match op:
        case Payment(destination, currency, value):
            return f"pay {amount(value, currency)} to {name(destination)}"
        case CreateCurrency():
            stewards = ", ".join(name(s) for s in op.stewards)
            own = Units(op.kind, op.decimals)
            words = (
                f"create the {op.kind.value} currency {op.code} ({op.decimals} decimals); stewards {stewards}, "
                f"{op.steward_threshold} of them must sign"
            )
            if op.kind.is_mutual_credit:
                words += f"; default credit limit {own.text(op.default_credit_limit, op.code)}"
            if op.max_balance:
                words += f"; ceiling {own.text(op.max_balance, op.code)}"
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
        case Propose() | CastVote() | Vouch() | LeaveCurrency():
            return describe_governance(op, amount, name)
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
            return describe_design(op, amount, name)
        case _:
            assert_never(op)


def describe_body(body: TransactionBody, currencies: UnitTable, name: Namer = default_namer) -> list[str]:
    return [describe_operation(op, currencies, name) for op in body.operations]
