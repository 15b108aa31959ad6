"""Ledgers: headers, transaction sets, the value validators agree on, and closing a ledger.

A ledger N is (header, tx set, results); the node stores the SCP proof beside it. The header
chains to its predecessor by hash, commits to the tx set, the results and the state hash, and
carries the protocol version and parameters in force. The genesis ledger (seq 1) chains to the
network ID, so two networks never share a ledger.

The header's first field is the protocol version (``protocol.versions``): version 1 headers are
byte for byte what they were before versions existed. Validators change the version, or a
ledger parameter, only by agreeing on an upgrade inside the SCP value.

Consensus agrees on a ``CloseValue`` {tx-set hash, close time, upgrades} per slot (= ledger seq);
``close_ledger`` then turns the agreed value into the next ledger deterministically.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from protocol import codec
from protocol.apply import apply_transaction
from protocol.codec import INT64_MAX, UINT32_MAX, KeptBytes
from protocol.context import LedgerContext
from protocol.errors import DecodeError, ProtocolError
from protocol.governance.proposals import decide_due
from protocol.hashing import (
    HASH_SIZE,
    PERSON_HEADER,
    PERSON_RESULTS,
    PERSON_TX_SET,
    PERSON_VALUE,
    blake2b256,
)
from protocol.results import TxResult, decode_result, encode_result
from protocol.state import Change, StateAccumulator, StateOverlay, StateReader
from protocol.transactions import ENVELOPE_V1, MAX_TX_BYTES, Transaction, decode_transaction_object
from protocol.versions import CURRENT_PROTOCOL_VERSION, PROTOCOL_V1

HEADER_V1 = PROTOCOL_V1  # the header layout is the same in every version so far
TX_SET_V1 = 1
VALUE_V1 = 1
RESULTS_V1 = 1
GENESIS_SEQ = 1
MAX_TX_SET_SIZE_LIMIT = 100_000
DEFAULT_MAX_TX_SET_SIZE = 10_000
# A tx set travels in one request/response frame: bound its bytes as well as its count.
MAX_TX_SET_BYTES = 6 * 1024 * 1024
# Upgrades validators may vote for, with their allowed range. A protocol_version upgrade must
# also be newer than the version in force (``upgrade_applies``).
UPGRADE_PROTOCOL_VERSION = "protocol_version"
UPGRADE_MAX_TX_SET_SIZE = "max_tx_set_size"
UPGRADE_BOUNDS = {
    UPGRADE_MAX_TX_SET_SIZE: (1, MAX_TX_SET_SIZE_LIMIT),
    UPGRADE_PROTOCOL_VERSION: (PROTOCOL_V1, CURRENT_PROTOCOL_VERSION),
}
MAX_UPGRADES = len(UPGRADE_BOUNDS)


class LedgerError(ProtocolError):
    """A close was asked for with inputs that do not belong together (a bug in the caller)."""


@dataclass(frozen=True, slots=True)
class LedgerParams:
    """Protocol parameters in force, changed only by upgrades the validators agree on."""

    max_tx_set_size: int = DEFAULT_MAX_TX_SET_SIZE


@dataclass(frozen=True, slots=True)
class LedgerHeader:
    """``version`` is the protocol version in force after this ledger: this ledger's transactions
    were applied under the previous header's version, the next ledger's apply under this one."""

    version: int
    seq: int
    previous_hash: bytes
    close_time_ms: int
    tx_set_hash: bytes
    results_hash: bytes
    state_hash: bytes
    params: LedgerParams
    _bytes: KeptBytes = field(default_factory=KeptBytes, init=False, repr=False, compare=False)

    def encode(self) -> bytes:
        if self._bytes.encoded is None:
            self._bytes.encoded = codec.pack(
                (
                    self.version,
                    self.seq,
                    self.previous_hash,
                    self.close_time_ms,
                    self.tx_set_hash,
                    self.results_hash,
                    self.state_hash,
                    (self.params.max_tx_set_size,),
                )
            )
        return self._bytes.encoded

    @property
    def hash(self) -> bytes:
        if self._bytes.hash is None:
            self._bytes.hash = blake2b256(self.encode(), PERSON_HEADER)
        return self._bytes.hash


def decode_header(data: bytes) -> LedgerHeader:
    fields = codec.unpack(data, max_size=1024, what="ledger header")
    version, seq, previous, close_time, tx_set_hash, results_hash, state_hash, params = codec.array(
        fields, 8, "ledger header"
    )
    if type(version) is not int or not PROTOCOL_V1 <= version <= CURRENT_PROTOCOL_VERSION:
        raise DecodeError(
            f"ledger header: protocol version {version!r} is unknown to this software "
            f"(it applies versions {PROTOCOL_V1} to {CURRENT_PROTOCOL_VERSION}; upgrade Tally)"
        )
    (max_size,) = codec.array(params, 1, "ledger params")
    header = LedgerHeader(
        version,
        codec.integer(seq, "ledger seq", lo=1, hi=UINT32_MAX),
        _hash(previous, "previous hash"),
        codec.integer(close_time, "close time", hi=INT64_MAX),
        _hash(tx_set_hash, "tx set hash"),
        _hash(results_hash, "results hash"),
        _hash(state_hash, "state hash"),
        LedgerParams(codec.integer(max_size, "max tx set size", lo=1, hi=MAX_TX_SET_SIZE_LIMIT)),
    )
    header._bytes.encoded = data
    return header


@dataclass(frozen=True, slots=True)
class TxSet:
    """The transactions proposed for the ledger after ``previous_hash``, in canonical order
    (ascending transaction hash, no duplicates)."""

    previous_hash: bytes
    transactions: tuple[Transaction, ...]
    _bytes: KeptBytes = field(default_factory=KeptBytes, init=False, repr=False, compare=False)

    def encode(self) -> bytes:
        if self._bytes.encoded is None:  # up to 6 MiB: packed once, however often it is asked for
            self._bytes.encoded = codec.pack(
                (
                    TX_SET_V1,
                    self.previous_hash,
                    tuple((ENVELOPE_V1, tx.body_bytes, tx.signatures) for tx in self.transactions),
                )
            )
        return self._bytes.encoded

    @property
    def hash(self) -> bytes:
        if self._bytes.hash is None:
            self._bytes.hash = blake2b256(self.encode(), PERSON_TX_SET)
        return self._bytes.hash

    def apply_order(self) -> list[Transaction]:
        """The order transactions apply in: each account's transactions by sequence, accounts in
        an order shuffled per ledger (by a hash with the previous ledger), so no account is
        always first."""
        return sorted(
            self.transactions,
            key=lambda tx: (blake2b256(self.previous_hash + tx.body.source), tx.body.seq, tx.hash),
        )


def make_tx_set(previous_hash: bytes, transactions: Iterable[Transaction]) -> TxSet:
    """A canonical tx set: sorted by hash, one transaction per hash (first one kept)."""
    unique: dict[bytes, Transaction] = {}
    for tx in transactions:
        unique.setdefault(tx.hash, tx)
    return TxSet(previous_hash, tuple(unique[h] for h in sorted(unique)))


def decode_tx_set(data: bytes, network: bytes, *, max_transactions: int = MAX_TX_SET_SIZE_LIMIT) -> TxSet:
    """Strictly decode a tx set, including every transaction, and check canonical order."""
    fields = codec.unpack(
        data,
        max_size=MAX_TX_SET_BYTES,
        max_bin=MAX_TX_BYTES,
        max_array=max(max_transactions, 100),
        what="tx set",
    )
    version, previous, envelopes = codec.array(fields, 3, "tx set")
    codec.tag(version, TX_SET_V1, "tx set")
    transactions = tuple(
        decode_transaction_object(env, network)
        for env in codec.seq(envelopes, "tx set transactions", max_len=max_transactions)
    )
    hashes = [tx.hash for tx in transactions]
    if any(a >= b for a, b in itertools.pairwise(hashes)):
        raise DecodeError("tx set: transactions are not in canonical order or repeat")
    tx_set = TxSet(_hash(previous, "previous hash"), transactions)
    tx_set._bytes.encoded = data
    return tx_set


@dataclass(frozen=True, slots=True)
class CloseValue:
    """What validators vote on for one slot."""

    tx_set_hash: bytes
    close_time_ms: int
    upgrades: tuple[tuple[str, int], ...] = ()
    _bytes: KeptBytes = field(default_factory=KeptBytes, init=False, repr=False, compare=False)

    def encode(self) -> bytes:
        if self._bytes.encoded is None:
            self._bytes.encoded = codec.pack((VALUE_V1, self.tx_set_hash, self.close_time_ms, self.upgrades))
        return self._bytes.encoded

    @property
    def hash(self) -> bytes:
        if self._bytes.hash is None:
            self._bytes.hash = blake2b256(self.encode(), PERSON_VALUE)
        return self._bytes.hash


def decode_close_value(data: bytes) -> CloseValue:
    fields = codec.unpack(data, max_size=512, what="close value")
    version, tx_set_hash, close_time, upgrades = codec.array(fields, 4, "close value")
    codec.tag(version, VALUE_V1, "close value")
    pairs = tuple(
        (codec.text(name, "upgrade name", max_len=32), codec.integer(value, "upgrade value"))
        for name, value in (
            codec.array(u, 2, "upgrade") for u in codec.seq(upgrades, "upgrades", max_len=MAX_UPGRADES)
        )
    )
    names = [name for name, _ in pairs]
    if names != sorted(set(names)):
        raise DecodeError("close value: upgrades must be sorted by name without repeats")
    for name, value in pairs:
        bounds = UPGRADE_BOUNDS.get(name)
        if bounds is None:
            raise DecodeError(f"close value: unknown upgrade {name!r}")
        if not bounds[0] <= value <= bounds[1]:
            raise DecodeError(f"close value: upgrade {name}={value} is outside {bounds[0]}..{bounds[1]}")
    close_value = CloseValue(
        _hash(tx_set_hash, "tx set hash"), codec.integer(close_time, "close time", hi=INT64_MAX), pairs
    )
    close_value._bytes.encoded = data
    return close_value


def results_hash(results: Iterable[TxResult]) -> bytes:
    return blake2b256(encode_results(results), PERSON_RESULTS)


def encode_results(results: Iterable[TxResult]) -> bytes:
    return codec.pack((RESULTS_V1, tuple(encode_result(r) for r in results)))


def decode_results(data: bytes) -> tuple[TxResult, ...]:
    fields = codec.unpack(
        data, max_size=MAX_TX_SET_SIZE_LIMIT * 64 + 64, max_array=MAX_TX_SET_SIZE_LIMIT, what="results"
    )
    version, items = codec.array(fields, 2, "results")
    codec.tag(version, RESULTS_V1, "results")
    return tuple(decode_result(r) for r in codec.seq(items, "results", max_len=MAX_TX_SET_SIZE_LIMIT))


def genesis_header(network: bytes) -> LedgerHeader:
    """Ledger 1 of a network: empty state, chained to the network ID."""
    empty = TxSet(network, ())
    return LedgerHeader(
        HEADER_V1,
        GENESIS_SEQ,
        network,
        0,
        empty.hash,
        results_hash(()),
        StateAccumulator().digest(),
        LedgerParams(),
    )


@dataclass(frozen=True, slots=True)
class ClosedLedger:
    header: LedgerHeader
    results: tuple[TxResult, ...]
    changes: list[Change]
    accumulator: StateAccumulator


def close_ledger(
    state: StateReader,
    accumulator: StateAccumulator,
    previous: LedgerHeader,
    tx_set: TxSet,
    value: CloseValue,
    signers_of: Callable[[Transaction], frozenset[bytes] | None],
) -> ClosedLedger:
    """Apply an agreed tx set on top of ``previous`` and build the next ledger.

    Args:
        state: committed state as of ``previous``.
        accumulator: the state accumulator as of ``previous``.
        signers_of: ``Transaction.signers`` or a cached equivalent.

    Raises:
        LedgerError: the tx set or value do not belong to this ledger (a caller bug).
    """
    if tx_set.previous_hash != previous.hash:
        raise LedgerError("the tx set was built on a different previous ledger")
    if tx_set.hash != value.tx_set_hash:
        raise LedgerError("the tx set does not match the agreed value")
    seq = previous.seq + 1
    ctx = LedgerContext(seq, value.close_time_ms, previous.version)
    overlay = StateOverlay(state)
    if ctx.governance:
        # Proposals due by this close time are decided first: the ledger's transactions then see
        # the rules the members chose, and no vote in it can still count (it is too late).
        decide_due(overlay, ctx)
    results = tuple(
        apply_transaction(
            overlay,
            tx,
            ledger_seq=seq,
            signers=signers_of(tx),
            close_time_ms=ctx.close_time_ms,
            protocol_version=ctx.protocol_version,
        )
        for tx in tx_set.apply_order()
    )
    version, params = previous.version, previous.params
    for name, setting in value.upgrades:
        if not upgrade_applies(previous, name, setting):
            continue  # deterministically ignored everywhere; the herder never votes for one
        if name == UPGRADE_MAX_TX_SET_SIZE:
            params = replace(params, max_tx_set_size=setting)
        elif name == UPGRADE_PROTOCOL_VERSION:
            version = setting
    changes = overlay.changes()
    accumulator = accumulator.updated(changes)
    header = LedgerHeader(
        version,
        seq,
        previous.hash,
        value.close_time_ms,
        tx_set.hash,
        results_hash(results),
        accumulator.digest(),
        params,
    )
    return ClosedLedger(header, results, changes, accumulator)


def upgrade_applies(previous: LedgerHeader, name: str, value: int) -> bool:
    """Whether an upgrade may move the ledger after ``previous``: a known name, in bounds, and for
    the protocol version strictly newer than the one in force (versions never go back)."""
    bounds = UPGRADE_BOUNDS.get(name)
    if bounds is None or not bounds[0] <= value <= bounds[1]:
        return False
    return name != UPGRADE_PROTOCOL_VERSION or value > previous.version


def _hash(obj: object, what: str) -> bytes:
    return codec.blob(obj, what, size=HASH_SIZE)
