"""The mempool: transactions waiting for a ledger, validated against the state they will meet.

Pending transactions are applied, in arrival order, to an overlay of the last closed state, so a
new transaction is checked exactly as the ledger will check it: signatures against the
account's current signers, the next sequence number (counting pending ones), funds and credit
limits after the payer's pending payments, membership. One that would fail is refused at once
with its result code, so the member hears "over credit limit" now rather than a failed ledger
entry later. Transactions with a sequence gap wait (a few per account) until the gap fills.

After each ledger the overlay is rebuilt on the new state; pending transactions that no longer
apply (expired, made invalid by the ledger) are dropped and remembered as refused.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field

from node.refusals import Figures, bad_seq_figures, refusal_figures
from protocol.apply import apply_transaction
from protocol.results import ResultCode
from protocol.state import StateOverlay, StateReader
from protocol.transactions import Transaction

DUPLICATE = "duplicate"
MEMPOOL_FULL = "mempool_full"
TOO_MANY_PENDING = "too_many_pending"
MEMPOOL_CODES = {
    DUPLICATE: "this transaction is already waiting for a ledger",
    MEMPOOL_FULL: "the node holds too many waiting transactions; try again in a few seconds",
    TOO_MANY_PENDING: "this account has too many transactions waiting; wait for a ledger to close",
}


@dataclass(frozen=True, slots=True)
class Admission:
    """The answer to one submitted transaction."""

    accepted: bool
    code: str | None = None  # a ResultCode value or one of MEMPOOL_CODES when refused
    queued: bool = False  # accepted but waiting for an earlier sequence number
    # what the refused transaction met, for the client's message (see node.refusals)
    figures: Mapping[str, int | str] = field(default_factory=dict)


class Mempool:
    def __init__(
        self,
        state: StateReader,
        next_ledger: int,
        *,
        max_total: int = 50_000,
        max_per_account: int = 200,
        max_future_per_account: int = 16,
        remember_refused: int = 20_000,
    ) -> None:
        self._state = state
        self._next_ledger = next_ledger
        self.max_total = max_total
        self.max_per_account = max_per_account
        self.max_future_per_account = max_future_per_account
        self._remember = remember_refused
        self._pending: dict[bytes, Transaction] = {}  # insertion order = arrival order
        self._signers: dict[bytes, frozenset[bytes]] = {}
        self._future: dict[bytes, dict[int, Transaction]] = {}  # account -> seq -> tx
        self._future_hashes: set[bytes] = set()
        self._per_account: dict[bytes, int] = {}
        self._refused: OrderedDict[bytes, str] = OrderedDict()
        self._overlay = StateOverlay(state)

    # -- queries -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._pending) + len(self._future_hashes)

    def __contains__(self, tx_hash: bytes) -> bool:
        return tx_hash in self._pending or tx_hash in self._future_hashes

    def get(self, tx_hash: bytes) -> Transaction | None:
        return self._pending.get(tx_hash)

    def refused_code(self, tx_hash: bytes) -> str | None:
        """Why a recently seen transaction was refused or dropped, if it was."""
        return self._refused.get(tx_hash)

    def pending_sequence(self, account: bytes) -> int:
        """The highest sequence number this account has waiting (0 when none)."""
        return self._overlay.account(account).seq if account in self._per_account else 0

    def signers_of(self, tx: Transaction) -> frozenset[bytes] | None:
        """``tx.signers()``, without verifying again when this very transaction (same
        signatures) was verified on admission: each signature is checked once per node."""
        pending = self._pending.get(tx.hash)
        if pending is not None and pending.signatures == tx.signatures:
            return self._signers[tx.hash]
        return tx.signers()

    def select(self, max_count: int, max_bytes: int) -> list[Transaction]:
        """Transactions for the next tx set, oldest first, within both limits.

        Arrival order keeps each account's transactions in sequence order, so cutting the list
        anywhere leaves every account's chain without gaps.
        """
        chosen: list[Transaction] = []
        size = 0
        for tx in self._pending.values():
            tx_size = len(tx.body_bytes) + 100 * len(tx.signatures)
            if len(chosen) >= max_count or size + tx_size > max_bytes:
                break
            chosen.append(tx)
            size += tx_size
        return chosen

    # -- changes -----------------------------------------------------------------------------

    def add(self, tx: Transaction) -> Admission:
        """Validate ``tx`` against the pending state and keep it if it would apply."""
        if tx.hash in self:
            return Admission(False, DUPLICATE)
        if len(self) >= self.max_total:
            return Admission(False, MEMPOOL_FULL)
        source = tx.body.source
        if self._per_account.get(source, 0) >= self.max_per_account:
            return Admission(False, TOO_MANY_PENDING)
        expected = self._overlay.account(source).seq + 1
        if tx.body.seq < expected:
            return self._refuse(tx, ResultCode.BAD_SEQ.value, bad_seq_figures(expected, tx))
        if tx.body.seq > expected:
            # Checked now, not at promotion: a forged transaction must not squat the sequence
            # number of the account's genuine one (which would then be refused as a duplicate),
            # nor be gossiped on.
            if tx.signers() is None:
                return self._refuse(tx, ResultCode.BAD_AUTH.value)
            return self._queue_future(tx, expected)
        signers = tx.signers()
        if signers is None:
            return self._refuse(tx, ResultCode.BAD_AUTH.value)
        admission = self._try_apply(tx, signers)
        if admission.accepted:
            self._promote_future(source)
        return admission

    def ledger_closed(self, state: StateReader, next_ledger: int, included: set[bytes]) -> list[bytes]:
        """Forget what the ledger included; re-check the rest against the new state.

        Returns the hashes of transactions dropped because they no longer apply.
        """
        self._state = state
        self._next_ledger = next_ledger
        self._overlay = StateOverlay(state)
        survivors = [tx for h, tx in self._pending.items() if h not in included]
        signers = self._signers
        self._pending, self._signers, self._per_account = {}, {}, {}
        dropped = []
        for tx in survivors:
            if (
                tx.body.seq != self._overlay.account(tx.body.source).seq + 1
                or not self._try_apply(tx, signers[tx.hash]).accepted
            ):
                dropped.append(tx.hash)
                self._remember_refusal(tx.hash, self._refused.get(tx.hash, ResultCode.BAD_SEQ.value))
        for account in list(self._future):
            self._promote_future(account)
        return dropped

    # -- internals ---------------------------------------------------------------------------

    def _try_apply(self, tx: Transaction, signers: frozenset[bytes]) -> Admission:
        scope = self._overlay.nested()
        result = apply_transaction(scope, tx, ledger_seq=self._next_ledger, signers=signers)
        if result.code is not ResultCode.OK:
            figures = refusal_figures(
                self._overlay, tx, result, ledger_seq=self._next_ledger, signers=signers
            )
            return self._refuse(tx, result.code.value, figures)
        scope.commit()
        self._pending[tx.hash] = tx
        self._signers[tx.hash] = signers
        self._per_account[tx.body.source] = self._per_account.get(tx.body.source, 0) + 1
        return Admission(True)

    def _queue_future(self, tx: Transaction, expected: int) -> Admission:
        queue = self._future.setdefault(tx.body.source, {})
        if tx.body.seq > expected + self.max_future_per_account or len(queue) >= self.max_future_per_account:
            if not queue:
                del self._future[tx.body.source]
            return self._refuse(tx, ResultCode.BAD_SEQ.value, bad_seq_figures(expected, tx))
        if tx.body.seq in queue:
            return Admission(False, DUPLICATE)
        queue[tx.body.seq] = tx
        self._future_hashes.add(tx.hash)
        return Admission(True, queued=True)

    def _promote_future(self, account: bytes) -> None:
        queue = self._future.get(account)
        while queue:
            expected = self._overlay.account(account).seq + 1
            for seq in [s for s in queue if s < expected]:
                self._future_hashes.discard(queue.pop(seq).hash)
            tx = queue.pop(expected, None)
            if tx is None:
                break
            self._future_hashes.discard(tx.hash)
            signers = tx.signers()
            if signers is None:
                self._remember_refusal(tx.hash, ResultCode.BAD_AUTH.value)
                continue
            self._try_apply(tx, signers)
        if not queue:
            self._future.pop(account, None)

    def _refuse(self, tx: Transaction, code: str, figures: Figures | None = None) -> Admission:
        self._remember_refusal(tx.hash, code)
        return Admission(False, code, figures=figures or {})

    def _remember_refusal(self, tx_hash: bytes, code: str) -> None:
        self._refused[tx_hash] = code
        self._refused.move_to_end(tx_hash)
        while len(self._refused) > self._remember:
            self._refused.popitem(last=False)
