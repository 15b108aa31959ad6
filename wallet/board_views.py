"""Typed views of the node's board answers (``node/board/views.py``, ``node/api/board.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

from protocol.listings import MAX_TEXT_CHARS, MAX_TITLE_CHARS, MAX_TOPIC_CHARS, Category, ListingKind
from protocol.operations import MAX_DECIMALS
from wallet.errors import BadResponse
from wallet.fields import INT64, UINT32_MAX, Fields

ListingStatus = Literal["open", "settled"]
_KINDS = {kind.value: kind for kind in ListingKind}
_CATEGORIES = {category.value: category for category in Category}


def _choice(f: Fields, key: str, choices: dict[str, Any]) -> Any:
    text = f.text(key, 32)
    if text not in choices:
        raise BadResponse(f"{f.where}.{key}: expected one of {', '.join(choices)}, got {text!r}")
    return choices[text]


@dataclass(frozen=True, slots=True)
class LinkedPaymentView:
    hash: str
    ledger: int
    close_time_ms: int
    payer: str
    payee: str
    amount: int

    @classmethod
    def parse(cls, f: Fields) -> LinkedPaymentView:
        return cls(
            f.text("hash", 64),
            f.integer("ledger", 0, UINT32_MAX),
            f.integer("close_time_ms", 0),
            f.address("from"),
            f.address("to"),
            f.integer("amount", 0),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "hash": self.hash,
            "ledger": self.ledger,
            "close_time_ms": self.close_time_ms,
            "from": self.payer,
            "to": self.payee,
            "amount": self.amount,
        }


@dataclass(frozen=True, slots=True)
class ListingView:
    """One listing (``GET /board/{id}``, ``GET /board`` → ``items[]``)."""

    id: str
    ref: str
    kind: ListingKind
    currency: str
    decimals: int
    category: Category
    topic: str
    title: str
    text: str
    amount: int
    author: str
    created_ms: int
    expires_ms: int
    status: ListingStatus
    payments: tuple[LinkedPaymentView, ...]

    @classmethod
    def parse(cls, f: Fields) -> ListingView:
        status = f.text("status", 16)
        if status not in ("open", "settled"):
            raise BadResponse(f"{f.where}.status: expected open or settled, got {status!r}")
        return cls(
            f.text("id", 64),
            f.text("ref", 20),
            _choice(f, "kind", _KINDS),
            f.text("currency", 12),
            f.integer("decimals", 0, MAX_DECIMALS),
            _choice(f, "category", _CATEGORIES),
            f.text("topic", MAX_TOPIC_CHARS),
            f.text("title", MAX_TITLE_CHARS),
            f.text("text", MAX_TEXT_CHARS),
            f.integer("amount", 0, INT64 - 1),
            f.address("author"),
            f.integer("created_ms", 0),
            f.integer("expires_ms", 0),
            cast(ListingStatus, status),
            f.list_of("payments", LinkedPaymentView.parse),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ref": self.ref,
            "kind": self.kind.value,
            "currency": self.currency,
            "decimals": self.decimals,
            "category": self.category.value,
            "topic": self.topic,
            "title": self.title,
            "text": self.text,
            "amount": self.amount,
            "author": self.author,
            "created_ms": self.created_ms,
            "expires_ms": self.expires_ms,
            "status": self.status,
            "payments": [p.to_json() for p in self.payments],
        }


@dataclass(frozen=True, slots=True)
class BoardPage:
    items: tuple[ListingView, ...]
    next: str | None

    @classmethod
    def parse(cls, f: Fields) -> BoardPage:
        return cls(f.list_of("items", ListingView.parse), f.opt_text("next", 100))


@dataclass(frozen=True, slots=True)
class BoardPosted:
    """``POST /board``'s answer to an admitted item."""

    id: str | None
    status: str
    message: str

    @classmethod
    def parse(cls, f: Fields) -> BoardPosted:
        return cls(f.opt_text("id", 64), f.text("status", 32), f.text("message", 500))
