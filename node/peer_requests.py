"""One typed layer for the requests peers make of each other.

Each request kind declares in one place: its wire name (``node.wire``), how its question and its
answer are encoded and strictly decoded, the largest answer we accept and how long we wait for
it, what an answer that decodes must satisfy (the hash it was asked for), and the penalty a peer
earns for a bad answer. The serving side (``node.peer_service``) dispatches on these
declarations; the asking side (herder, catch-up, quorum sets) calls ``PeerRequests.ask``, so no
call site repeats a size limit or picks its own penalty. The transport below moves bytes only.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from consensus import ConsensusError, QuorumSet, decode_quorum_set
from node import wire
from node.errors import NodeError
from node.logs import log
from node.metrics import NodeMetrics
from node.peer_records import (
    MAX_PEER_ANSWER_BYTES,
    PeerAnswer,
    decode_peer_answer,
    decode_peers_query,
    encode_peer_answer,
    encode_peers_query,
)
from node.transport import Transport
from protocol.errors import DecodeError
from protocol.ledger import MAX_TX_SET_BYTES, MAX_TX_SET_SIZE_LIMIT, TxSet, decode_tx_set
from protocol.listings import (
    MAX_BATCH_BYTES,
    decode_board_batch,
    decode_board_query,
    encode_board_batch,
    encode_board_query,
)
from protocol.transactions import Transaction, decode_transaction

logger = logging.getLogger("tally.requests")

Query = TypeVar("Query")
Answer = TypeVar("Answer")

# A peer's request is a name and a hash, a range or a slot: peers refuse bigger ones (the
# network's inbound request cap).
MAX_REQUEST_BYTES = 64 * 1024
# Hashes per REQ_TXS request: 35 bytes each must stay under MAX_REQUEST_BYTES. 2,000 (70 KB) got
# a restarted validator, whose mempool is empty, banned by every peer for "request_oversize"
# (found by scripts/chaos).
TXS_PER_REQUEST = 1_000
# Hashes per REQ_TX_OFFER request (the same 35 bytes each, within MAX_REQUEST_BYTES): a larger tx
# set is offered in parts. One offer of 2,100 hashes (75 KB) got the proposer banned by every peer
# for "request_oversize" at 1,500 tx/s offered.
TX_OFFER_PART_HASHES = 1_500
MAX_TX_OFFER_PARTS = -(-MAX_TX_SET_SIZE_LIMIT // TX_OFFER_PART_HASHES)  # the largest set a ledger allows


class BadAnswerError(NodeError):
    """A peer's answer did not decode or did not match the question; the peer was penalised."""

    def __init__(self, peer: str, penalty: str, detail: str) -> None:
        super().__init__(f"{peer}: {penalty}: {detail}")
        self.peer, self.penalty, self.detail = peer, penalty, detail


@dataclass(frozen=True, slots=True)
class TxIds:
    """A tx set as its previous ledger hash and its transactions' hashes (canonical order)."""

    previous_hash: bytes
    tx_hashes: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class TxSetOffer:
    """A tx set its proposer offers as hashes (canonical order), before peers ask for it: part
    ``part`` of ``parts`` (a large set takes several requests, node.tx_set_offers)."""

    tx_set_hash: bytes
    previous_hash: bytes
    tx_hashes: tuple[bytes, ...]
    part: int = 0
    parts: int = 1


@dataclass(frozen=True, slots=True)
class TxsQuery:
    """Some transactions of a tx set, by hash."""

    tx_set_hash: bytes
    tx_hashes: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class LedgerRange:
    """Closed ledgers ``first`` … ``first + count - 1``, with their proofs."""

    first: int
    count: int


def _any_answer(query: object, answer: object) -> str | None:
    return None


@dataclass(frozen=True)
class RequestKind(Generic[Query, Answer]):
    """Everything both sides need to know about one kind of request."""

    name: str  # the request name on the wire (node.wire.REQ_*)
    encode_query: Callable[[Query], bytes]
    decode_query: Callable[[bytes], Query]  # raises DecodeError
    encode_answer: Callable[[Answer], bytes]
    decode_answer: Callable[[bytes, bytes], Answer]  # (answer, network id); DecodeError/ConsensusError
    max_response: int  # bytes; a longer answer is refused by the transport (and penalised there)
    timeout_s: float
    penalty: str  # the reason a peer is penalised under for a bad answer
    check: Callable[[Query, Answer], str | None] = _any_answer  # what is wrong with a decoded answer


# -- the declarations ------------------------------------------------------------------------


def _hash_is(what: str) -> Callable[[bytes, TxSet | QuorumSet], str | None]:
    def check(asked: bytes, answer: TxSet | QuorumSet) -> str | None:
        return None if answer.hash == asked else f"{what} does not match the requested hash"

    return check


