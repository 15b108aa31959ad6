"""A fake node whose accepted transactions wait for a ledger, as the real mempool's do: for the
wallet's batch tests (``tally send-batch``), which must cope with what the real node does to many
transactions of one account.

On top of ``FakeNode`` (real rules, applied at once to the state): an accepted transaction stays
``pending`` until a ledger closes (the API's ``?wait=`` closes one, as a real network would
within the wait, and so does the sender's fake clock when it sleeps); at most ``max_pending`` of one account wait at once (``too_many_pending``);
one ahead of its account's next sequence number is *queued* (up to 4, contiguous; status
``pending``) and applies when the gap fills, or is dropped ``expired`` after 60 s of the fake
clock; ``busy_after`` makes the node refuse everything as ``overloaded`` once that many
transactions were accepted, for one request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from wallet_fake_node import FakeNode

from node.mempool import DUPLICATE, OVERLOADED, TOO_FAR_AHEAD, TOO_MANY_PENDING, Admission, MempoolRefusal
from node.tx_status import TxStatus
from protocol.transactions import Transaction

QUEUE_WINDOW = 4
QUEUED_MAX_AGE_S = 60.0


@dataclass
class FakeClock:
    """The batch sender's clock; the network closes a ledger whenever it sleeps."""

    now: float = 0.0
    slept: list[float] = field(default_factory=list)
    on_sleep: list[Callable[[], None]] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        for callback in self.on_sleep:
            callback()

    def clock(self) -> float:
        return self.now


class LedgerFakeNode(FakeNode):
    def __init__(self, clock: FakeClock, *, max_pending: int = 200) -> None:
        super().__init__()
        self.clock = clock
        clock.on_sleep.append(self.close_ledger)
        self.max_pending = max_pending
        self.queued_max_age_s = QUEUED_MAX_AGE_S
        self.busy_after: int | None = None
        self.requests: list[int] = []  # transactions per submit call (one per request up to 100)
        self.waits = 0  # ledgers closed by a request's ?wait=
        self.pending: dict[bytes, Transaction] = {}
        self.queued: dict[tuple[bytes, int], tuple[Transaction, float]] = {}
        self.refused: dict[bytes, MempoolRefusal] = {}
        self.accepted = 0

    def submit(self, transactions: list[Transaction], source: str | None = None) -> list[Admission]:
        self.requests.append(len(transactions))
        answers = []
        for tx in transactions:
            busy = self.busy_after is not None and self.accepted >= self.busy_after
            answers.append(self._admit(tx, busy))
        if busy:
            self.busy_after = None  # busy for the rest of this one request
        return answers

    def _admit(self, tx: Transaction, busy: bool) -> Admission:
        self._expire()
        account, seq = tx.body.source, tx.body.seq
        if tx.hash in self.statuses or any(tx.hash == t.hash for t, _ in self.queued.values()):
            return Admission(False, DUPLICATE)
        if busy:
            return self._refuse(tx, OVERLOADED, {"retry_after_s": 2})
        expected = self._account_seq(account) + 1
        if seq > expected:
            run = sorted(s for a, s in self.queued if a == account)
            if seq > expected + QUEUE_WINDOW or (run and seq != run[-1] + 1):
                return self._refuse(tx, TOO_FAR_AHEAD)
            self.queued[account, seq] = (tx, self.clock.now)
            self.refused.pop(tx.hash, None)
            self.accepted += 1
            return Admission(True, queued=True)
        if sum(t.body.source == account for t in self.pending.values()) >= self.max_pending:
            return self._refuse(tx, TOO_MANY_PENDING)
        admission = self._apply(tx)
        self._promote(account)
        return admission

    def _apply(self, tx: Transaction) -> Admission:
        (admission,) = super().submit([tx])
        if admission.accepted:
            self.refused.pop(tx.hash, None)  # refused when the node was busy, accepted now
            self.accepted += 1
            self.pending[tx.hash] = tx
            self.statuses[tx.hash] = TxStatus("pending")
        return admission

    def _promote(self, account: bytes) -> None:
        while (entry := self.queued.pop((account, self._account_seq(account) + 1), None)) is not None:
            self._apply(entry[0])

    def _refuse(
        self, tx: Transaction, code: MempoolRefusal, figures: dict[str, int] | None = None
    ) -> Admission:
        self.refused[tx.hash] = code
        return Admission(False, code, figures=figures or {})

    def _account_seq(self, account: bytes) -> int:
        return self.account_state(account)[0].seq

    def _expire(self) -> None:
        for key, (tx, arrived) in list(self.queued.items()):
            if self.clock.now - arrived > self.queued_max_age_s:
                del self.queued[key]
                self.refused[tx.hash] = MempoolRefusal.EXPIRED

    def close_ledger(self) -> None:
        self.ledger_seq += 1
        for tx_hash in self.pending:
            self.statuses[tx_hash] = TxStatus("applied", "ok", self.ledger_seq, -1)
        self.pending.clear()

    async def wait_for(self, tx_hashes: list[bytes], timeout_s: float) -> None:
        self.waits += 1
        self.close_ledger()

    def tx_status(self, tx_hash: bytes) -> TxStatus:
        self._expire()
        if any(tx.hash == tx_hash for tx, _ in self.queued.values()):
            return TxStatus("pending")
        if tx_hash in self.refused:
            return TxStatus("rejected", self.refused[tx_hash].value)
        return super().tx_status(tx_hash)
