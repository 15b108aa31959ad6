"""``ScpNode``: the sans-IO façade. Inputs take ``now_ms`` and return effects; nothing else leaves.

The host verifies signatures before ``receive``, executes effects in order (persisting our own
statements before sending them), schedules timers and feeds ``timer_fired`` back with the generation
it was given, so a timer that was re-armed or cancelled in the meantime is ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from consensus._ballot import Phase
from consensus._driver import CancelTimer, Driver, Effect, NeedQuorumSet, SetTimer, TimerKind
from consensus._errors import ConsensusError, QuorumSetError
from consensus._messages import Externalize, Nominate, Statement, committed_value
from consensus._quorum import QuorumSet, check_quorum_set_sane, is_quorum, normalize_quorum_set
from consensus._slot import Slot

MAX_PARKED = 1000  # statements waiting for a quorum set (oldest dropped first)


class ScpNode:
    """One SCP participant (validator, or a watcher when ``is_validator`` is False)."""

    def __init__(self, node_id: bytes, qset: QuorumSet, driver: Driver, *, is_validator: bool = True) -> None:
        """Raises: QuorumSetError if ``qset`` breaks a sanity rule."""
        check_quorum_set_sane(qset)
        self.node_id = node_id
        self.driver = driver
        self.is_validator = is_validator
        self.local_qset = normalize_quorum_set(qset)
        self.local_qset_hash = qset.hash
        self._known_qsets: dict[bytes, QuorumSet] = {self.local_qset_hash: self.local_qset}
        self._slots: dict[int, Slot] = {}
        self._parked: list[Statement] = []
        self._timer_gen: dict[tuple[int, TimerKind], int] = {}
        self._timer_active: set[tuple[int, TimerKind]] = set()
        self._effects: list[Effect] = []
        self._low_slot = 0
        self._next_gen = 0

    # -------------------------------------------------------------------------------- helpers

    def _slot(self, index: int) -> Slot:
        s = self._slots.get(index)
        if s is None:
            s = self._slots[index] = Slot(self, index)
        return s

    def _set_timer(self, slot: int, kind: TimerKind, delay_ms: int) -> None:
        self._next_gen += 1
        self._timer_gen[(slot, kind)] = self._next_gen
        self._timer_active.add((slot, kind))
        self._effects.append(SetTimer(slot, kind, max(0, delay_ms), self._next_gen))

    def _cancel_timer(self, slot: int, kind: TimerKind) -> None:
        if (slot, kind) in self._timer_active:
            self._timer_active.discard((slot, kind))
            self._next_gen += 1
            self._timer_gen[(slot, kind)] = self._next_gen
            self._effects.append(CancelTimer(slot, kind))

    def _take(self) -> list[Effect]:
        out, self._effects = self._effects, []
        return out

    # ----------------------------------------------------------------------------------- inputs

    def receive(self, statement: Statement, now_ms: int) -> list[Effect]:
        """Process a peer's statement (signature already checked by the host).

        Returns no effects for stale, insane or invalid statements. A statement whose quorum set is
        unknown is parked and ``NeedQuorumSet`` returned; ``add_quorum_set`` releases it.
        """
        self._receive(statement)
        return self._take()

    def _receive(self, st: Statement) -> None:
        if st.slot < self._low_slot or st.node_id == self.node_id:
            return  # our own statements come only from ourselves (or ``restore``), never the network
        if not isinstance(st.pledge, Externalize) and st.qset_hash not in self._known_qsets:
            # Ask once per (quorum set, sender): the sender is the natural peer to fetch it from.
            first = all(p.qset_hash != st.qset_hash or p.node_id != st.node_id for p in self._parked)
            if st not in self._parked:
                self._parked.append(st)
                del self._parked[:-MAX_PARKED]
            if first:
                self._effects.append(NeedQuorumSet(st.qset_hash, st.node_id))
            return
        slot = self._slot(st.slot)
        slot.process(st)
        slot.flush()

    def nominate(self, slot: int, value: bytes, previous_value: bytes, now_ms: int) -> list[Effect]:
        """Propose ``value`` for ``slot`` (validators only); ``previous_value`` seeds leader election."""
        if self.is_validator and slot >= self._low_slot and self.externalized_value(slot) is None:
            s = self._slot(slot)
            s.nomination.nominate(value, previous_value, timed_out=False)
            s.flush()
        return self._take()

    def timer_fired(self, slot: int, kind: TimerKind, generation: int, now_ms: int) -> list[Effect]:
        """A timer set by ``SetTimer`` expired; stale generations (re-armed or cancelled) are ignored."""
        key = (slot, kind)
        if key not in self._timer_active or self._timer_gen.get(key) != generation:
            return []
        self._timer_active.discard(key)
        s = self._slots.get(slot)
        if s is None:
            return []
        if kind is TimerKind.NOMINATION:
            s.nomination.nominate(s.nomination.value, s.nomination.previous_value, timed_out=True)
        else:
            s.ballot.timer_expired()
        s.flush()
        return self._take()

    def add_quorum_set(self, qset: QuorumSet, now_ms: int) -> list[Effect]:
        """Learn a peer's quorum set and re-feed the statements parked for it.

        An insane quorum set is refused: statements that referenced it are dropped.
        """
        h = qset.hash
        try:
            check_quorum_set_sane(qset)
        except QuorumSetError:
            self._parked = [p for p in self._parked if p.qset_hash != h]
            return []
        self._known_qsets.setdefault(h, normalize_quorum_set(qset))
        released = [p for p in self._parked if p.qset_hash == h]
        self._parked = [p for p in self._parked if p.qset_hash != h]
        for st in released:
            self._receive(st)
        return self._take()

    def restore(self, statements: Iterable[Statement]) -> None:
        """Reload our own latest statements after a restart, before any new input (scp.md §5.10).

        Raises:
            ConsensusError: a statement is not ours, or the slot's ballot protocol already started.
        """
        for st in statements:
            if st.node_id != self.node_id:
                raise ConsensusError("restore() takes only this node's own statements")
            s = self._slot(st.slot)
            if isinstance(st.pledge, Nominate):
                s.nomination.restore(st)
            else:
                s.ballot.set_state_from(st)

    def purge_slots_below(self, slot: int) -> None:
        """Forget every slot below ``slot`` (their timers become stale) and ignore statements for them."""
        self._low_slot = max(self._low_slot, slot)
        for index in [i for i in self._slots if i < slot]:
            del self._slots[index]
        self._parked = [p for p in self._parked if p.slot >= slot]
        self._timer_active = {k for k in self._timer_active if k[0] >= slot}
        self._timer_gen = {k: g for k, g in self._timer_gen.items() if k[0] >= slot}

    # ---------------------------------------------------------------------------------- queries

    def quorum_set(self, qset_hash: bytes) -> QuorumSet | None:
        """A known quorum set (ours included), to answer peers' requests for it."""
        return self._known_qsets.get(qset_hash)

    def latest_statements(self, slot: int) -> list[Statement]:
        """Latest NOMINATE and ballot statement of every node for ``slot`` (ours included)."""
        s = self._slots.get(slot)
        if s is None:
            return []
        noms = [s.nomination.latest[n] for n in sorted(s.nomination.latest)]
        ballots = [s.ballot.latest[n] for n in sorted(s.ballot.latest)]
        return noms + ballots

    def own_latest(self, slot: int) -> list[Statement]:
        """Our latest generated NOMINATE and ballot statement for ``slot`` (what to persist)."""
        s = self._slots.get(slot)
        if s is None:
            return []
        return [st for st in (s.nomination.last_statement, s.ballot.last_envelope) if st is not None]

    def externalized_value(self, slot: int) -> bytes | None:
        s = self._slots.get(slot)
        if s is None or s.ballot.phase is not Phase.EXTERNALIZE or s.ballot.c is None:
            return None
        return s.ballot.c.value

    def externalize_proof(self, slot: int) -> list[Statement]:
        """Statements (ours included) that accept or confirm commit of the externalized value.

        Their senders contain a quorum for our quorum set; checked by ``proof_is_valid``.
        """
        value = self.externalized_value(slot)
        if value is None:
            return []
        s = self._slots[slot]
        return [
            s.ballot.latest[n] for n in sorted(s.ballot.latest) if _commits(s.ballot.latest[n], slot, value)
        ]

    def heard_from_quorum(self, slot: int) -> bool:
        s = self._slots.get(slot)
        return s is not None and s.ballot.heard_from_quorum

    def active_slots(self) -> list[int]:
        return sorted(self._slots)


