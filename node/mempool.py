"""The mempool: transactions waiting for a ledger, validated against the state they will meet, and
shared fairly on a ledger without fees.

Pending transactions are applied, in arrival order, to an overlay of the last closed state, so a
new transaction is checked exactly as the ledger will check it: signatures against the
account's current signers, the next sequence number (counting pending ones), funds and credit
limits after the payer's pending payments, membership. One that would fail is refused at once
with its result code, so the member hears "over credit limit" now rather than a failed ledger
entry later.

Nothing prices spam here, so room is shared by *standing* (``node.standing``) and by source:
newcomer keys (nothing on the ledger) get a small share, a small per-account allowance and a
node-wide budget of checks per second, and are never queued ahead of their sequence; accounts
on the ledger may queue a short contiguous run ahead, which expires with its
``last_valid_ledger`` and with age; when the pool is full a transaction evicts only ones of lower
standing. README's Security section is the design; ``MempoolLimits`` holds its numbers.

After each ledger the overlay is rebuilt on the new state; pending transactions that no longer
apply (expired, made invalid by the ledger) are dropped and remembered as refused.
"""

from __future__ import annotations

import enum
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from node.capacity import Capacity, PeersUnseen
from node.cpu import CPU, Stage
from node.ratelimit import RateLimiter
from node.refusals import Figures, bad_seq_figures, refusal_figures
from node.signatures import VerifiedSignatures
from node.standing import HoldingsOf, Standing, StandingJudge
from node.waiting import Waiting, WaitingTx
from protocol.apply import apply_transaction
from protocol.context import LedgerContext
from protocol.results import ResultCode
from protocol.state import Change, StateOverlay, StateReader
from protocol.transactions import Transaction, TxHeader
from protocol.versions import PROTOCOL_V1


class MempoolRefusal(enum.StrEnum):
    """Why the mempool refused or dropped a transaction that the ledger's rules would not refuse
    (those are ``ResultCode``s); the value is the stable code the API shows."""

    DUPLICATE = "duplicate"
    MEMPOOL_FULL = "mempool_full"
    TOO_MANY_PENDING = "too_many_pending"
    TOO_FAR_AHEAD = "too_far_ahead"
    NEWCOMERS_BUSY = "newcomers_busy"
    SOURCE_QUOTA = "source_quota"
    EVICTED = "evicted"
    EXPIRED = "expired"
    OVERLOADED = "overloaded"


RefusalCode = ResultCode | MempoolRefusal  # why a transaction was refused (Admission.code)
DUPLICATE = MempoolRefusal.DUPLICATE
MEMPOOL_FULL = MempoolRefusal.MEMPOOL_FULL
TOO_MANY_PENDING = MempoolRefusal.TOO_MANY_PENDING
TOO_FAR_AHEAD = MempoolRefusal.TOO_FAR_AHEAD
NEWCOMERS_BUSY = MempoolRefusal.NEWCOMERS_BUSY
SOURCE_QUOTA = MempoolRefusal.SOURCE_QUOTA
EVICTED = MempoolRefusal.EVICTED
EXPIRED = MempoolRefusal.EXPIRED
OVERLOADED = MempoolRefusal.OVERLOADED
MEMPOOL_CODES: dict[str, str] = {
    DUPLICATE: "this transaction is already waiting for a ledger",
    MEMPOOL_FULL: "the node holds too many waiting transactions; try again in a few seconds",
    TOO_MANY_PENDING: "this account has too many transactions waiting; wait for a ledger to close",
    TOO_FAR_AHEAD: (
        "the sequence number is too far ahead of the account's next one, or leaves a hole among the "
        "transactions already waiting; send the earlier ones first"
    ),
    NEWCOMERS_BUSY: (
        "the node's room for accounts that are not on the ledger yet is full; try again in a few "
        "seconds (members of a currency are not affected)"
    ),
    SOURCE_QUOTA: "too many transactions from your address are waiting; wait for a ledger to close",
    EVICTED: (
        "dropped to make room for transactions from accounts with standing; submit it again after "
        "the next ledger"
    ),
    EXPIRED: "it waited too long for the account's earlier transactions; submit them first",
    OVERLOADED: (
        "the network is closing as many transactions as it can; submit it again after the time in "
        "figures.retry_after_s (the Retry-After header)"
    ),
}
MAX_PREPAID = 10_000  # first looks whose budget check awaits their full look
BAD_SEQ = ResultCode.BAD_SEQ
BAD_AUTH = ResultCode.BAD_AUTH
TOO_LATE = ResultCode.TOO_LATE


