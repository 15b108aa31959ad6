"""The nomination protocol (DRAFT §3.4, WP §6.1, CORE ``NominationProtocol.cpp``; scp.md §4).

Rules of this module: it owns the votes (X), accepted (Y) and candidate (Z) sets of one slot and the
round leaders. Only round leaders introduce values; others echo at most one new value per leader
message; nomination stops voting on new values once a candidate is confirmed, and stops entirely
when the slot externalizes. Leader choice uses 64-bit priority hashes over (slot, previous value,
round, node) weighted by how many of the local node's slices contain each node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from consensus._driver import Emit, TimerKind, Validity
from consensus._errors import InvariantViolation
from consensus._messages import Nominate, Statement, nomination_is_newer, nomination_is_sane
from consensus._quorum import U64_MAX, QuorumSet, all_validators, node_weight, normalize_quorum_set
from consensus._statements import StatementMap
from protocol import codec
from protocol.hashing import blake2b256

if TYPE_CHECKING:
    from consensus._slot import Slot

PERSON_NOMINATION = b"tally.nominate"
HASH_NEIGHBOR, HASH_PRIORITY, HASH_VALUE = 1, 2, 3
MAX_LEADER_ROUNDS = 1000


def default_hash64(slot: int, prev: bytes, kind: int, round_: int, data: bytes) -> int:
    """First 8 bytes (big endian) of a personalised BLAKE2b over the slot, previous value and inputs."""
    digest = blake2b256(codec.pack((slot, prev, kind, round_, data)), PERSON_NOMINATION)
    return int.from_bytes(digest[:8], "big")


def _nom(st: Statement) -> Nominate:
    return st.pledge  # type: ignore[return-value]


class NominationProtocol:
    def __init__(self, slot: Slot) -> None:
        self.slot = slot
        self.round = 0
        self.votes: set[bytes] = set()  # X
        self.accepted: set[bytes] = set()  # Y
        self.candidates: set[bytes] = set()  # Z
        self.latest = StatementMap()  # N: latest NOMINATE per node
        self.round_leaders: set[bytes] = set()
        self.started = False
        self.latest_composite: bytes | None = None
        self.previous_value = b""
        self.value = b""  # what we nominate when we lead (re-used on timeouts)
        self.timer_exp_count = 0
        self.last_statement: Statement | None = None  # newest NOMINATE we generated

    # --------------------------------------------------------------------------------- hashing

    def _hash_node(self, is_priority: bool, node: bytes) -> int:
        custom = getattr(self.slot.node.driver, "hash_node", None)
        if custom is not None:
            return int(custom(self.slot.index, self.previous_value, is_priority, self.round, node))
        kind = HASH_PRIORITY if is_priority else HASH_NEIGHBOR
        return default_hash64(self.slot.index, self.previous_value, kind, self.round, node)

    def _hash_value(self, value: bytes) -> int:
        custom = getattr(self.slot.node.driver, "hash_value", None)
        if custom is not None:
            return int(custom(self.slot.index, self.previous_value, self.round, value))
        return default_hash64(self.slot.index, self.previous_value, HASH_VALUE, self.round, value)

    def _weight(self, node: bytes, qset: QuorumSet) -> int:
        is_local = node == self.slot.local_id
        custom = getattr(self.slot.node.driver, "node_weight", None)
        if custom is not None:
            return int(custom(node, qset, is_local))
        return U64_MAX if is_local else node_weight(node, qset)

    def _priority(self, node: bytes, qset: QuorumSet) -> int:
        w = self._weight(node, qset)
        if w > 0 and self._hash_node(False, node) <= w:
            return self._hash_node(True, node)
        return 0

    def update_round_leaders(self) -> None:
        """Add this round's highest-priority nodes; fast-forward rounds that add nobody (CORE PR #2648)."""
        local = self.slot.local_id
        qset = normalize_quorum_set(self.slot.local_qset, remove=local)
        others = sorted(all_validators(qset))
        max_leaders = (1 if self._weight(local, qset) > 0 else 0) + sum(
            1 for n in others if self._weight(n, qset) > 0
        )
        start_round = self.round
        for _ in range(MAX_LEADER_ROUNDS):
            if len(self.round_leaders) >= max_leaders:
                return
            top = self._priority(local, qset)
            new = {local} if top > 0 else set()
            for n in others:
                pr = self._priority(n, qset)
                if pr > top:
                    top, new = pr, set()
                if pr == top and pr > 0:
                    new.add(n)
            if new - self.round_leaders:
                self.round_leaders |= new
                return
            self.round += 1
        # Degenerate priorities (a test driver, or every other node weightless): keep the leaders.
        self.round = start_round

    # ---------------------------------------------------------------------------------- driving

    def _valid_variant(self, v: bytes) -> bytes | None:
        if self.slot.validate(v, True) is Validity.FULLY_VALID:
            return v
        return self.slot.node.driver.extract_valid_value(self.slot.index, v)

    def new_value_from(self, nom: Nominate) -> bytes | None:
        """At most one new value to echo from a leader: accepted ones first, best value hash wins."""
        best: bytes | None = None
        best_hash = 0
        for pool in (nom.accepted, nom.votes):
            found_valid = False
            for v in pool:
                w = self._valid_variant(v)
                if w is None:
                    continue
                found_valid = True
                if w not in self.votes:
                    h = self._hash_value(w)
                    if h >= best_hash:
                        best, best_hash = w, h
            if found_valid:
                break
        return best

    def nominate(self, value: bytes, previous_value: bytes, timed_out: bool) -> bool:
        """Start or continue nominating (CORE ``nominate``); arms the round timer."""
        if self.candidates:
            return False  # WP: stop introducing values once a candidate is confirmed
        if timed_out:
            self.timer_exp_count += 1
            if not self.started:
                return False
        self.started = True
        self.value = value
        self.previous_value = previous_value
        self.round += 1
        self.update_round_leaders()
        updated = False
        for leader in sorted(self.round_leaders):
            st = self.latest.get(leader)
            if st is not None and (v := self.new_value_from(_nom(st))) is not None:
                self.votes.add(v)
                updated = True
        if self.slot.local_id in self.round_leaders and value not in self.votes:
            self.votes.add(value)  # only leaders introduce values (CORE); others just echo leaders
            updated = True
        timeout = self.slot.node.driver.compute_timeout_ms(self.round, True)
        self.slot.set_timer(TimerKind.NOMINATION, timeout)
        if updated:
            self.emit_nomination()
        return updated

    def stop(self) -> None:
        if self.started:
            self.started = False
            self.slot.cancel_timer(TimerKind.NOMINATION)

    # -------------------------------------------------------------------------------- receiving

    def process(self, st: Statement, from_self: bool = False) -> bool:
        """CORE ``processEnvelope`` for NOMINATE."""
        nom = _nom(st)
        if not nomination_is_sane(nom):
            return False
        old = self.latest.get(st.node_id)
        if old is not None and not nomination_is_newer(_nom(old), nom):
            return False
        self.latest.put(st)
        if not self.started:
            return True  # record only: we do not vote on a slot we are not nominating
        modified = False
        new_candidate = False
        for v in sorted(set(nom.votes) | set(nom.accepted)):
            if v in self.accepted:
                continue
            if self.slot.federated_accept(_votes(v), _accepts(v), self.latest):
                if self.slot.validate(v, True) is Validity.FULLY_VALID:
                    self.accepted.add(v)
                    self.votes.add(v)
                    modified = True
                else:
                    w = self.slot.node.driver.extract_valid_value(self.slot.index, v)
                    if w is not None and w not in self.votes:
                        self.votes.add(w)
                        modified = True
        for a in sorted(self.accepted - self.candidates):
            if self.slot.federated_ratify(_accepts(a), self.latest):
                self.candidates.add(a)
                new_candidate = True
                self.slot.cancel_timer(TimerKind.NOMINATION)
        if not self.candidates and st.node_id in self.round_leaders:
            v2 = self.new_value_from(nom)
            if v2 is not None:
                self.votes.add(v2)
                modified = True
        if modified:
            self.emit_nomination()
        if new_candidate:
            self.latest_composite = self.slot.node.driver.combine_candidates(
                self.slot.index, sorted(self.candidates)
            )
            self.slot.ballot.bump_state(self.latest_composite, force=False)
        return True

    def emit_nomination(self) -> None:
        st = self.slot.make_statement(Nominate(tuple(sorted(self.votes)), tuple(sorted(self.accepted))))
        if not self.process(st, from_self=True):
            raise InvariantViolation("nomination protocol moved to a bad state")
        if self.last_statement is None or nomination_is_newer(_nom(self.last_statement), _nom(st)):
            self.last_statement = st
            if self.slot.fully_validated:
                self.slot.out(Emit(st))

    def restore(self, st: Statement) -> None:
        """Re-seed X and Y from our last own NOMINATE (CORE ``setStateFromEnvelope``)."""
        nom = _nom(st)
        self.votes |= set(nom.votes)
        self.accepted |= set(nom.accepted)
        self.latest.put(st)
        self.last_statement = st


def _votes(v: bytes) -> Callable[[Statement], bool]:
    return lambda st: v in _nom(st).votes


def _accepts(v: bytes) -> Callable[[Statement], bool]:
    return lambda st: v in _nom(st).accepted
