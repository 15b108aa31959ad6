"""The chain of closed ledgers on this node, and the transactions waiting to join it.

Both consensus (a value was externalized) and catch-up (a peer sent a ledger with its proof)
end in ``LedgerChain.close``: apply through ``protocol.ledger.close_ledger``, write the ledger in
one synced batch, then tell the mempool and whoever waits for a transaction. Keeping that one
path means a ledger learnt from a peer is checked exactly like one this node voted for.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Sequence

import trio

from node.capacity import Capacity
from node.cpu import CPU, Stage
from node.errors import StorageError
from node.logs import log
from node.mempool import Admission, Mempool
from node.metrics import NodeMetrics
from node.storage.store import LedgerStore
from node.tx_status import TxState, TxStatus
from node.txsets import TxSetCache
from protocol.ledger import ClosedLedger, CloseValue, LedgerHeader, TxSet, close_ledger
from protocol.results import ResultCode
from protocol.transactions import Transaction, TxHeader

logger = logging.getLogger("tally.chain")

KEEP_TX_SETS_LEDGERS = 4  # tx sets built on this many recent ledgers stay available to peers


class LedgerMismatchError(StorageError):
    """A ledger re-applied from a peer's data did not give the header the peer's validators
    signed: the data is wrong (or this node's rules differ); nothing was written."""


class LedgerChain:
    """The closed ledgers (in ``store``), the mempool of transactions waiting for the next one, and
    the recent tx sets.

    Invariants: ``close`` is the only way a ledger is written — one at a time, whole or not at all —
    whether consensus or catch-up brought it; after each close the mempool is re-judged against the
    new state and whoever waits for an included or dropped transaction is woken.
    """

    def __init__(self, store: LedgerStore, metrics: NodeMetrics, capacity: Capacity | None = None) -> None:
        self.store = store
        self.metrics = metrics
        last = store.last_header
        self.mempool = Mempool(
            store,
            last.seq + 1,
            holdings=store.holdings,
            close_time_ms=last.close_time_ms,
            protocol_version=last.version,
            capacity=capacity,
        )
        # Read when metrics are scraped: always the mempool's size (evictions and expiries
        # included), and nothing to update on each admission's hot path.
        metrics.mempool_size.set_function(lambda: len(self.mempool))
        metrics.admission_limit.set_function(lambda: self.mempool.capacity.admission_limit)
        metrics.admission_weighed.set_function(lambda: self.mempool.weighed_waiting)
        metrics.capacity_rate.set_function(lambda: self.mempool.capacity.rate)
        self.tx_sets = TxSetCache()
        self._waiters: dict[bytes, list[trio.Event]] = {}
        self._last_close_s: float | None = None
        self.write_failure: str | None = None  # set while the disk refuses ledgers
        self.closed_event = trio.Event()
        # Admissions in bulk (a peer's tx batch, an API request's transactions) take turns, a chunk
        # per turn: one chunk per pass of the event loop, however many batches and requests are in
        # progress, so the SCP statements that arrive meanwhile wait for one chunk at most
        # (node.peer_service.GOSSIP_WORK_CHUNK, node.api.app.WORK_CHUNK). A close holds the turns
        # while it applies and writes its ledger, which also keeps closes one at a time (``close``).
        self.admission_turns = trio.Lock()
        self._recent_hashes: list[bytes] = [store.last_header.previous_hash, store.last_header.hash]

    @property
    def last(self) -> LedgerHeader:
        return self.store.last_header

    def submit(self, tx: Transaction, source: str | None = None) -> Admission:
        admission = self.mempool.add(tx, source)
        if not admission.accepted and admission.code is not None:
            self.metrics.tx_rejected.labels(admission.code.value).inc()
        return admission

    def refuse_early(self, header: TxHeader, source: str | None = None) -> Admission | None:
        refusal = self.mempool.refuse_early(header, source)
        if refusal is not None and refusal.code is not None:
            self.metrics.tx_rejected.labels(refusal.code.value).inc()
        return refusal

    async def close(
        self, tx_set: TxSet, value: CloseValue, proof: Sequence[bytes], expected_hash: bytes | None = None
    ) -> ClosedLedger | None:
        """Apply ``tx_set`` as the next ledger and write it durably.

        The apply and the synced write run in a worker thread: a ledger of a few thousand
        payments takes 0.1-1 s, and meanwhile the event loop must keep answering peers (SCP
        statements, tx-set requests), or every validator's next slot waits for the slowest
        apply. One close at a time; the thread is never abandoned, so a stop waits for the
        write to finish.

        Returns None when the chain already moved past ``tx_set``'s previous ledger (consensus
        and catch-up can race for the same ledger).

        Raises:
            LedgerMismatchError: ``expected_hash`` was given and the result differs.
            StorageError: the write failed; the chain is unchanged and the node unhealthy.
        """
        # Admissions wait for the close (they hold the turns a piece at a time): admitted meanwhile,
        # a payment was applied to the old pending state and again once the close ended, it took
        # the interpreter from the close's worker thread (every validator's next slot waits for
        # the slowest close), and the API judged it against a pool that still held the set being
        # closed, refusing it as overloaded when the network was keeping up.
        async with self.admission_turns:
            if tx_set.previous_hash != self.last.hash:
                return None
            started = time.perf_counter()
            self.mempool.closing(tx.hash for tx in tx_set.transactions)
            try:
                closed = await trio.to_thread.run_sync(
                    self._apply_and_write, tx_set, value, proof, expected_hash
                )
            except BaseException:
                self.mempool.closing(())  # nothing left the pool
                raise
            self._after_close(closed, tx_set, started)
            return closed

    def _apply_and_write(
        self, tx_set: TxSet, value: CloseValue, proof: Sequence[bytes], expected_hash: bytes | None
    ) -> ClosedLedger:
        """The worker-thread part of ``close``: reads committed state and the mempool's
        signature cache (entries are only removed by the event loop after the close)."""
        with CPU.stage(Stage.LEDGER_APPLY):
            closed = close_ledger(
                self.store, self.store.accumulator, self.last, tx_set, value, self.mempool.signers_for_close
            )
        if expected_hash is not None and closed.header.hash != expected_hash:
            raise LedgerMismatchError(
                f"ledger {closed.header.seq} re-applied locally hashes to {closed.header.hash.hex()[:16]}…, "
                f"the peer's signed header says {expected_hash.hex()[:16]}…"
            )
        try:
            with CPU.stage(Stage.STORAGE):
                self.store.write_ledger(closed, tx_set, proof)
        except StorageError as exc:
            self.metrics.storage_errors.inc()
            self.metrics.healthy.set(0)
            self.write_failure = str(exc)
            raise
        self.write_failure = None
        self.metrics.healthy.set(1)
        return closed

    def _after_close(self, closed: ClosedLedger, tx_set: TxSet, started: float) -> None:
        header = closed.header
        now = time.perf_counter()
        self.metrics.ledger_apply_seconds.observe(now - started)
        if self._last_close_s is not None:
            self.metrics.ledger_close_interval.observe(now - self._last_close_s)
        self._last_close_s = now
        self.metrics.ledger_seq.set(header.seq)
        for code, count in collections.Counter(r.code.value for r in closed.results).items():
            self.metrics.tx_applied.labels(code).inc(count)
        included = {tx.hash for tx in tx_set.transactions}
        dropped = self.mempool.ledger_closed(
            self.store,
            header.seq + 1,
            included,
            close_time_ms=header.close_time_ms,
            protocol_version=header.version,
            changes=closed.changes,
        )
        self._recent_hashes = [*self._recent_hashes[-(KEEP_TX_SETS_LEDGERS - 1) :], header.hash]
        self.tx_sets.keep_only_built_on(set(self._recent_hashes))
        for tx_hash in [*included, *dropped]:
            for event in self._waiters.pop(tx_hash, ()):
                event.set()
        self.closed_event.set()
        self.closed_event = trio.Event()
        log(
            logger,
            logging.INFO,
            "ledger closed",
            seq=header.seq,
            txs=len(tx_set.transactions),
            hash=header.hash.hex()[:16],
            apply_ms=round((now - started) * 1000, 1),
        )

    def tx_status(self, tx_hash: bytes) -> TxStatus:
        """Where a transaction stands. The mempool is asked first: every payment the API admits is
        answered with its status, and a pending one needs no LevelDB read (a miss walks every
        level). A transaction stays in the mempool until its ledger's write has completed, so for a
        moment an applied one still reads as pending; a client asking again sees it applied."""
        if tx_hash in self.mempool:
            return TxStatus("pending")
        location = self.store.tx_location(tx_hash)
        if location is not None:
            status: TxState = "applied" if location.code is ResultCode.OK else "failed"
            return TxStatus(
                status,
                location.code.value,
                location.ledger,
                location.op_index if location.code is not ResultCode.OK else None,
            )
        refused = self.mempool.refused_code(tx_hash)
        if refused is not None:
            return TxStatus("rejected", refused.value)
        return TxStatus("unknown")

    async def wait_for(self, tx_hashes: list[bytes], timeout_s: float) -> None:
        """Return once every transaction left the mempool (applied, failed or dropped), or on timeout."""
        with trio.move_on_after(timeout_s):
            for tx_hash in tx_hashes:
                if tx_hash not in self.mempool:
                    continue
                event = trio.Event()
                self._waiters.setdefault(tx_hash, []).append(event)
                await event.wait()