@dataclass(frozen=True, slots=True)
class Admission:
    """The answer to one submitted transaction."""

    accepted: bool
    code: RefusalCode | None = None  # why it was refused (None when accepted)
    queued: bool = False  # accepted but waiting for an earlier sequence number
    # what the refused transaction met, for the client's message (see node.refusals)
    figures: Mapping[str, int | str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MempoolLimits:
    """The numbers of the fair-admission design (README, Security)."""

    max_total: int = 50_000
    max_per_account: int = 200  # pending, for accounts on the ledger
    max_per_newcomer: int = 16  # pending, for keys with nothing on the ledger
    newcomer_share: float = 0.10  # of max_total, all newcomers together
    newcomer_rate: float = 50.0  # newcomers' transactions checked per second, node-wide
    newcomer_burst: float = 200.0
    queue_window: int = 4  # queued-ahead transactions per account, contiguous
    queued_share: float = 0.10  # of max_total, all queued-ahead transactions together
    queued_max_age_s: float = 60.0
    max_per_source: int = 10_000  # waiting transactions per API client address
    remember_refused: int = 20_000


class Mempool:
    def __init__(
        self,
        state: StateReader,
        next_ledger: int,
        *,
        limits: MempoolLimits | None = None,
        holdings: HoldingsOf | None = None,
        clock: Callable[[], float] = time.monotonic,
        close_time_ms: int = 0,
        protocol_version: int = PROTOCOL_V1,
        capacity: Capacity | None = None,
    ) -> None:
        self.limits = limits or MempoolLimits()
        self.capacity = capacity or Capacity()  # the API's admission limit (node.capacity)
        self._state = state
        self._next_ledger = next_ledger
        # the last ledger's close time and version: transactions are judged as the next ledger
        # will apply them (its close time is later, so a deadline may pass meanwhile)
        self._ledger = LedgerContext(next_ledger, close_time_ms, protocol_version)
        self._clock = clock
        self._standing = StandingJudge(state, holdings)
        self._signatures = VerifiedSignatures()  # each signature checked once (node.signatures)
        self._newcomer_checks = RateLimiter(
            self.limits.newcomer_rate, self.limits.newcomer_burst, max_clients=1, clock=clock
        )
        self._waiting = Waiting()
        self._overlay = StateOverlay(state)
        self._promoted: list[Transaction] = []  # became pending since take_promoted()
        # evicted or expired since the last ledger (their waiters wake at the next close)
        self._left: deque[bytes] = deque(maxlen=self.limits.max_total)
        self._evicted_from: dict[bytes, int] = {}  # account -> lowest evicted seq, until a ledger
        self._refused: OrderedDict[bytes, RefusalCode] = OrderedDict()
        self._prepaid: OrderedDict[bytes, None] = OrderedDict()  # budget spent by refuse_early
        self._being_closed = 0  # pending transactions in the ledger being applied and written
        self._unseen = PeersUnseen()  # peers' admissions still on their way here

    # -- queries -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._waiting)

    @property
    def pending_count(self) -> int:
        """Transactions that apply now (the next tx set's candidates), queued-ahead ones aside."""
        return len(self._waiting.pending)

    @property
    def awaiting_a_ledger(self) -> int:
        """Pending transactions that no ledger being closed holds: the work the API's admission
        limit weighs (``node.capacity``)."""
        return len(self._waiting.pending) - self._being_closed

    @property
    def weighed_waiting(self) -> int:
        """The work the API's admission limit weighs: what awaits a ledger here, and what the
        peers' APIs admitted that their gossip has not brought yet (``PeersUnseen``)."""
        return self.awaiting_a_ledger + self._unseen.estimate

    def __contains__(self, tx_hash: bytes) -> bool:
        return tx_hash in self._waiting

    def get(self, tx_hash: bytes) -> Transaction | None:
        entry = self._waiting.pending.get(tx_hash)
        return None if entry is None else entry.tx

    def refused_code(self, tx_hash: bytes) -> RefusalCode | None:
        """Why a recently seen transaction was refused or dropped, if it was."""
        return self._refused.get(tx_hash)

    def pending_sequence(self, account: bytes) -> int:
        """The highest sequence number this account has pending (0 when none)."""
        if not self._waiting.pending_count(account):
            return 0
        seq = self._overlay.account(account).seq
        evicted = self._evicted_from.get(account)
        return seq if evicted is None else min(seq, evicted - 1)

    def signers_of(self, tx: Transaction) -> frozenset[bytes] | None:
        """``tx.signers()``, without verifying again when this very transaction (same
        signatures) was verified before (on admission, in a fetched tx set, refused as
        ``bad_auth``): each signature is checked once per node. Event loop only."""
        entry = self._waiting.pending.get(tx.hash)
        if entry is not None and entry.signers is not None and entry.tx.signatures == tx.signatures:
            return entry.signers
        return self._signatures.signers(tx)

    def signers_for_close(self, tx: Transaction) -> frozenset[bytes] | None:
        """``signers_of`` for the ledger's worker thread: reads what the event loop verified,
        checks the rest itself, and changes nothing."""
        entry = self._waiting.pending.get(tx.hash)
        if entry is not None and entry.signers is not None and entry.tx.signatures == tx.signatures:
            return entry.signers
        return self._signatures.lookup(tx)

    def select(self, max_count: int, max_bytes: int) -> list[Transaction]:
        """Transactions for the next tx set, within both limits: members first, then accounts,
        then newcomers; within each, every account's first transaction before anyone's second,
        then by arrival.

        Each account's transactions keep their sequence order, so cutting the list anywhere leaves
        every account's chain without gaps.
        """
        chosen: list[Transaction] = []
        size = 0
        for entry in self._waiting.pending_in_service_order():
            tx_size = len(entry.tx.body_bytes) + 100 * len(entry.tx.signatures)
            if len(chosen) >= max_count or size + tx_size > max_bytes:
                break
            chosen.append(entry.tx)
            size += tx_size
        return chosen

    def closing(self, tx_hashes: Iterable[bytes]) -> None:
        """A ledger holding ``tx_hashes`` is being applied and written (until ``ledger_closed``, or
        ``closing(())`` when the write failed). Its pending transactions stay here until then, but
        no longer count against the admission limit: weighed with them, the pool looked full just
        before every close while the network was keeping up, and payments were refused as
        overloaded at rates it sustained."""
        pending = self._waiting.pending
        self._being_closed = sum(1 for tx_hash in tx_hashes if tx_hash in pending)
        self._unseen.room_opened()

    def take_promoted(self) -> list[Transaction]:
        """Queued transactions that became pending since the last call: the node gossips them
        now (a queued-ahead transaction is never gossiped before it applies)."""
        promoted, self._promoted = self._promoted, []
        return promoted

    # -- changes -----------------------------------------------------------------------------

    def add(self, tx: Transaction, source: str | None = None) -> Admission:
        """Validate ``tx`` against the pending state and keep it if it would apply (or queue it
        when it is a little ahead of its account's sequence). ``source`` is the API client's
        address (None for gossip from peers), for the per-source quota.

        Cheap checks come first and the signature check last, so a flood of junk costs little.
        """
        self._expire_queued(self._clock())
        looked = self._first_look(tx.hash, tx.body.source, tx.body.seq, source)
        if isinstance(looked, Admission):
            return looked
        standing, expected = looked
        entry = WaitingTx(tx, standing, source, self._clock())
        if tx.body.seq > expected:
            return self._queue(entry, expected)
        return self._admit_pending(entry)

    def refuse_early(self, header: TxHeader, source: str | None = None) -> Admission | None:
        """The refusal ``add`` would give, judged on a transaction's first look (hash, source,
        sequence) before the node spends a full decode on it; None when ``add`` must decide.

        A newcomer's transaction that gets through spends its check of the newcomers' budget
        here (``add`` then does not spend it again), so the many transactions of one request
        are held to the budget before any of them is decoded."""
        looked = self._first_look(header.hash, header.source, header.seq, source)
        if isinstance(looked, Admission):
            return None if looked.code == DUPLICATE else looked
        standing, expected = looked
        if standing is Standing.NEWCOMER and header.seq == expected:
            if header.hash in self._prepaid:
                return None
            refusal = self._newcomer_refusal(header.source)
            if refusal is not None:
                return self._refuse(header.hash, refusal)
            self._prepaid[header.hash] = None
            while len(self._prepaid) > MAX_PREPAID:
                self._prepaid.popitem(last=False)
        return None

    def ledger_closed(
        self,
        state: StateReader,
        next_ledger: int,
        included: set[bytes],
        *,
        close_time_ms: int = 0,
        protocol_version: int = PROTOCOL_V1,
        changes: Iterable[Change] | None = None,
    ) -> list[bytes]:
        """Forget what the ledger included; re-check the rest against the new state (standing
        follows the entries the ledger wrote, ``changes``; None judges everyone afresh), expire
        queued transactions, promote what now applies.

        Returns the hashes of transactions that left without being included: dropped because
        they no longer apply, or evicted or expired since the previous ledger.
        """
        self._state = state
        self._next_ledger = next_ledger
        self._being_closed = 0
        self._ledger = LedgerContext(next_ledger, close_time_ms, protocol_version)
        self._overlay = StateOverlay(state)
        self._standing.ledger_closed(state, changes)
        self._signatures.forget(included)
        self._evicted_from.clear()
        old, self._waiting = self._waiting, Waiting()
        dropped = list(self._left)
        self._left.clear()
        for entry in old.pending.values():
            if entry.tx.hash in included:
                continue
            entry = entry.rejudged(self._standing(entry.tx.body.source))
            expected = self._overlay.account(entry.tx.body.source).seq + 1
            if entry.tx.body.seq != expected or not self._try_apply(entry).accepted:
                dropped.append(entry.tx.hash)
                self._remember_refusal(entry.tx.hash, self._refused.get(entry.tx.hash, BAD_SEQ))
        now = self._clock()
        for entry in old.queued.values():
            if entry.tx.hash in included:
                continue
            if entry.tx.body.last_valid_ledger < next_ledger or self._too_old(entry, now):
                dropped.append(entry.tx.hash)
                self._remember_refusal(entry.tx.hash, TOO_LATE if not self._too_old(entry, now) else EXPIRED)
                continue
            self._waiting.add_queued(entry.rejudged(self._standing(entry.tx.body.source)))
        for account in self._waiting.queued_accounts():
            self._promote(account)
        return dropped

    # -- internals ---------------------------------------------------------------------------

    def _first_look(
        self, tx_hash: bytes, account: bytes, seq: int, source: str | None
    ) -> Admission | tuple[Standing, int]:
        """The checks that need no more than a transaction's hash, source and sequence number:
        a refusal, or the account's standing and next sequence number."""
        if tx_hash in self._waiting:
            return Admission(False, DUPLICATE)
        if source is not None and self._waiting.per_source(source) >= self.limits.max_per_source:
            return self._refuse(tx_hash, SOURCE_QUOTA)
        if account in self._evicted_from:
            return self._refuse(tx_hash, EVICTED)
        expected = self._overlay.account(account).seq + 1
        if seq < expected:
            return self._refuse(tx_hash, BAD_SEQ, bad_seq_figures(expected, seq))
        standing = self._standing(account)
        if standing is Standing.NEWCOMER and seq > expected:
            # a key with nothing on the ledger is never queued ahead: it can only use its next number
            return self._refuse(tx_hash, BAD_SEQ, bad_seq_figures(expected, seq))
        unblocks = seq == expected and bool(self._waiting.queued_seqs(account))  # admitted work waits on it
        if source is not None and not unblocks and self._over_capacity(standing, source):
            self.capacity.refused()
            retry: Figures = {"retry_after_s": math.ceil(self.capacity.retry_after_s)}
            return self._refuse(tx_hash, OVERLOADED, retry)
        return standing, expected

    def _over_capacity(self, standing: Standing, source: str) -> bool:
        """Whether the API must refuse more work now (``node.capacity``): the mempool holds what
        the network closes in ``depth_s``, half an interval (pending transactions that no ledger
        being closed holds: a queued-ahead one waits for its account, not for room; and what the
        peers' APIs admitted that has not reached this node yet, ``PeersUnseen``). The excess is
        refused, never a higher standing's transaction (it takes a lower one's place instead), and
        as the pool fills, a client address holding more than its share of the room is refused
        before the others."""
        limit = self.capacity.admission_limit
        waiting = self.weighed_waiting
        if waiting >= limit:
            return self._waiting.victim(below=standing, pending_only=True) is None
        if 2 * waiting >= limit:
            return self._waiting.per_source(source) >= limit // max(1, self._waiting.source_count())
        return False

    def _newcomer_refusal(self, account: bytes, *, spend: bool = True) -> MempoolRefusal | None:
        """Why a newcomer's transaction at its next sequence number is refused, if it is: its own
        allowance, the newcomers' share of the pool, or their budget of checks (one is spent for
        a transaction that gets through, unless its first look spent it already)."""
        limits = self.limits
        if self._waiting.pending_count(account) >= limits.max_per_newcomer:
            return TOO_MANY_PENDING
        if self._waiting.newcomers >= limits.max_total * limits.newcomer_share:
            return NEWCOMERS_BUSY
        if spend and not self._newcomer_checks.allow("newcomers"):
            return NEWCOMERS_BUSY
        return None

    def _admit_pending(self, entry: WaitingTx) -> Admission:
        account = entry.tx.body.source
        if entry.standing is Standing.NEWCOMER:
            prepaid = entry.tx.hash in self._prepaid
            self._prepaid.pop(entry.tx.hash, None)
            refusal = self._newcomer_refusal(account, spend=not prepaid)
            if refusal is not None:
                return self._refuse(entry.tx.hash, refusal)
        elif self._waiting.pending_count(account) >= self.limits.max_per_account:
            return self._refuse(entry.tx.hash, TOO_MANY_PENDING)
        limits = self.limits
        if len(self._waiting) >= limits.max_total and self._waiting.victim(below=entry.standing) is None:
            return self._refuse(entry.tx.hash, MEMPOOL_FULL)
        signers = self._signatures.signers(entry.tx)
        if signers is None:
            return self._refuse(entry.tx.hash, BAD_AUTH)
        admission = self._try_apply(entry.with_signers(signers), make_room=True)
        if admission.accepted:
            self._unseen.admitted(from_api=entry.source is not None)
            self._promote(account)
        return admission

    def _queue(self, entry: WaitingTx, expected: int) -> Admission:
        """Keep a transaction ahead of its account's next sequence number, within the rules:
        accounts on the ledger only, a contiguous run at most ``queue_window`` ahead, the queued
        share of the pool. It is checked now (signature), applied when the gap fills."""
        limits, tx = self.limits, entry.tx
        run = self._waiting.queued_seqs(tx.body.source)
        if tx.body.seq in run:
            return Admission(False, DUPLICATE)
        contiguous = not run or tx.body.seq in (min(run) - 1, max(run) + 1)
        if not contiguous or tx.body.seq > expected + limits.queue_window:
            return self._refuse(tx.hash, TOO_FAR_AHEAD, bad_seq_figures(expected, tx.body.seq))
        share_full = len(self._waiting.queued) >= limits.max_total * limits.queued_share
        pool_full = len(self._waiting) >= limits.max_total
        if (share_full or pool_full) and self._waiting.victim(
            below=entry.standing, queued_only=share_full
        ) is None:
            return self._refuse(tx.hash, MEMPOOL_FULL)
        # Checked now, not at promotion: a forged transaction must not squat the sequence number
        # of the account's genuine one (which would then be refused as a duplicate).
        signers = self._signatures.signers(tx)
        if signers is None:
            return self._refuse(tx.hash, BAD_AUTH)
        if share_full or pool_full:
            self._evict(self._waiting.victim(below=entry.standing, queued_only=share_full))
        self._waiting.add_queued(entry.with_signers(signers))  # not checked again at promotion
        return Admission(True, queued=True)

    def _try_apply(self, entry: WaitingTx, *, make_room: bool = False) -> Admission:
        assert entry.signers is not None
        scope = self._overlay.nested()
        ledger = self._ledger
        with CPU.stage(Stage.PENDING_APPLY):
            result = apply_transaction(
                scope,
                entry.tx,
                ledger_seq=self._next_ledger,
                signers=entry.signers,
                close_time_ms=ledger.close_time_ms,
                protocol_version=ledger.protocol_version,
            )
        if result.code is not ResultCode.OK:
            figures = refusal_figures(self._overlay, entry.tx, result, ledger=ledger, signers=entry.signers)
            return self._refuse(entry.tx.hash, result.code, figures)
        full = len(self._waiting) >= self.limits.max_total
        # the API's admissions stop at the network's capacity (checked on the first look)
        over_capacity = entry.source is not None and self.weighed_waiting >= self.capacity.admission_limit
        if make_room and (full or over_capacity):
            victim = self._waiting.victim(below=entry.standing, pending_only=not full)
            if victim is not None:  # there is one when full: _admit_pending checked
                self._evict(victim)
        scope.commit()
        self._waiting.add_pending(entry)
        return Admission(True)

    def _promote(self, account: bytes) -> None:
        """Apply the account's queued run from its next sequence number on, while it applies."""
        while True:
            expected = self._overlay.account(account).seq + 1
            for stale in self._waiting.queued_below(account, expected):
                self._remember_refusal(self._waiting.remove(stale).tx.hash, BAD_SEQ)
            entry = self._waiting.queued_at(account, expected)
            if entry is None:
                return
            self._waiting.remove(entry.tx.hash)
            signers = entry.signers if entry.signers is not None else self._signatures.signers(entry.tx)
            if signers is None:
                self._remember_refusal(entry.tx.hash, BAD_AUTH)
                continue
            if self._try_apply(entry.with_signers(signers)).accepted:
                self._promoted.append(entry.tx)
            else:
                self._left.append(entry.tx.hash)

    def _evict(self, victim: bytes | None) -> None:
        """Drop one waiting transaction of lower standing. A pending one stays in the overlay
        until the next ledger (re-applying everything else would cost O(pool) per eviction), so
        its account is refused (``evicted``) until then, and its queued run goes with it."""
        assert victim is not None, "checked by the caller"
        pending = victim in self._waiting.pending
        entry = self._waiting.remove(victim)
        self._remember_refusal(victim, EVICTED)
        self._left.append(victim)
        if pending:
            account = entry.tx.body.source
            self._evicted_from[account] = min(
                entry.tx.body.seq, self._evicted_from.get(account, entry.tx.body.seq)
            )
            for seq in sorted(self._waiting.queued_seqs(account)):
                gone = self._waiting.remove(self._waiting.queued_hash(account, seq))
                self._remember_refusal(gone.tx.hash, EVICTED)
                self._left.append(gone.tx.hash)

    def _expire_queued(self, now: float) -> None:
        for entry in self._waiting.oldest_queued_older_than(now - self.limits.queued_max_age_s):
            self._waiting.remove(entry.tx.hash)
            self._remember_refusal(entry.tx.hash, EXPIRED)
            self._left.append(entry.tx.hash)

    def _too_old(self, entry: WaitingTx, now: float) -> bool:
        return now - entry.arrived > self.limits.queued_max_age_s

    def _refuse(self, tx_hash: bytes, code: RefusalCode, figures: Figures | None = None) -> Admission:
        self._remember_refusal(tx_hash, code)
        return Admission(False, code, figures=figures or {})

    def _remember_refusal(self, tx_hash: bytes, code: RefusalCode) -> None:
        self._refused[tx_hash] = code
        self._refused.move_to_end(tx_hash)
        while len(self._refused) > self.limits.remember_refused:
            self._refused.popitem(last=False)
