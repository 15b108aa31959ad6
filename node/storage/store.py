"""The ledger database: one LevelDB per node, written one synced WriteBatch per ledger.

Key layout (all integers big-endian so that LevelDB's byte order is numeric order):
  ``m:network``, ``m:lcl``, ``m:acc``        network ID, last closed ledger seq, state accumulator
  ``lh:`` seq8 / ``lt:`` seq8 / ``lr:`` seq8 / ``lp:`` seq8
                                             header, tx set, results, SCP proof of ledger ``seq``
  ``s:`` state-key                           a state entry (see ``protocol.state``)
  ``t:`` tx-hash                             where a transaction went: [ledger, index, code, op index]
  ``x:`` account32 seq8 index4               history index: the account's transactions, in order
  ``q:`` hash                                quorum sets seen (by hash)
  ``ic:`` ``ix:`` ``il:`` ``im:`` ``ia:``     explorer indexes per currency (``node.storage.indexes``)
  ``o:`` slot8                               this validator's latest own SCP envelopes for a slot
                                             (persisted *before* they are sent, so a restart can
                                             never make it contradict itself; ``node.outbox``)
  ``ot:`` slot8 tx-set-hash                  the tx sets those envelopes name (also persisted
                                             first: a restarted validator can still serve them)
  ``b:``                                     the offers and requests board, off-ledger
                                             (``node.storage.board``)
  ``p:`` node key32                          signed records of known peers (``node.storage.peers``)

A ledger is written whole or not at all: header, tx set, results, proof, state changes, indexes
and the new last-closed pointer go into one WriteBatch written with ``sync=True``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import plyvel

from node.errors import StorageError
from node.storage.board import BoardArea
from node.storage.history import involved_accounts
from node.storage.hot_state import HotEntries
from node.storage.indexes import IndexReader, IndexWriter, MonthReader, ensure_indexes, prefix_end
from node.storage.peers import PeerArea
from protocol import codec
from protocol.ledger import (
    ClosedLedger,
    LedgerHeader,
    TxSet,
    decode_header,
    encode_results,
    genesis_header,
)
from protocol.results import ResultCode
from protocol.state import HOLDING_PREFIX, Entry, Holding, StateAccumulator, decode_entry

_U64 = struct.Struct(">Q")
_U32 = struct.Struct(">I")
_META_NETWORK = b"m:network"
_META_LCL = b"m:lcl"
_META_ACC = b"m:acc"
_STATE = b"s:"
_CODES = {code.value: code for code in ResultCode}


@dataclass(frozen=True, slots=True)
class TxLocation:
    ledger: int
    index: int
    code: ResultCode
    op_index: int


@dataclass(frozen=True, slots=True)
class OwnStatements:
    """What one statement of this validator needs on disk before it may leave: its slot's
    latest own envelopes (encoded; this statement's among them) and the tx sets it names that
    are not on disk yet."""

    slot: int
    envelopes: tuple[bytes, ...]
    tx_sets: tuple[TxSet, ...]


@dataclass(frozen=True, slots=True)
class LedgerRecord:
    """A closed ledger as stored and as served to peers catching up."""

    header: bytes
    tx_set: bytes
    results: bytes
    proof: tuple[bytes, ...]


def open_leveldb(path: Path) -> Any:
    """The LevelDB database at ``path`` (plyvel.DB, untyped), created if missing."""
    return plyvel.DB(str(path), create_if_missing=True)


class LedgerStore:
    """Owns the LevelDB handle. One trio task owns the node state; two writes run in worker
    threads beside it, each with its own write batch on the shared (thread-safe) plyvel handle:
    a ledger's (``node.chain``) and this validator's own statements (``node.outbox``).

    ``open_db`` opens the handle; anything with plyvel.DB's methods will do (the node's assembly
    passes node.faults' failing disk on a test network, to fail a write batch half way).
    """

    def __init__(self, path: Path, network: bytes, *, open_db: Callable[[Path], Any] = open_leveldb) -> None:
        path.mkdir(parents=True, exist_ok=True)
        try:
            self._db = open_db(path)
        except plyvel.Error as exc:
            raise StorageError(f"cannot open the ledger database at {path}: {exc}") from None
        self.path = path
        stored = self._db.get(_META_NETWORK)
        if stored is None:
            self._initialise(network)
        elif stored != network:
            self._db.close()
            raise StorageError(
                f"the database at {path} belongs to another network (its ID is {stored.hex()[:16]}…); "
                "use another data_dir or the matching network_passphrase"
            )
        seq_bytes = self._db.get(_META_LCL)
        acc_bytes = self._db.get(_META_ACC)
        if seq_bytes is None or acc_bytes is None:
            raise StorageError(f"the database at {path} is incomplete (no last closed ledger)")
        header_bytes = self._db.get(b"lh:" + seq_bytes)
        if header_bytes is None:
            raise StorageError(f"the database at {path} lacks the header of its last closed ledger")
        self._last = decode_header(header_bytes)
        self._accumulator = StateAccumulator.from_bytes(acc_bytes)
        ensure_indexes(self._db, network, self._last.seq)
        self.indexes = IndexReader(self._db)  # the explorer's per-currency queries
        self.board = BoardArea(self._db)  # listings and withdrawals: off-ledger, never in a ledger batch
        self.peers = PeerArea(self._db)  # where known peers are: off-ledger, never in a ledger batch
        self._hot = HotEntries(self.get_raw)  # entries kept decoded (protocol.state.EntryReader)

    def _initialise(self, network: bytes) -> None:
        genesis = genesis_header(network)
        seq = _U64.pack(genesis.seq)
        with self._db.write_batch(sync=True) as batch:
            batch.put(_META_NETWORK, network)
            batch.put(b"lh:" + seq, genesis.encode())
            batch.put(b"lt:" + seq, TxSet(network, ()).encode())
            batch.put(b"lr:" + seq, encode_results(()))
            batch.put(b"lp:" + seq, codec.pack(()))
            batch.put(_META_LCL, seq)
            batch.put(_META_ACC, StateAccumulator().to_bytes())

    def close(self) -> None:
        if not self._db.closed:
            self._db.close()

    # -- state -------------------------------------------------------------------------------

    def get_raw(self, key: bytes) -> bytes | None:
        """A committed state entry (``protocol.state.StateReader``)."""
        value: bytes | None = self._db.get(_STATE + key)
        return value

    def get_entry(self, key: bytes) -> tuple[bytes | None, Entry | None]:
        """A committed state entry with its decoding (``protocol.state.EntryReader``), decoded once
        until a ledger changes it (``node.storage.hot_state``)."""
        return self._hot.get(key)

    def state_entries(self, prefix: bytes, *, limit: int) -> list[Entry]:
        """Up to ``limit`` committed state entries whose key starts with ``prefix``, in key order
        (a currency's registered businesses, accreditations, the exchange agreements…)."""
        found: list[Entry] = []
        for key, raw in self._db.iterator(prefix=_STATE + prefix):
            found.append(decode_entry(key[len(_STATE) :], raw))
            if len(found) >= limit:
                break
        return found

    def holdings(self, account: bytes) -> list[Holding]:
        prefix = _STATE + HOLDING_PREFIX + account
        found = []
        for key, raw in self._db.iterator(prefix=prefix):
            entry = decode_entry(key[len(_STATE) :], raw)
            if isinstance(entry, Holding):
                found.append(entry)
        return found

    @property
    def last_header(self) -> LedgerHeader:
        return self._last

    @property
    def accumulator(self) -> StateAccumulator:
        return self._accumulator

    # -- ledgers -----------------------------------------------------------------------------

    def write_ledger(self, closed: ClosedLedger, tx_set: TxSet, proof: Sequence[bytes]) -> None:
        """Persist a closed ledger atomically (one synced WriteBatch) and advance the pointer.

        Raises:
            StorageError: the write failed (e.g. disk full); nothing of the ledger was written.
        """
        header = closed.header
        if header.seq != self._last.seq + 1 or header.previous_hash != self._last.hash:
            raise StorageError(f"ledger {header.seq} does not follow the last closed ledger {self._last.seq}")
        seq = _U64.pack(header.seq)
        order = {tx.hash: index for index, tx in enumerate(tx_set.transactions)}
        indexes = IndexWriter()
        holdings = [c.key for c in closed.changes if c.key.startswith(HOLDING_PREFIX)]
        indexes.add_ledger(header, tx_set, closed.results, holdings, MonthReader(self._db))
        self._hot.write_begins()
        written = False
        try:
            # transaction=True: an exception inside the block discards the batch (plyvel's
            # default would write the part already put: a partial ledger).
            with self._db.write_batch(sync=True, transaction=True) as batch:
                batch.put(b"lh:" + seq, header.encode())
                batch.put(b"lt:" + seq, tx_set.encode())
                batch.put(b"lr:" + seq, encode_results(closed.results))
                batch.put(b"lp:" + seq, codec.pack(tuple(proof)))
                for change in closed.changes:
                    batch.put(_STATE + change.key, change.new)
                by_hash = {tx.hash: tx for tx in tx_set.transactions}
                for result in closed.results:
                    index = order[result.tx_hash]
                    batch.put(
                        b"t:" + result.tx_hash,
                        codec.pack((header.seq, index, result.code.value, result.op_index)),
                    )
                    for account in involved_accounts(by_hash[result.tx_hash]):
                        batch.put(b"x:" + account + seq + _U32.pack(index), result.tx_hash)
                for key, value in indexes.puts.items():
                    batch.put(key, value)
                batch.put(_META_ACC, closed.accumulator.to_bytes())
                batch.put(_META_LCL, seq)
            written = True
        except plyvel.Error as exc:
            raise StorageError(f"writing ledger {header.seq} failed: {exc}") from None
        finally:
            changed = [change.key for change in closed.changes]
            self._hot.write_ended(
                changed, [(c.key, c.new, c.entry) for c in closed.changes] if written else ()
            )
        self._last = header
        self._accumulator = closed.accumulator

    def header(self, seq: int) -> LedgerHeader | None:
        raw = self._db.get(b"lh:" + _U64.pack(seq))
        return None if raw is None else decode_header(raw)

    def ledger_record(self, seq: int) -> LedgerRecord | None:
        key = _U64.pack(seq)
        header = self._db.get(b"lh:" + key)
        if header is None:
            return None
        proof = codec.unpack(self._db.get(b"lp:" + key), max_size=1 << 24, what="stored proof")
        return LedgerRecord(header, self._db.get(b"lt:" + key), self._db.get(b"lr:" + key), tuple(proof))

    def tx_location(self, tx_hash: bytes) -> TxLocation | None:
        raw = self._db.get(b"t:" + tx_hash)
        if raw is None:
            return None
        ledger, index, code, op_index = codec.unpack(raw, max_size=256, what="tx index")
        return TxLocation(ledger, index, _CODES[code], op_index)

    def account_history(
        self, account: bytes, *, limit: int, before: tuple[int, int] | None = None
    ) -> list[tuple[int, int, bytes]]:
        """Up to ``limit`` (ledger, index, tx hash) of the account's transactions, newest first,
        strictly before the ``(ledger, index)`` cursor when given."""
        prefix = b"x:" + account
        stop = prefix + _U64.pack(before[0]) + _U32.pack(before[1]) if before else prefix_end(prefix)
        found = []
        iterator: Iterator[tuple[bytes, bytes]] = self._db.iterator(start=prefix, stop=stop, reverse=True)
        for key, tx_hash in iterator:
            ledger = _U64.unpack_from(key, len(prefix))[0]
            index = _U32.unpack_from(key, len(prefix) + 8)[0]
            found.append((ledger, index, tx_hash))
            if len(found) >= limit:
                break
        return found

    # -- consensus ---------------------------------------------------------------------------

    def save_own_statements(self, writes: Sequence[OwnStatements]) -> None:
        """Persist what several statements of this validator need before they are sent, in one
        synced write (the group commit of ``node.outbox``): per slot the latest envelopes
        (the last write for a slot wins), and the tx sets they name, so that after a crash the
        validator never contradicts what it said and can still serve those tx sets to peers
        (peers park our statements until they have them).

        Runs in a worker thread while the event loop goes on (plyvel's DB may be shared between
        threads; the batch is this call's own). All or nothing (``transaction=True``).

        Raises:
            StorageError: the write failed (e.g. disk full); nothing of it was written.
        """
        latest: dict[int, tuple[bytes, ...]] = {}
        try:
            with self._db.write_batch(sync=True, transaction=True) as batch:
                for write in writes:
                    latest[write.slot] = write.envelopes
                    for tx_set in write.tx_sets:  # encoded and hashed once, on the TxSet
                        batch.put(b"ot:" + _U64.pack(write.slot) + tx_set.hash, tx_set.encode())
                for slot, envelopes in latest.items():
                    batch.put(b"o:" + _U64.pack(slot), codec.pack(envelopes))
        except plyvel.Error as exc:
            slots = ", ".join(str(slot) for slot in sorted(latest)) or "?"
            raise StorageError(f"saving consensus state for slot {slots} failed: {exc}") from None

    def own_envelopes(self, min_slot: int) -> dict[int, tuple[bytes, ...]]:
        found = {}
        for key, raw in self._db.iterator(start=b"o:" + _U64.pack(min_slot), stop=prefix_end(b"o:")):
            found[_U64.unpack_from(key, 2)[0]] = tuple(
                codec.unpack(raw, max_size=1 << 20, what="own envelopes")
            )
        return found

    def own_tx_sets(self, slot: int) -> list[bytes]:
        prefix = b"ot:" + _U64.pack(slot)
        return [raw for _, raw in self._db.iterator(prefix=prefix)]

    def prune_own_envelopes(self, below_slot: int) -> None:
        """Forget own statements and tx sets of slots below ``below_slot`` (their ledgers are
        closed). A write of an older slot still on its way (``node.outbox``) may land after
        this; the next prune takes it.

        Raises:
            StorageError: the write failed.
        """
        try:
            with self._db.write_batch() as batch:
                for key in self._db.iterator(
                    start=b"o:", stop=b"o:" + _U64.pack(below_slot), include_value=False
                ):
                    batch.delete(key)
                for key in self._db.iterator(
                    start=b"ot:", stop=b"ot:" + _U64.pack(below_slot), include_value=False
                ):
                    batch.delete(key)
        except plyvel.Error as exc:
            raise StorageError(f"pruning consensus state below slot {below_slot} failed: {exc}") from None

    def save_quorum_set(self, qset_hash: bytes, encoded: bytes) -> None:
        self._db.put(b"q:" + qset_hash, encoded)

    def quorum_set(self, qset_hash: bytes) -> bytes | None:
        value: bytes | None = self._db.get(b"q:" + qset_hash)
        return value