def _decode_tx_ids(raw: bytes, network: bytes) -> TxIds:
    previous, hashes = wire.decode_tx_ids(raw)
    return TxIds(previous, hashes)


def _tx_ids_in_order(asked: bytes, answer: TxIds) -> str | None:
    hashes = answer.tx_hashes
    return "tx ids: not in canonical order" if any(a >= b for a, b in itertools.pairwise(hashes)) else None


def _decode_tx_offer(raw: bytes) -> TxSetOffer:
    tx_set_hash, previous, part, parts, hashes = wire.decode_tx_offer(raw)
    if parts > MAX_TX_OFFER_PARTS or len(hashes) > TX_OFFER_PART_HASHES:
        raise DecodeError("tx offer: larger than a tx set may be")
    if any(a >= b for a, b in itertools.pairwise(hashes)):
        raise DecodeError("tx offer: not in canonical order")
    return TxSetOffer(tx_set_hash, previous, hashes, part, parts)


def offer_parts(tx_set: TxSet) -> list[TxSetOffer]:
    """``tx_set`` as the offers that carry it, each within the peers' request cap."""
    hashes = [tx.hash for tx in tx_set.transactions]
    chunks = [hashes[i : i + TX_OFFER_PART_HASHES] for i in range(0, len(hashes), TX_OFFER_PART_HASHES)] or [
        []
    ]
    return [
        TxSetOffer(tx_set.hash, tx_set.previous_hash, tuple(chunk), index, len(chunks))
        for index, chunk in enumerate(chunks)
    ]


def _decode_txs_query(raw: bytes) -> TxsQuery:
    tx_set_hash, hashes = wire.decode_txs_request(raw)
    return TxsQuery(tx_set_hash, hashes)


def _decode_txs(raw: bytes, network: bytes) -> tuple[Transaction, ...]:
    return tuple(decode_transaction(item, network) for item in wire.decode_tx_batch(raw))


def _txs_as_asked(asked: TxsQuery, answer: tuple[Transaction, ...]) -> str | None:
    if tuple(tx.hash for tx in answer) != asked.tx_hashes:
        return "txs: the transactions sent are not the ones asked for"
    return None


def _decode_range(raw: bytes) -> LedgerRange:
    first, count = wire.decode_range_request(raw)
    return LedgerRange(first, count)


def _no_query(raw: bytes) -> None:
    """The latest-ledger question carries nothing (whatever an old peer sends is ignored)."""


TX_SET: RequestKind[bytes, TxSet] = RequestKind(
    wire.REQ_TX_SET,
    wire.encode_hash_request,
    wire.decode_hash_request,
    TxSet.encode,
    decode_tx_set,
    max_response=MAX_TX_SET_BYTES + 1024,
    timeout_s=10.0,
    penalty="bad_tx_set",
    check=_hash_is("tx set"),
)
TX_IDS: RequestKind[bytes, TxIds] = RequestKind(
    wire.REQ_TX_IDS,
    wire.encode_hash_request,
    wire.decode_hash_request,
    lambda ids: wire.encode_tx_ids(ids.previous_hash, list(ids.tx_hashes)),
    _decode_tx_ids,
    max_response=wire.MAX_TX_IDS * 35 + 64,
    timeout_s=10.0,
    penalty="bad_tx_set",  # part of fetching a tx set
    check=_tx_ids_in_order,
)
TXS: RequestKind[TxsQuery, tuple[Transaction, ...]] = RequestKind(
    wire.REQ_TXS,
    lambda query: wire.encode_txs_request(query.tx_set_hash, list(query.tx_hashes)),
    _decode_txs_query,
    lambda txs: wire.encode_tx_batch([tx.encode() for tx in txs]),
    _decode_txs,
    max_response=wire.MAX_TX_BATCH_BYTES + 1024,
    timeout_s=10.0,
    penalty="bad_tx_set",  # part of fetching a tx set
    check=_txs_as_asked,
)
TX_OFFER: RequestKind[TxSetOffer, int] = RequestKind(
    wire.REQ_TX_OFFER,
    lambda offer: wire.encode_tx_offer(
        offer.tx_set_hash, offer.previous_hash, offer.part, offer.parts, list(offer.tx_hashes)
    ),
    _decode_tx_offer,
    wire.encode_count,  # how many of the set's transactions the peer lacked (it fetches them)
    lambda raw, network: wire.decode_count(raw),
    max_response=16,
    timeout_s=5.0,
    penalty="bad_tx_set",
)
QSET: RequestKind[bytes, QuorumSet] = RequestKind(
    wire.REQ_QSET,
    wire.encode_hash_request,
    wire.decode_hash_request,
    QuorumSet.encode,
    lambda raw, network: decode_quorum_set(raw),
    max_response=64 * 1024,
    timeout_s=10.0,
    penalty="lie_qset",
    check=_hash_is("quorum set"),
)
LATEST: RequestKind[None, wire.LatestLedger] = RequestKind(
    wire.REQ_LATEST,
    lambda query: b"",
    _no_query,
    wire.encode_latest,
    lambda raw, network: wire.decode_latest(raw),
    max_response=256,
    timeout_s=5.0,
    penalty="bad_response",
)
SCP_STATE: RequestKind[int, tuple[wire.SignedEnvelope, ...]] = RequestKind(
    wire.REQ_SCP_STATE,
    wire.encode_slot_request,
    wire.decode_slot_request,
    lambda envelopes: wire.encode_envelope_list(list(envelopes)),
    lambda raw, network: wire.decode_envelope_list(raw),
    max_response=4 * 1024 * 1024,
    timeout_s=5.0,
    penalty="bad_response",
)
PEERS: RequestKind[bytes, PeerAnswer] = RequestKind(
    wire.REQ_PEERS,
    encode_peers_query,
    decode_peers_query,
    encode_peer_answer,
    decode_peer_answer,  # every record's signature and network checked; a forged one spoils the answer
    max_response=MAX_PEER_ANSWER_BYTES,
    timeout_s=5.0,
    penalty="bad_peer_record",
)
LEDGERS: RequestKind[LedgerRange, tuple[wire.LedgerBlob, ...]] = RequestKind(
    wire.REQ_LEDGERS,
    lambda query: wire.encode_range_request(query.first, query.count),
    _decode_range,
    lambda blobs: wire.encode_ledgers(list(blobs)),
    lambda raw, network: wire.decode_ledgers(raw),
    max_response=wire.MAX_LEDGERS_RESPONSE_BYTES + 4096,
    timeout_s=20.0,
    penalty="bad_ledger",  # also for a ledger that fails catch-up's checks
)

