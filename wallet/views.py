"""Typed views of the node's JSON answers (the shapes of ``node/api/views.py`` and ``node/api/app.py``).

Every field the wallet uses is checked for presence, type and range when the answer arrives, so
a node that answers something unexpected is reported once, as ``BadResponse`` naming the field,
instead of surfacing later as a ``KeyError`` in a command. Keys the wallet does not know are
ignored: a newer node may add keys. Amounts are integers in the currency's minor units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from protocol.hashing import network_id as network_id_of
from protocol.operations import MAX_DECIMALS, CurrencyKind
from wallet.describe import Units
from wallet.design_refusals import NO_DESIGN_FIGURES, DesignFigures
from wallet.designs_views import TermsView
from wallet.errors import BadResponse
from wallet.fields import INT64, UINT32_MAX, Fields
from wallet.governance_views import CurrencyGovernance

TxState = Literal["pending", "applied", "failed", "rejected", "unknown"]
_TX_STATES: tuple[str, ...] = get_args(TxState)


# -- accounts ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Signer:
    address: str
    weight: int

    @classmethod
    def parse(cls, f: Fields) -> Signer:
        return cls(f.address("address"), f.integer("weight", 1, 255))

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "weight": self.weight}


@dataclass(frozen=True, slots=True)
class Balance:
    """One currency held by an account (``GET /accounts/{address}`` → ``balances[]``)."""

    currency: str
    kind: CurrencyKind | None
    decimals: int
    balance: int
    credit_limit: int
    available: int
    member: bool

    @classmethod
    def parse(cls, f: Fields) -> Balance:
        return cls(
            f.text("currency", 12),
            f.opt_kind("kind"),
            f.integer("decimals", 0, MAX_DECIMALS),
            f.integer("balance"),
            f.integer("credit_limit"),
            f.integer("available"),
            f.flag("member"),
        )

    @property
    def units(self) -> Units:
        return Units(self.kind, self.decimals)

    def to_json(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "kind": None if self.kind is None else self.kind.value,
            "decimals": self.decimals,
            "balance": self.balance,
            "credit_limit": self.credit_limit,
            "available": self.available,
            "member": self.member,
        }


@dataclass(frozen=True, slots=True)
class AccountView:
    """``GET /accounts/{address}``."""

    address: str
    sequence: int
    pending_sequence: int
    threshold: int
    signers: tuple[Signer, ...]
    balances: tuple[Balance, ...]
    ledger: int

    @classmethod
    def parse(cls, f: Fields) -> AccountView:
        return cls(
            f.address("address"),
            f.integer("sequence", 0, INT64 - 1),
            f.integer("pending_sequence", 0, INT64 - 1),
            f.integer("threshold", 0, 255),
            f.list_of("signers", Signer.parse),
            f.list_of("balances", Balance.parse),
            f.integer("ledger", 0, UINT32_MAX),
        )

    @property
    def next_sequence(self) -> int:
        """The sequence number of this account's next transaction (after its pending ones)."""
        return max(self.sequence, self.pending_sequence) + 1


# -- currencies ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CurrencyView:
    """``GET /currencies/{code}``."""

    code: str
    kind: CurrencyKind
    decimals: int
    issuer: str
    stewards: tuple[str, ...]
    steward_threshold: int
    default_credit_limit: int
    max_balance: int
    supply: int
    members: int
    demurrage_ppm: int
    governance: CurrencyGovernance | None = None  # None from a node older than protocol version 2
    terms: TermsView | None = None  # None from a node older than protocol version 3

    @classmethod
    def parse(cls, f: Fields) -> CurrencyView:
        return cls(
            f.text("code", 12),
            f.kind("kind"),
            f.integer("decimals", 0, MAX_DECIMALS),
            f.address("issuer"),
            f.addresses("stewards"),
            f.integer("steward_threshold", 0, 255),
            f.integer("default_credit_limit"),
            f.integer("max_balance"),
            f.integer("supply"),
            f.integer("members", 0),
            f.integer("demurrage_ppm", 0),
            CurrencyGovernance.parse(f),
            TermsView.parse(f),
        )

    @property
    def units(self) -> Units:
        return Units(self.kind, self.decimals)

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "kind": self.kind.value,
            "decimals": self.decimals,
            "issuer": self.issuer,
            "stewards": list(self.stewards),
            "steward_threshold": self.steward_threshold,
            "default_credit_limit": self.default_credit_limit,
            "max_balance": self.max_balance,
            "supply": self.supply,
            "members": self.members,
            "demurrage_ppm": self.demurrage_ppm,
            **(self.governance.to_json() if self.governance is not None else {}),
            **(self.terms.to_json() if self.terms is not None else {}),
        }


