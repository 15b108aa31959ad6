"""Submitting many signed transactions of one account, in order, in as few requests as the node
allows, and telling honestly what became of each (``tally send-batch``).

The transactions carry consecutive sequence numbers, so each one needs the one before it:

* **Requests.** At most ``PER_REQUEST`` go in one ``POST /tx``: the node keeps at most that many
  of one account waiting for a ledger (its mempool's per-account allowance, 200 by default;
  the API itself takes up to 2,000 per request). When more follow, the request waits for a
  ledger to apply what it sent before the next one goes.
* **A busy node** (``overloaded``, ``too_many_pending``, …: ``BUSY``) refused work it may take
  later: the same signed transactions are sent again from the first refused one, after the
  node's ``retry_after_s`` (at most ``MAX_PAUSE_S``), until no progress for ``timeout_s``.
  Sending a signed transaction twice is harmless (same hash: ``duplicate``, never a second
  payment).
* **A refusal by the ledger's rules stops the batch.** The later transactions cannot apply
  without its sequence number; the node may still hold a few of them (queued behind it, until
  they expire, about a minute). A re-run signs the remaining payments afresh from the refused
  sequence number on, so a held one would then apply *and* its re-signed copy: a payment twice.
  The sender therefore waits (up to ``HELD_WAIT_S``) until the node has dropped them, and
  reports any it still holds as ``held``.

Imports neither ``node`` nor ``consensus``: the node is reached over HTTP (``NodeClient``).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from protocol.transactions import Transaction
from wallet.client import NodeClient
from wallet.errors import WalletError
from wallet.views import TxResultView

PER_REQUEST = 200  # the node's default allowance of waiting transactions per account
MAX_WAIT_S = 60.0  # the API waits at most this long for a ledger
MAX_PAUSE_S = 5.0  # never pause longer than this before sending again to a busy node
HELD_WAIT_S = 75.0  # the node drops a queued transaction after 60 s; a ledger or two more
POLL_S = 2.0  # between two looks at held transactions
BUSY = frozenset(
    {"overloaded", "too_many_pending", "mempool_full", "source_quota", "newcomers_busy", "evicted"}
)
DUPLICATE = "duplicate"  # the node already holds this very transaction


class RowStatus(enum.StrEnum):
    """What became of one payment of a batch (the ``status`` of ``--json`` rows)."""

    CHECKED = "checked"  # --dry-run: read and resolved; neither signed nor sent
    APPLIED = "applied"  # in a ledger
    PENDING = "pending"  # accepted by the node, waiting for a ledger
    FAILED = "failed"  # in a ledger, but it failed there (it used its sequence number)
    REFUSED = "refused"  # refused by the node: the batch stopped here
    SKIPPED = "skipped"  # not applied because an earlier payment was refused (or the node went away)
    HELD = "held"  # still held by the node behind the refused one: do not re-run it yet
    UNKNOWN = "unknown"  # sent, but the node's answer was lost


@dataclass(frozen=True, slots=True)
class Pacing:
    """How the sender waits; tests pass a fake clock."""

    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


@dataclass
class BatchOutcome:
    """Per transaction, its status and the node's last answer about it (None: never sent)."""

    statuses: list[RowStatus]
    answers: list[TxResultView | None]
    refused_at: int | None = None  # index of the transaction the batch stopped at
    error: WalletError | None = None  # the node became unreachable (or answered an error) mid-way


