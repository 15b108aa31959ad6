"""Listings as the API and the pages show them, with the payments that settle them.

A payment settles a listing when its memo links to the listing (``for:REF``, ``protocol.listings``),
it was applied, it is in the listing's currency, and the listing's author is on the right side of
it: paid for an offer (someone paid the author for the help), paying for a request (the author paid
whoever helped). Anyone can write ``for:REF`` in a memo; only such payments count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from node.reads import LedgerReads
from protocol.addresses import encode_account
from protocol.listings import Listing, ListingKind, listing_ref
from protocol.operations import Payment
from protocol.results import ResultCode

MAX_LINKED = 50  # payments shown per listing


@dataclass(frozen=True, slots=True)
class LinkedPayment:
    tx_hash: bytes
    ledger: int
    close_time_ms: int
    payer: bytes
    payee: bytes
    amount: int


def linked_payments(reads: LedgerReads, listing: Listing) -> list[LinkedPayment]:
    """The applied payments that settle ``listing``, oldest first."""
    body = listing.body
    found = []
    for _ledger, _index, tx_hash in reads.store.indexes.linked(listing_ref(listing.id), limit=MAX_LINKED):
        record = reads.transaction(tx_hash)
        if record is None or record.code is not ResultCode.OK:
            continue
        payer = record.tx.body.source
        for op in record.tx.body.operations:
            if not isinstance(op, Payment) or op.currency != body.currency:
                continue
            author_side = op.destination if body.kind is ListingKind.OFFER else payer
            if author_side == body.author:
                found.append(
                    LinkedPayment(
                        tx_hash, record.ledger, record.close_time_ms, payer, op.destination, op.amount
                    )
                )
    return found


def listing_json(listing: Listing, decimals: int, payments: list[LinkedPayment]) -> dict[str, Any]:
    body = listing.body
    return {
        "id": listing.id.hex(),
        "ref": listing_ref(listing.id),
        "kind": body.kind.value,
        "currency": body.currency,
        "decimals": decimals,
        "category": body.category.value,
        "topic": body.topic,
        "title": body.title,
        "text": body.text,
        "amount": body.amount,
        "author": encode_account(body.author),
        "created_ms": body.created_ms,
        "expires_ms": body.expires_ms,
        "status": "settled" if payments else "open",
        "payments": [
            {
                "hash": p.tx_hash.hex(),
                "ledger": p.ledger,
                "close_time_ms": p.close_time_ms,
                "from": encode_account(p.payer),
                "to": encode_account(p.payee),
                "amount": p.amount,
            }
            for p in payments
        ],
    }