# -- history -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OperationView:
    """One operation of a transaction in the history; which fields are set depends on ``type``
    (an operation type this wallet does not know keeps only its type and currency)."""

    type: str
    sender: str | None = None  # "from"
    to: str | None = None
    member: str | None = None
    currency: str | None = None
    code: str | None = None  # the new currency's code (create_currency)
    amount: int | None = None
    credit_limit: int | None = None
    receive_currency: str | None = None  # an exchange: the recipient's currency (``amount`` is in it)

    @classmethod
    def parse(cls, f: Fields) -> OperationView:
        return cls(
            f.text("type", 64),
            f.opt_address("from"),
            f.opt_address("to"),
            f.opt_address("member"),
            f.opt_text("currency", 12),
            f.opt_text("code", 12),
            f.opt_integer("amount"),
            f.opt_integer("credit_limit"),
            f.opt_text("receive_currency", 12),
        )


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One transaction in ``GET /accounts/{address}/history`` → ``items[]``."""

    hash: str
    source: str
    memo: str
    ledger: int
    code: str
    close_time_ms: int | None
    operations: tuple[OperationView, ...]

    @classmethod
    def parse(cls, f: Fields) -> HistoryItem:
        return cls(
            f.text("hash", 64),
            f.address("source"),
            f.opt_text("memo", 256) or "",
            f.integer("ledger", 0, UINT32_MAX),
            f.text("code", 64),
            f.opt_integer("close_time_ms", 0),
            f.list_of("operations", OperationView.parse),
        )


@dataclass(frozen=True, slots=True)
class HistoryPage:
    items: tuple[HistoryItem, ...]
    next: str | None

    @classmethod
    def parse(cls, f: Fields) -> HistoryPage:
        return cls(f.list_of("items", HistoryItem.parse), f.opt_text("next", 64))


# -- transactions --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Figures:
    """The numbers behind a refusal (``figures`` of a rejected ``POST /tx`` result; every key is
    listed in ``node/refusals.py``). Each is ``None`` when the node did not send it."""

    op_index: int | None = None
    currency: str | None = None
    available: int | None = None
    asked: int | None = None
    account: str | None = None
    balance: int | None = None
    max_balance: int | None = None
    kind: CurrencyKind | None = None
    issuer: str | None = None
    steward_threshold: int | None = None
    steward_signatures: int | None = None
    threshold: int | None = None
    signed_weight: int | None = None
    total_weight: int | None = None
    expected_seq: int | None = None
    seq: int | None = None
    last_valid_ledger: int | None = None
    ledger: int | None = None
    retry_after_s: int | None = None  # overloaded: when to submit again
    designs: DesignFigures = NO_DESIGN_FIGURES  # the figures of protocol version 3's refusals

    @classmethod
    def parse(cls, f: Fields) -> Figures:
        return cls(
            f.opt_integer("op_index", 0, 1000),
            f.opt_text("currency", 12),
            f.opt_integer("available"),
            f.opt_integer("asked"),
            f.opt_address("account"),
            f.opt_integer("balance"),
            f.opt_integer("max_balance"),
            f.opt_kind("kind"),
            f.opt_address("issuer"),
            f.opt_integer("steward_threshold", 0),
            f.opt_integer("steward_signatures", 0),
            f.opt_integer("threshold", 0),
            f.opt_integer("signed_weight", 0),
            f.opt_integer("total_weight", 0),
            f.opt_integer("expected_seq", 0),
            f.opt_integer("seq", 0),
            f.opt_integer("last_valid_ledger", 0),
            f.opt_integer("ledger", 0),
            f.opt_integer("retry_after_s", 0, 3600),
            DesignFigures.parse(f),
        )


@dataclass(frozen=True, slots=True)
class TxResultView:
    """A transaction's state: ``GET /tx/{hash}``, or one entry of ``POST /tx`` → ``results[]``."""

    hash: str | None
    status: TxState
    code: str | None
    explanation: str | None
    ledger: int | None
    op_index: int | None
    figures: Figures

    @classmethod
    def parse(cls, f: Fields) -> TxResultView:
        status = f.text("status", 16)
        if status not in _TX_STATES:
            raise BadResponse(f"{f.where}.status: expected one of {', '.join(_TX_STATES)}, got {status!r}")
        return cls(
            f.opt_text("hash", 64),
            cast(TxState, status),
            f.opt_text("code", 64),
            f.opt_text("explanation"),
            f.opt_integer("ledger", 0, UINT32_MAX),
            f.opt_integer("op_index", -1, 1000),
            Figures.parse(f.nested("figures")),
        )

    @property
    def refused(self) -> bool:
        return self.status in ("failed", "rejected")

    def to_json(self) -> dict[str, Any]:
        """The ``tx status --json`` keys."""
        return {
            "hash": self.hash,
            "status": self.status,
            "code": self.code,
            "explanation": self.explanation,
            "ledger": self.ledger,
            "op_index": self.op_index,
        }


def submit_result(f: Fields) -> TxResultView:
    """The single entry of a ``POST /tx`` answer for one transaction."""
    results = f.list_of("results", TxResultView.parse)
    if len(results) != 1:
        raise BadResponse(f"{f.where}.results: expected one result, got {len(results)}")
    return results[0]


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """What the wallet reads from ``GET /node``."""

    network_id: bytes

    @classmethod
    def parse(cls, f: Fields) -> NodeInfo:
        text = f.opt_text("network_id", 64)
        if text is not None:
            try:
                network = bytes.fromhex(text)
            except ValueError:
                network = b""
            if len(network) != 32:
                raise BadResponse(f"{f.where}.network_id: expected 32 bytes in hex, got {text!r}")
            return cls(network)
        passphrase = f.opt_text("network_passphrase")
        if passphrase is None:
            raise BadResponse(f"{f.where}: the node does not say its network id", code="no_network_id")
        return cls(network_id_of(passphrase))


@dataclass(frozen=True, slots=True)
class LedgerView:
    """What the wallet reads from ``GET /ledgers/latest``."""

    seq: int

    @classmethod
    def parse(cls, f: Fields) -> LedgerView:
        return cls(f.integer("seq", 0, UINT32_MAX))