def _commits(st: Statement, slot: int, value: bytes) -> bool:
    return st.slot == slot and committed_value(st) == value


def proof_is_valid(
    local_node: bytes,
    local_qset: QuorumSet,
    statements: Sequence[Statement],
    slot: int,
    value: bytes,
    qset_of: Callable[[bytes], QuorumSet | None],
) -> bool:
    """Do ``statements`` prove that ``value`` was decided for ``slot``, by ``local_qset``'s standards?

    Every statement must be for ``slot`` and accept or confirm commit of ``value`` (CONFIRM or
    EXTERNALIZE), senders must be distinct, and the senders must contain a quorum that includes a
    slice of ``local_qset``, each member judged by its own quorum set (``qset_of(hash)``; unknown ⇒
    the member does not count). ``local_node``'s own statement, if present, is judged by
    ``local_qset``. Signatures are the caller's business.
    """
    by_node: dict[bytes, Statement] = {}
    for st in statements:
        if not _commits(st, slot, value) or st.node_id in by_node:
            return False
        by_node[st.node_id] = st
    local_norm = normalize_quorum_set(local_qset)

    def lookup(n: bytes) -> QuorumSet | None:
        if n == local_node:
            return local_norm
        return qset_of(by_node[n].qset_hash)

    return is_quorum(local_norm, set(by_node), lookup)