@dataclass
class BatchSender:
    """Sends one account's signed, consecutively numbered transactions (see the module's doc).

    ``wait``: wait for a ledger to include the last request's transactions too (the earlier
    requests always wait when more follow). ``progress`` receives lines for people.
    """

    client: NodeClient
    wait: bool = False
    timeout_s: float = 30.0
    per_request: int = PER_REQUEST
    pacing: Pacing = field(default_factory=Pacing)
    progress: Callable[[str], None] = lambda line: None

    def send(self, txs: Sequence[Transaction]) -> BatchOutcome:
        answers: list[TxResultView | None] = [None] * len(txs)
        outcome = BatchOutcome([RowStatus.SKIPPED] * len(txs), answers)
        start, stalled_since = 0, self.pacing.clock()
        while start < len(txs):
            end = min(len(txs), start + self.per_request)
            wait_s = self._wait_s(more=end < len(txs))
            if wait_s or start:
                waiting = ", waiting for their ledger" if wait_s else ""
                self.progress(f"sending payments {start + 1} to {end} of {len(txs)}{waiting}")
            try:
                got = self.client.submit_many(txs[start:end], wait_s=wait_s)
            except WalletError as exc:
                outcome.error = exc
                outcome.statuses[start:end] = [RowStatus.UNKNOWN] * (end - start)
                break
            answers[start:end] = [_held_means_pending(answer) for answer in got]
            first_refused = next((i for i in range(start, end) if _refused(answers[i])), None)
            if first_refused is None:
                start, stalled_since = end, self.pacing.clock()
                continue
            refusal = answers[first_refused]
            assert refusal is not None
            if first_refused > start:
                stalled_since = self.pacing.clock()
            if refusal.code in BUSY and self.pacing.clock() - stalled_since < self.timeout_s:
                self._pause(refusal, first_refused)
                start = first_refused
                continue
            outcome.refused_at = first_refused
            self._wait_for_held(outcome, txs, first_refused + 1, end)
            break
        if self.wait and outcome.error is None:
            self._look_again(outcome, txs)
        _classify(outcome)
        return outcome

    def _look_again(self, outcome: BatchOutcome, txs: Sequence[Transaction]) -> None:
        """With ``wait``: the status now of those still pending when their request was answered
        (sent again after a busy moment, the node already held them: it did not wait for them)."""
        stop = len(txs) if outcome.refused_at is None else outcome.refused_at
        try:
            for i in range(stop):
                if _still_held(outcome.answers[i]):
                    outcome.answers[i] = self.client.tx_status(txs[i].hash.hex())
        except WalletError as exc:
            outcome.error = exc

    def _wait_s(self, *, more: bool) -> float:
        return min(max(self.timeout_s, 0.1), MAX_WAIT_S) if (self.wait or more) else 0.0

    def _pause(self, refusal: TxResultView, index: int) -> None:
        pause = min(MAX_PAUSE_S, float(refusal.figures.retry_after_s or 1))
        self.progress(
            f"the node is busy ({refusal.code}): sending again from payment {index + 1} in {pause:g} s"
        )
        self.pacing.sleep(pause)

    def _wait_for_held(self, outcome: BatchOutcome, txs: Sequence[Transaction], first: int, end: int) -> None:
        """Wait until the node let go of the transactions it accepted after the refused one."""
        answers = outcome.answers
        held = [i for i in range(first, end) if _still_held(answers[i])]
        if not held:
            return
        self.progress(
            f"payment {first} was refused; the node holds {len(held)} later one(s) until they expire "
            f"(about a minute): waiting for that, so a re-run cannot pay them twice"
        )
        deadline = self.pacing.clock() + HELD_WAIT_S
        while held and self.pacing.clock() < deadline:
            self.pacing.sleep(POLL_S)
            try:
                for i in held:
                    answers[i] = self.client.tx_status(txs[i].hash.hex())
            except WalletError as exc:
                outcome.error = exc
                return
            held = [i for i in held if _still_held(answers[i])]


def _classify(outcome: BatchOutcome) -> None:
    stop = outcome.refused_at
    for i, answer in enumerate(outcome.answers):
        if outcome.statuses[i] is RowStatus.UNKNOWN or answer is None:
            continue
        if i == stop:
            outcome.statuses[i] = RowStatus.REFUSED
        elif stop is not None and i > stop:
            held = _still_held(answer)
            applied = answer.status == "applied"
            outcome.statuses[i] = (
                RowStatus.HELD if held else RowStatus.APPLIED if applied else RowStatus.SKIPPED
            )
        else:
            outcome.statuses[i] = _ACCEPTED[answer.status]


_ACCEPTED = {
    "applied": RowStatus.APPLIED,
    "pending": RowStatus.PENDING,
    "failed": RowStatus.FAILED,
    "rejected": RowStatus.REFUSED,
    "unknown": RowStatus.UNKNOWN,
}


def _refused(answer: TxResultView | None) -> bool:
    return answer is not None and answer.status == "rejected"


def _still_held(answer: TxResultView | None) -> bool:
    return answer is not None and answer.status == "pending"


def _held_means_pending(answer: TxResultView) -> TxResultView:
    """``duplicate``: the node already holds this very transaction (sent again after a busy
    moment), which is what being accepted means."""
    if answer.code == DUPLICATE:
        return replace(answer, status="pending", code=None, explanation=None)
    return answer
