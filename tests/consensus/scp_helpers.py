"""Test harness for single-node SCP scenarios, after stellar-core's ``TestSCP`` (scp.md §7.1).

One real ``ScpNode`` (v0) receives hand-built statements from v1..v4; everything it emits, the
timers it arms and the values it externalizes are recorded, with a fake clock in milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from consensus import (
    Ballot,
    CancelTimer,
    Confirm,
    Effect,
    Emit,
    Externalize,
    Externalized,
    NeedQuorumSet,
    Nominate,
    Prepare,
    QuorumSet,
    ScpNode,
    SetTimer,
    Statement,
    TimerKind,
    Validity,
)

V = [bytes([0x10 + i]) * 32 for i in range(5)]
v0, v1, v2, v3, v4 = V
X, Y, Z, ZZ = b"x", b"y", b"z", b"zz"  # x < y < z < zz
INF = (1 << 32) - 1
CORE5 = QuorumSet(4, tuple(V))  # v-blocking: 2 nodes; quorum: self + 3


@dataclass
class RecordingDriver:
    """Accepts every value; leader priority by lookup (self high, others 1); value hash by lookup."""

    priority: Callable[[bytes], int] = lambda n: 1000 if n == v0 else 1
    value_hash: Callable[[bytes], int] = lambda v: 0
    composite: bytes | None = None
    invalid: set[bytes] = field(default_factory=set)
    combined: list[list[bytes]] = field(default_factory=list)

    def validate_value(self, slot: int, value: bytes, nomination: bool) -> Validity:
        return Validity.INVALID if value in self.invalid else Validity.FULLY_VALID

    def extract_valid_value(self, slot: int, value: bytes) -> bytes | None:
        return None

    def combine_candidates(self, slot: int, values: Sequence[bytes]) -> bytes:
        self.combined.append(list(values))
        return self.composite if self.composite is not None else max(values)

    def compute_timeout_ms(self, round: int, is_nomination: bool) -> int:
        return 1000 * round

    def hash_node(self, slot: int, prev: bytes, is_priority: bool, round: int, node: bytes) -> int:
        return self.priority(node) if is_priority else 0

    def hash_value(self, slot: int, prev: bytes, round: int, value: bytes) -> int:
        return self.value_hash(value)


class Harness:
    """v0 plus recorders: ``envs`` (emitted statements), ``externalized``, ``timers``."""

    def __init__(
        self,
        qset: QuorumSet = CORE5,
        node_id: bytes = v0,
        *,
        is_validator: bool = True,
        driver: RecordingDriver | None = None,
    ) -> None:
        self.driver = driver or RecordingDriver()
        self.node = ScpNode(node_id, qset, self.driver, is_validator=is_validator)
        self.node_id = node_id
        self.qset_hash = qset.hash
        self.now = 0
        self.envs: list[Statement] = []
        self.externalized: list[bytes] = []
        self.timers: dict[TimerKind, tuple[int, int]] = {}  # kind -> (deadline, generation)
        self.need_qsets: list[NeedQuorumSet] = []

    def apply(self, effects: list[Effect]) -> list[Effect]:
        for e in effects:
            if isinstance(e, Emit):
                self.envs.append(e.statement)
            elif isinstance(e, SetTimer):
                self.timers[e.kind] = (self.now + e.delay_ms, e.generation)
            elif isinstance(e, CancelTimer):
                self.timers.pop(e.kind, None)
            elif isinstance(e, Externalized):
                self.externalized.append(e.value)
            elif isinstance(e, NeedQuorumSet):
                self.need_qsets.append(e)
        return effects

    def recv(self, st: Statement) -> list[Effect]:
        return self.apply(self.node.receive(st, self.now))

    def bump_state(self, value: bytes, slot: int = 0) -> bool:
        """CORE ``TestSCP::bumpState``: force the ballot protocol to the next counter on ``value``."""
        s = self.node._slot(slot)
        did = s.ballot.bump_state(value, force=True)
        s.flush()
        self.apply(self.node._take())
        return did

    def nominate(self, value: bytes, prev: bytes = b"", slot: int = 0) -> list[Effect]:
        return self.apply(self.node.nominate(slot, value, prev, self.now))

    def fire(self, kind: TimerKind, slot: int = 0) -> list[Effect]:
        deadline, gen = self.timers.pop(kind)
        self.now = max(self.now, deadline)
        return self.apply(self.node.timer_fired(slot, kind, gen, self.now))

    def bump_timer_offset(self) -> None:
        self.now += 5 * 3600 * 1000

    def has_ballot_timer(self) -> bool:
        return TimerKind.BALLOT in self.timers

    def has_ballot_timer_upcoming(self) -> bool:
        t = self.timers.get(TimerKind.BALLOT)
        return t is not None and t[0] > self.now

    def current(self, slot: int = 0) -> Statement:
        """Our latest generated ballot statement (emitted or not)."""
        return [st for st in self.node.own_latest(slot) if not isinstance(st.pledge, Nominate)][-1]

    # ----------------------------------------------------------------------- CORE's recv helpers

    def recv_vblocking(self, gen: Callable[[bytes], Statement], *, checks: bool = True) -> None:
        """v1 then v2 (a v-blocking set): nothing after the first, exactly one statement after the second."""
        self.bump_timer_offset()
        n = len(self.envs)
        self.recv(gen(v1))
        if checks:
            assert len(self.envs) == n
        self.recv(gen(v2))
        if checks:
            assert len(self.envs) == n + 1

    def recv_quorum(
        self,
        gen: Callable[[bytes], Statement],
        *,
        checks: bool = True,
        delayed: bool = False,
        check_upcoming: bool = False,
        min_quorum: bool = False,
    ) -> None:
        """v1..v3 complete a quorum with v0 (one statement after v3); v4's extra vote changes nothing."""
        self.bump_timer_offset()
        i = len(self.envs) + 1
        self.recv(gen(v1))
        if checks and not delayed:
            assert len(self.envs) == i - 1
        self.recv(gen(v2))
        if checks and not delayed:
            assert len(self.envs) == i - 1
        self.recv(gen(v3))
        if checks and not delayed:
            assert len(self.envs) == i
        if check_upcoming and not delayed:
            assert self.has_ballot_timer_upcoming()
        if not min_quorum:
            self.recv(gen(v4))
        if checks and delayed:
            assert len(self.envs) == i
        if check_upcoming and delayed:
            assert self.has_ballot_timer_upcoming()