BoardCursor = tuple[int, bytes] | None  # (created_ms, id) of the last listing of the previous page


BOARD: RequestKind[BoardCursor, tuple[bytes, ...]] = RequestKind(
    wire.REQ_BOARD,
    encode_board_query,
    decode_board_query,
    lambda items: encode_board_batch(list(items)),
    lambda raw, network: decode_board_batch(raw, min_items=0),
    max_response=MAX_BATCH_BYTES + 1024,
    timeout_s=10.0,
    penalty="bad_board",
)

ALL_KINDS: tuple[RequestKind[Any, Any], ...] = (
    TX_SET,
    TX_IDS,
    TXS,
    TX_OFFER,
    QSET,
    LATEST,
    SCP_STATE,
    LEDGERS,
    BOARD,
    PEERS,
)


# -- the asking side -------------------------------------------------------------------------


class PeerRequests:
    """Asks peers questions of a declared kind and holds them to the answer.

    Invariant: every answer that comes back from ``ask`` decoded strictly and passed its kind's
    check; every bad answer was counted (``tally_invalid_messages{reason}``), logged and
    penalised with its kind's penalty, exactly once.
    """

    def __init__(self, transport: Transport, network: bytes, metrics: NodeMetrics) -> None:
        self._transport = transport
        self._network = network
        self._metrics = metrics

    async def ask(self, peer: str, kind: RequestKind[Query, Answer], query: Query) -> Answer:
        """Ask ``peer``; its checked answer.

        Raises:
            NetError: no answer (timeout, unreachable, refused, oversize).
            BadAnswerError: the answer did not decode or failed the kind's check.
        """
        raw = await self._transport.request(
            peer,
            kind.name,
            kind.encode_query(query),
            max_response=kind.max_response,
            timeout_s=kind.timeout_s,
        )
        try:
            answer = kind.decode_answer(raw, self._network)
        except (DecodeError, ConsensusError) as exc:
            raise self.bad_answer(peer, kind, str(exc)) from None
        problem = kind.check(query, answer)
        if problem is not None:
            raise self.bad_answer(peer, kind, problem)
        return answer

    def bad_answer(self, peer: str, kind: RequestKind[Query, Answer], detail: str) -> BadAnswerError:
        """Count, log and penalise a bad answer to ``kind``: used by ``ask``, and by callers whose
        own checks go further (a tx set's signatures, a ledger's proof). Returns the error to raise."""
        self._metrics.invalid_messages.labels(kind.penalty).inc()
        log(
            logger,
            logging.INFO,
            "bad answer from peer",
            peer=peer,
            request=kind.name,
            reason=kind.penalty,
            detail=detail,
        )
        self._transport.penalize(peer, kind.penalty)
        return BadAnswerError(peer, kind.penalty, detail)


def peers_starting_with(first: str, connected: Sequence[str]) -> list[str]:
    """Whom to ask for something ``first`` named: that peer first, then every other connected one."""
    return [first] + [p for p in connected if p != first]
