"""This validator's own SCP statements on their way out: each is written durably first, off the
event loop, then sent, in the order the herder emitted them.

* **Durable before sent.** A validator that restarts must never contradict a statement it
  already sent (voting for another value after a crash breaks SCP's safety), and must still be
  able to serve the tx sets its statements name (peers park a statement until they have them).
  So a statement leaves only once the synced write that holds it (its slot's latest own
  envelopes and those tx sets, ``LedgerStore.save_own_statements``) has completed.
* **Off the event loop.** A synced LevelDB write waits for fsync; on the event loop it blocked
  every other task meanwhile (about 2 % of a validator's samples at 650 tx/s). The write runs in
  a worker thread; the loop goes on receiving, verifying and relaying.
* **Group commit.** One writer task: statements emitted while a write is under way wait for the
  next one, which writes them all in one synced batch. Under load a slot costs a few fsyncs
  instead of one per statement, and the sending order is the emitting order (one batch after
  another, each in order).
* **A failed write sends nothing** of its batch: those statements are *withheld* (logged; never
  served to peers either) until the herder hands them in again (its stuck timer re-sends its
  latest statements) and a write succeeds.
* **Shutdown.** A write under way completes (the thread is never abandoned; the batch is all or
  nothing anyway) and what it holds may go out; statements still waiting are dropped unsent.
"""

from __future__ import annotations

import enum
import logging
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import trio

from node.cpu import CPU, Stage
from node.errors import StorageError
from node.logs import log
from node.storage.store import OwnStatements
from node.wire import SignedEnvelope
from protocol.ledger import TxSet

logger = logging.getLogger("tally.outbox")

MAX_WAITING = 1_000  # statements waiting for a write (a few per slot; bounded if the disk hangs)


class OwnStatementStore(Protocol):
    """Where the outbox writes (``LedgerStore``); called from a worker thread."""

    def save_own_statements(self, writes: Sequence[OwnStatements]) -> None: ...


class Held(enum.Enum):
    """Why one of our own envelopes has not left (yet)."""

    WAITING = "waiting"  # its write is queued or under way
    WITHHELD = "withheld"  # its write failed (or it was dropped unwritten): it must not leave until written


@dataclass(frozen=True, slots=True)
class _Outgoing:
    slot: int
    envelope: SignedEnvelope  # the statement to send once written
    latest: tuple[bytes, ...]  # the slot's latest own envelopes (encoded) when it was emitted
    tx_sets: tuple[TxSet, ...]  # the tx sets it names


class StatementOutbox:
    """Writes this validator's statements durably, then hands them to ``send``, in order.

    ``submit`` is called from the event loop (the herder's ``_emit``); ``run`` is the writer task.
    """

    def __init__(
        self,
        store: OwnStatementStore,
        send: Callable[[SignedEnvelope], None],
        *,
        max_waiting: int = MAX_WAITING,
    ) -> None:
        self._store = store
        self._send = send
        self._max_waiting = max_waiting
        self._waiting: deque[_Outgoing] = deque()
        self._wake = trio.Event()
        self._held: dict[bytes, tuple[int, Held]] = {}  # envelope hash -> (slot, why)
        self._written_tx_sets: set[tuple[int, bytes]] = set()  # (slot, tx set hash) on disk
        self.writes = 0  # synced writes completed (each one batch of statements)

    def submit(
        self, slot: int, envelope: SignedEnvelope, latest: Iterable[bytes], tx_sets: Iterable[TxSet]
    ) -> None:
        """Queue ``envelope`` (a statement of ours for ``slot``) to be sent once written with
        ``latest`` (the slot's latest own envelopes, encoded) and the ``tx_sets`` it names."""
        if len(self._waiting) >= self._max_waiting:  # the disk hangs: never grow without bound
            dropped = self._waiting.popleft()
            self._held[dropped.envelope.hash] = (dropped.slot, Held.WITHHELD)
            log(logger, logging.WARNING, "own statement dropped unsent: writes are behind", slot=dropped.slot)
        self._held[envelope.hash] = (slot, Held.WAITING)
        self._waiting.append(_Outgoing(slot, envelope, tuple(latest), tuple(tx_sets)))
        self._wake.set()

    def held(self, envelope_hash: bytes) -> Held | None:
        """Why an own envelope may not leave now (None: it may; it was written, or is not ours)."""
        found = self._held.get(envelope_hash)
        return None if found is None else found[1]

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def forget_below(self, slot: int) -> None:
        """Drop what is known of slots below ``slot`` (the herder no longer serves them)."""
        self._held = {h: entry for h, entry in self._held.items() if entry[0] >= slot}
        self._written_tx_sets = {k for k in self._written_tx_sets if k[0] >= slot}

    async def run(self) -> None:
        """The writer task: write what waits in one batch, send it, repeat; until cancelled."""
        while True:
            await self._wake.wait()
            self._wake = trio.Event()
            batch = list(self._waiting)
            self._waiting.clear()
            if batch:
                await self._write_and_send(batch)

    async def _write_and_send(self, batch: list[_Outgoing]) -> None:
        writes, fresh = self._writes_for(batch)
        try:
            await trio.to_thread.run_sync(self._write, writes)
        except StorageError as exc:
            for outgoing in batch:
                self._held[outgoing.envelope.hash] = (outgoing.slot, Held.WITHHELD)
            log(
                logger,
                logging.ERROR,
                "cannot persist consensus state; not sending",
                statements=len(batch),
                error=str(exc),
            )
            return
        self.writes += 1
        self._written_tx_sets |= fresh
        for outgoing in batch:
            if self._held.pop(outgoing.envelope.hash, None) is not None:  # None: superseded, forgotten
                self._send(outgoing.envelope)

    def _writes_for(self, batch: list[_Outgoing]) -> tuple[list[OwnStatements], set[tuple[int, bytes]]]:
        """One write per statement, each with the tx sets it names that are not on disk yet nor
        earlier in this batch. Decided here, not at ``submit``: a tx set counts as written only
        once a write holding it succeeded."""
        fresh: set[tuple[int, bytes]] = set()
        writes = []
        for outgoing in batch:
            tx_sets = []
            for tx_set in outgoing.tx_sets:
                key = (outgoing.slot, tx_set.hash)
                if key not in self._written_tx_sets and key not in fresh:
                    fresh.add(key)
                    tx_sets.append(tx_set)
            writes.append(OwnStatements(outgoing.slot, outgoing.latest, tuple(tx_sets)))
        return writes, fresh

    def _write(self, writes: list[OwnStatements]) -> None:
        """The worker-thread part: one synced write batch."""
        with CPU.stage(Stage.STORAGE):
            self._store.save_own_statements(writes)