def statement(
    node: bytes,
    pledge: Prepare | Confirm | Externalize | Nominate,
    slot: int = 0,
    qset_hash: bytes | None = None,
) -> Statement:
    return Statement(node, slot, qset_hash if qset_hash is not None else CORE5.hash, pledge)


def prepare(
    node: bytes,
    b: Ballot,
    p: Ballot | None = None,
    nc: int = 0,
    nh: int = 0,
    pp: Ballot | None = None,
    slot: int = 0,
) -> Statement:
    return statement(node, Prepare(b, p, pp, nc, nh), slot)


def confirm(node: bytes, n_prepared: int, b: Ballot, nc: int, nh: int, slot: int = 0) -> Statement:
    return statement(node, Confirm(b, n_prepared, nc, nh), slot)


def externalize(node: bytes, c: Ballot, nh: int, slot: int = 0) -> Statement:
    return statement(node, Externalize(c, nh), slot)


def nominate(node: bytes, votes: Sequence[bytes], accepted: Sequence[bytes] = (), slot: int = 0) -> Statement:
    return statement(node, Nominate(tuple(sorted(votes)), tuple(sorted(accepted))), slot)


def prepare_gen(
    b: Ballot, p: Ballot | None = None, nc: int = 0, nh: int = 0, pp: Ballot | None = None
) -> Callable[[bytes], Statement]:
    return lambda node: prepare(node, b, p, nc, nh, pp)


def confirm_gen(n_prepared: int, b: Ballot, nc: int, nh: int) -> Callable[[bytes], Statement]:
    return lambda node: confirm(node, n_prepared, b, nc, nh)


def externalize_gen(c: Ballot, nh: int) -> Callable[[bytes], Statement]:
    return lambda node: externalize(node, c, nh)


def nominate_gen(votes: Sequence[bytes], accepted: Sequence[bytes] = ()) -> Callable[[bytes], Statement]:
    return lambda node: nominate(node, votes, accepted)


def is_prepare(
    st: Statement, b: Ballot, p: Ballot | None = None, nc: int = 0, nh: int = 0, pp: Ballot | None = None
) -> bool:
    return st.node_id == v0 and st.pledge == Prepare(b, p, pp, nc, nh)


def is_confirm(st: Statement, n_prepared: int, b: Ballot, nc: int, nh: int) -> bool:
    return st.pledge == Confirm(b, n_prepared, nc, nh)


def is_externalize(st: Statement, c: Ballot, nh: int) -> bool:
    return st.pledge == Externalize(c, nh)
