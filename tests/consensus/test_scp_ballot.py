"""Ballot protocol, step by step on stellar-core's 5-node core (CORE ``SCPTests.cpp`` "ballot protocol core5").

Threshold 4 of 5: two nodes are v-blocking, v0 plus three others are a quorum, so each helper can
check that a v-blocking set and a quorum act differently. Sections of the C++ test tree become
setup helpers here; every expected statement is compared field by field.
"""

from __future__ import annotations

import pytest
from scp_helpers import (
    INF,
    ZZ,
    Harness,
    X,
    Y,
    Z,
    confirm,
    confirm_gen,
    externalize,
    externalize_gen,
    is_confirm,
    is_externalize,
    is_prepare,
    prepare,
    prepare_gen,
    v0,
    v1,
    v2,
    v3,
    v4,
)

from consensus import (
    Ballot,
    Confirm,
    ConsensusError,
    Prepare,
    QuorumSet,
    Statement,
    TimerKind,
    is_quorum_slice,
    is_v_blocking,
)


def test_vblocking_and_quorum() -> None:
    q = QuorumSet(3, (v0, v1, v2, v3))
    assert not is_quorum_slice(q, {v0})
    assert not is_v_blocking(q, {v0})
    assert not is_quorum_slice(q, {v0, v2})
    assert is_v_blocking(q, {v0, v2})
    assert is_quorum_slice(q, {v0, v2, v3})
    assert is_v_blocking(q, {v0, v2, v3})
    assert is_quorum_slice(q, {v0, v1, v2, v3})


def test_bump_state_x() -> None:
    h = Harness()
    assert h.bump_state(X)
    assert len(h.envs) == 1
    assert is_prepare(h.envs[0], Ballot(1, X))
    assert not h.has_ballot_timer()


# ------------------------------------------------------------------------------------ start <1,a>

VALUES = [pytest.param((X, Z), id="start <1,x>"), pytest.param((Z, X), id="start <1,z>")]


def _start(a: bytes) -> Harness:
    h = Harness()
    assert h.bump_state(a)
    assert len(h.envs) == 1
    assert not h.has_ballot_timer()
    return h


def _prepared_a1(a: bytes) -> Harness:
    h = _start(a)
    a1 = Ballot(1, a)
    h.recv_quorum(prepare_gen(a1), check_upcoming=True)
    assert len(h.envs) == 2
    assert is_prepare(h.envs[1], a1, a1)
    return h


def _bump_prepared_a2(a: bytes) -> Harness:
    h = _prepared_a1(a)
    a1, a2 = Ballot(1, a), Ballot(2, a)
    h.bump_timer_offset()
    assert h.bump_state(a)
    assert len(h.envs) == 3
    assert is_prepare(h.envs[2], a2, a1)
    assert not h.has_ballot_timer()
    h.recv_quorum(prepare_gen(a2), check_upcoming=True)
    assert len(h.envs) == 4
    assert is_prepare(h.envs[3], a2, a2)
    return h


def _confirm_prepared_a2(a: bytes) -> Harness:
    h = _bump_prepared_a2(a)
    a2 = Ballot(2, a)
    h.recv_quorum(prepare_gen(a2, a2))
    assert len(h.envs) == 5
    assert is_prepare(h.envs[4], a2, a2, 2, 2)
    assert not h.has_ballot_timer_upcoming()
    return h


def _quorum_a2(a: bytes) -> Harness:
    h = _confirm_prepared_a2(a)
    a2 = Ballot(2, a)
    h.recv_quorum(prepare_gen(a2, a2, 2, 2))
    assert len(h.envs) == 6
    assert is_confirm(h.envs[5], 2, a2, 2, 2)
    assert not h.has_ballot_timer_upcoming()
    return h


def _quorum_prepared_a3(a: bytes) -> Harness:
    h = _quorum_a2(a)
    a2, a3 = Ballot(2, a), Ballot(3, a)
    h.recv_vblocking(prepare_gen(a3, a2, 2, 2))
    assert len(h.envs) == 7
    assert is_confirm(h.envs[6], 2, a3, 2, 2)
    assert not h.has_ballot_timer()
    h.recv_quorum(prepare_gen(a3, a2, 2, 2), check_upcoming=True)
    assert len(h.envs) == 8
    assert is_confirm(h.envs[7], 3, a3, 2, 2)
    return h


@pytest.mark.parametrize("ab", VALUES)
def test_start_prepared_to_externalize(ab: tuple[bytes, bytes]) -> None:
    """prepared A1 → bump A2 → confirm prepared A2 → accept commit → A3 → externalize."""
    a, _ = ab
    h = _quorum_prepared_a3(a)
    a2, a3 = Ballot(2, a), Ballot(3, a)
    h.recv_quorum(prepare_gen(a3, a3, 2, 3))
    assert len(h.envs) == 9
    assert is_confirm(h.envs[8], 3, a3, 2, 3)
    assert not h.has_ballot_timer_upcoming()
    assert h.externalized == []
    h.recv_quorum(confirm_gen(3, a3, 2, 3))
    assert len(h.envs) == 10
    assert is_externalize(h.envs[9], a2, 3)
    assert not h.has_ballot_timer()
    assert h.externalized == [a]
    assert h.node.externalized_value(0) == a


@pytest.mark.parametrize("ab", VALUES)
def test_vblocking_accept_more_a3(ab: tuple[bytes, bytes]) -> None:
    a, _ = ab
    a3 = Ballot(3, a)
    h = _quorum_prepared_a3(a)
    h.recv_vblocking(confirm_gen(3, a3, 3, 3))
    assert is_confirm(h.envs[8], 3, a3, 3, 3)
    assert not h.has_ballot_timer_upcoming()


@pytest.mark.parametrize("ab", VALUES)
def test_vblocking_externalize_a3(ab: tuple[bytes, bytes]) -> None:
    a, _ = ab
    h = _quorum_prepared_a3(a)
    h.recv_vblocking(externalize_gen(Ballot(2, a), 3))
    assert len(h.envs) == 9
    assert is_confirm(h.envs[8], INF, Ballot(INF, a), 2, INF)
    assert not h.has_ballot_timer_upcoming()


@pytest.mark.parametrize("ab", VALUES)
def test_other_nodes_moved_to_c_a4_h_a5(ab: tuple[bytes, bytes]) -> None:
    a, _ = ab
    a5 = Ballot(5, a)
    h = _quorum_prepared_a3(a)
    h.recv_vblocking(confirm_gen(3, a5, 4, 5))
    assert is_confirm(h.envs[8], 3, a5, 4, 5)
    assert not h.has_ballot_timer()
    h2 = _quorum_prepared_a3(a)
    h2.recv_vblocking(externalize_gen(Ballot(4, a), 5))
    assert is_confirm(h2.envs[8], INF, Ballot(INF, a), 4, INF)
    assert not h2.has_ballot_timer()


@pytest.mark.parametrize("ab", VALUES)
@pytest.mark.parametrize(
    ("kind", "counter_p", "ballot_counter", "nc", "nh", "other"),
    [("confirm", 2, 2, 2, 2, False), ("confirm", 4, 4, 3, 4, False), ("confirm", 2, 2, 2, 2, True)],
    ids=["CONFIRM A2", "CONFIRM A3..4", "CONFIRM B2"],
)
def test_accept_commit_vblocking_confirm(
    ab: tuple[bytes, bytes], kind: str, counter_p: int, ballot_counter: int, nc: int, nh: int, other: bool
) -> None:
    a, b = ab
    value = b if other else a
    h = _confirm_prepared_a2(a)
    h.recv_vblocking(confirm_gen(counter_p, Ballot(ballot_counter, value), nc, nh))
    assert len(h.envs) == 6
    assert is_confirm(h.envs[5], counter_p, Ballot(ballot_counter, value), nc, nh)
    if ballot_counter == 2:
        assert not h.has_ballot_timer_upcoming()
    else:
        assert not h.has_ballot_timer()


@pytest.mark.parametrize("ab", VALUES)
@pytest.mark.parametrize("other", [False, True], ids=["EXTERNALIZE A2", "EXTERNALIZE B2"])
def test_accept_commit_vblocking_externalize(ab: tuple[bytes, bytes], other: bool) -> None:
    a, b = ab
    value = b if other else a
    h = _confirm_prepared_a2(a)
    h.recv_vblocking(externalize_gen(Ballot(2, value), 2))
    assert len(h.envs) == 6
    assert is_confirm(h.envs[5], INF, Ballot(INF, value), 2, INF)
    assert not h.has_ballot_timer()


@pytest.mark.parametrize("ab", VALUES)
def test_network_externalize_other_value_no_effect_on_commit(ab: tuple[bytes, bytes]) -> None:
    """Once we accepted commit of A, a quorum preparing B cannot move us (c is locked)."""
    a, b = ab
    h = _quorum_a2(a)
    n = len(h.envs)
    b3 = Ballot(3, b)
    h.recv_quorum(prepare_gen(b3, b3), checks=False)
    assert all(st.pledge.ballot.value == a for st in h.envs[n:])  # type: ignore[union-attr]
    assert h.externalized == []


# ----------------------------------------------------------------------------- normal round (1,x)


def _all_pledge_to_commit() -> Harness:
    h = Harness()
    b = Ballot(1, X)
    assert h.bump_state(X)
    assert len(h.envs) == 1
    assert is_prepare(h.envs[0], b)
    h.recv(prepare(v1, b))
    assert len(h.envs) == 1
    assert not h.node.heard_from_quorum(0)
    h.recv(prepare(v2, b))
    assert len(h.envs) == 1
    assert not h.node.heard_from_quorum(0)
    h.recv(prepare(v3, b))
    assert len(h.envs) == 2
    assert h.node.heard_from_quorum(0)
    assert is_prepare(h.envs[1], b, b)
    h.recv(prepare(v4, b))
    assert len(h.envs) == 2
    for node in (v1, v2):
        h.recv(prepare(node, b, b))
        assert len(h.envs) == 2
    h.recv(prepare(v3, b, b))
    assert len(h.envs) == 3
    assert is_prepare(h.envs[2], b, b, 1, 1)
    h.recv(prepare(v4, b, b))
    assert len(h.envs) == 3
    return h


def _commit_b1(h: Harness) -> None:
    b = Ballot(1, X)
    h.recv(prepare(v1, b, b, 1, 1))
    h.recv(prepare(v2, b, b, 1, 1))
    assert len(h.envs) == 3
    h.recv(prepare(v3, b, b, 1, 1))
    assert len(h.envs) == 4
    assert is_confirm(h.envs[3], 1, b, 1, 1)


def _normal_round() -> Harness:
    h = _all_pledge_to_commit()
    _commit_b1(h)
    b = Ballot(1, X)
    h.recv(confirm(v1, 1, b, 1, 1))
    h.recv(confirm(v2, 1, b, 1, 1))
    assert len(h.envs) == 4
    h.recv(confirm(v3, 1, b, 1, 1))
    assert len(h.envs) == 5
    assert h.externalized == [X]
    assert is_externalize(h.envs[4], b, 1)
    h.recv(confirm(v4, 1, b, 1, 1))
    h.recv(confirm(v2, 1, b, 1, 1))  # duplicate: no-op
    assert len(h.envs) == 5
    assert h.externalized == [X]
    return h


def test_normal_round() -> None:
    _normal_round()


@pytest.mark.parametrize(
    "b2", [Ballot(1, Z), Ballot(2, X), Ballot(2, Z)], ids=["by value", "by counter", "by value and counter"]
)
def test_bump_to_ballot_prevented_once_committed(b2: Ballot) -> None:
    h = _normal_round()
    for node in (v1, v2, v3, v4):
        h.recv(confirm(node, b2.counter, b2, b2.counter, b2.counter))
    assert len(h.envs) == 5
    assert h.externalized == [X]


def test_range_check() -> None:
    h = _all_pledge_to_commit()
    _commit_b1(h)
    h.recv(confirm(v1, 4, Ballot(4, X), 2, 4))
    assert len(h.envs) == 4
    h.recv(confirm(v2, 6, Ballot(6, X), 2, 6))  # v-blocking: bump to (4,x)
    assert len(h.envs) == 5
    assert is_confirm(h.envs[4], 4, Ballot(4, X), 2, 4)
    h.recv(confirm(v4, 6, Ballot(6, X), 3, 6))  # quorum on the intersection [3, 4]
    assert len(h.envs) == 6
    assert h.externalized == [X]
    assert is_externalize(h.envs[5], Ballot(3, X), 4)


# ---------------------------------------------------------------------------------------- timeouts


def test_timeout_when_h_is_set_stays_locked_on_h() -> None:
    h = Harness()
    bx = Ballot(1, X)
    assert h.bump_state(X)
    h.recv_quorum(prepare_gen(bx, bx), checks=False)
    assert len(h.envs) == 3
    assert is_prepare(h.envs[1], bx, bx)
    assert is_prepare(h.envs[2], bx, bx, 1, 1)
    assert h.bump_state(Y)
    assert len(h.envs) == 4
    assert is_prepare(h.envs[3], Ballot(2, X), bx, 1, 1)


def test_timeout_when_h_exists_but_cannot_be_set_votes_for_h() -> None:
    h = Harness()
    by, bx = Ballot(1, Y), Ballot(1, X)
    assert h.bump_state(Y)
    assert len(h.envs) == 1
    h.recv_vblocking(prepare_gen(bx, bx))
    assert is_prepare(h.envs[1], by, bx)
    h.recv_quorum(prepare_gen(bx, bx), checks=False)
    assert len(h.envs) == 2  # confirm prepared bx is a no-op while b > h
    assert h.bump_state(Y)
    assert len(h.envs) == 3
    assert is_prepare(h.envs[2], Ballot(2, X), bx, 0, 1)  # moves to the quorum's value; c waits


def test_timeout_from_multiple_nodes() -> None:
    x1, x2 = Ballot(1, X), Ballot(2, X)
    h = Harness()
    assert h.bump_state(X)
    assert is_prepare(h.envs[0], x1)
    h.recv_quorum(prepare_gen(x1))
    assert len(h.envs) == 2
    assert is_prepare(h.envs[1], x1, x1)
    assert h.bump_state(X)
    assert len(h.envs) == 3
    assert is_prepare(h.envs[2], x2, x1)
    h.recv_quorum(prepare_gen(x1, x1))
    assert len(h.envs) == 4
    assert is_prepare(h.envs[3], x2, x1, 0, 1)
    h.recv_vblocking(prepare_gen(x2, x2, 1, 1))
    assert len(h.envs) == 5
    assert is_prepare(h.envs[4], x2, x2, 0, 1)
    h.recv_quorum(prepare_gen(x2, x2, 1, 1), checks=False)
    assert len(h.envs) == 7
    assert is_prepare(h.envs[5], x2, x2, 2, 2)
    assert is_confirm(h.envs[6], 2, x2, 1, 1)


def test_timeout_after_prepare_receive_old_messages_to_prepare() -> None:
    x1, x2, x3 = Ballot(1, X), Ballot(2, X), Ballot(3, X)
    h = Harness()
    assert h.bump_state(X)
    for node in (v1, v2, v3):
        h.recv(prepare(node, x1))
    assert len(h.envs) == 2
    assert is_prepare(h.envs[1], x1, x1)
    assert h.bump_state(X)
    assert is_prepare(h.envs[2], x2, x1)
    assert h.bump_state(X)
    assert len(h.envs) == 4
    assert is_prepare(h.envs[3], x3, x1)
    h.recv(prepare(v1, x2, x2, 1, 2))
    h.recv(prepare(v2, x2, x2, 1, 2))
    assert len(h.envs) == 5
    assert is_prepare(h.envs[4], x3, x2)
    h.recv(prepare(v3, x2, x2, 1, 2))
    assert len(h.envs) == 6
    assert is_prepare(h.envs[5], x3, x2, 0, 2)


def test_ballot_timer_fires_and_bumps_counter() -> None:
    h = Harness()
    assert h.bump_state(X)
    h.recv_quorum(prepare_gen(Ballot(1, X)), checks=False)
    assert h.has_ballot_timer()
    deadline, _ = h.timers[TimerKind.BALLOT]
    assert deadline == h.now + 1000  # 1 s × counter
    h.fire(TimerKind.BALLOT)
    assert h.envs[-1].pledge.ballot == Ballot(2, X)  # type: ignore[union-attr]
    assert not h.has_ballot_timer()  # re-armed only after hearing from a quorum at counter 2


def test_no_ballot_timer_without_quorum() -> None:
    """scp.md §8 / issue #1548: never time out before a quorum reached our counter."""
    h = Harness()
    assert h.bump_state(X)
    h.recv(prepare(v1, Ballot(1, X)))
    h.recv(prepare(v2, Ballot(1, X)))
    assert not h.has_ballot_timer()


def test_stale_timer_generation_is_ignored() -> None:
    h = Harness()
    assert h.bump_state(X)
    h.recv_quorum(prepare_gen(Ballot(1, X)), checks=False)
    _, gen = h.timers[TimerKind.BALLOT]
    assert h.node.timer_fired(0, TimerKind.BALLOT, gen + 1000, h.now) == []
    n = len(h.envs)
    assert h.apply(h.node.timer_fired(0, TimerKind.BALLOT, gen, h.now))
    assert len(h.envs) == n + 1
    assert h.node.timer_fired(0, TimerKind.BALLOT, gen, h.now) == []  # fired once only


# ------------------------------------------------------------------------------ watchers, restarts


def test_non_validator_watching_the_network() -> None:
    nv = bytes([0x99]) * 32
    h = Harness(QuorumSet(4, (v0, v1, v2, v3, v4)), node_id=nv, is_validator=False)
    b = Ballot(1, X)
    assert h.bump_state(X)
    assert h.envs == []
    assert h.current().pledge.ballot == b  # type: ignore[union-attr]
    for node in (v1, v2, v3):
        h.recv(externalize(node, b, 1))
    assert h.envs == []
    cur = h.current()
    assert is_confirm(cur, INF, Ballot(INF, X), 1, INF)
    h.recv(externalize(v4, b, 1))
    assert h.envs == []
    assert is_externalize(h.current(), b, INF)
    assert h.externalized == [X]


def test_single_externalize_is_not_enough() -> None:
    """Singleton EXTERNALIZE abuse (scp.md §7.3 #7): one node cannot make us externalize."""
    h = Harness()
    assert h.bump_state(X)
    h.recv(externalize(v1, Ballot(1, Z), 1))
    assert h.externalized == []
    assert all(st.pledge.ballot.value == X for st in h.envs)  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", ["prepare", "confirm", "externalize"])
def test_restore_ballot_protocol(kind: str) -> None:
    h = Harness()
    b = Ballot(2, X)
    st = {
        "prepare": prepare(v0, b),
        "confirm": confirm(v0, 2, b, 1, 2),
        "externalize": externalize(v0, b, 2),
    }[kind]
    h.node.restore([st])
    assert h.node.own_latest(0) == [st]
    # A restored node never votes for another value once it had committed.
    if kind != "prepare":
        h.recv_quorum(prepare_gen(Ballot(5, Z), Ballot(5, Z)), checks=False)
        assert all(st.pledge.ballot.value == X for st in h.envs if isinstance(st.pledge, Prepare | Confirm))
    if kind == "externalize":
        assert h.node.externalized_value(0) == X
    if kind == "confirm":
        for node in (v1, v2, v3):
            h.recv(confirm(node, 2, b, 1, 2))
        assert h.externalized == [X]


def test_restore_after_start_is_refused() -> None:
    h = Harness()
    assert h.bump_state(X)
    with pytest.raises(ConsensusError):
        h.node.restore([prepare(v0, Ballot(3, X))])


# ------------------------------------------------- more sections of "Quorum A2" and "Confirm prepared A2"

X_ONLY = [pytest.param((X, Z), id="start <1,x>")]


@pytest.mark.parametrize("ab", VALUES)
def test_vblocking_prepared_a3(ab: tuple[bytes, bytes]) -> None:
    a, _ = ab
    a3 = Ballot(3, a)
    h = _quorum_a2(a)
    h.recv_vblocking(prepare_gen(a3, a3, 2, 2))
    assert len(h.envs) == 7
    assert is_confirm(h.envs[6], 3, a3, 2, 2)
    assert not h.has_ballot_timer()


@pytest.mark.parametrize("ab", X_ONLY)
def test_vblocking_prepared_a3_plus_b3(ab: tuple[bytes, bytes]) -> None:
    a, b = ab
    a3, b3 = Ballot(3, a), Ballot(3, b)
    h = _quorum_a2(a)
    h.recv_vblocking(prepare_gen(a3, b3, 2, 2, a3))
    assert len(h.envs) == 7
    assert is_confirm(h.envs[6], 3, a3, 2, 2)
    assert not h.has_ballot_timer()


@pytest.mark.parametrize("ab", VALUES)
def test_vblocking_confirm_a3(ab: tuple[bytes, bytes]) -> None:
    a, _ = ab
    a3 = Ballot(3, a)
    h = _quorum_a2(a)
    h.recv_vblocking(confirm_gen(3, a3, 2, 2))
    assert len(h.envs) == 7
    assert is_confirm(h.envs[6], 3, a3, 2, 2)
    assert not h.has_ballot_timer()


@pytest.mark.parametrize("ab", VALUES)
def test_hang_network_externalize_other_value(ab: tuple[bytes, bytes]) -> None:
    """Committed to A in CONFIRM: the network externalizing B bumps our counter but never our value."""
    a, b = ab
    h = _quorum_a2(a)
    h.recv_vblocking(externalize_gen(Ballot(2, b), 3))
    assert len(h.envs) == 7
    assert is_confirm(h.envs[6], 2, Ballot(INF, a), 2, 2)
    assert not h.has_ballot_timer()
    h.recv_quorum(externalize_gen(Ballot(2, b), 3), checks=False)
    assert len(h.envs) == 7
    assert h.externalized == []
    assert h.has_ballot_timer_upcoming()


@pytest.mark.parametrize("ab", VALUES)
def test_hang_network_confirms_other_ballot_same_counter(ab: tuple[bytes, bytes]) -> None:
    a, b = ab
    h = _quorum_a2(a)
    h.recv_quorum(confirm_gen(3, Ballot(2, b), 2, 3), checks=False)  # nH > b.counter: insane, dropped
    assert len(h.envs) == 6
    assert h.externalized == []
    assert not h.has_ballot_timer_upcoming()


@pytest.mark.parametrize("ab", VALUES)
def test_hang_network_confirms_other_ballot_different_counter(ab: tuple[bytes, bytes]) -> None:
    a, b = ab
    b3 = Ballot(3, b)
    h = _quorum_a2(a)
    h.recv_vblocking(confirm_gen(3, b3, 3, 3))
    assert len(h.envs) == 7
    assert is_confirm(h.envs[6], 2, Ballot(3, a), 2, 2)
    assert not h.has_ballot_timer()
    h.recv_quorum(confirm_gen(3, b3, 3, 3), checks=False)
    assert len(h.envs) == 7
    assert h.externalized == []
    assert h.has_ballot_timer_upcoming()


@pytest.mark.parametrize("ab", X_ONLY)
def test_get_conflicting_prepared_b_same_counter(ab: tuple[bytes, bytes]) -> None:
    a, b = ab
    a2, b2 = Ballot(2, a), Ballot(2, b)
    h = _confirm_prepared_a2(a)
    h.recv_vblocking(prepare_gen(b2, b2))
    assert len(h.envs) == 6
    assert is_prepare(h.envs[5], a2, b2, 0, 2, a2)  # accepting an abort of A2 drops our commit vote
    assert not h.has_ballot_timer_upcoming()
    h.recv_quorum(prepare_gen(b2, b2, 2, 2))
    assert len(h.envs) == 7
    assert is_confirm(h.envs[6], 2, b2, 2, 2)
    assert not h.has_ballot_timer_upcoming()


@pytest.mark.parametrize("ab", X_ONLY)
def test_get_conflicting_prepared_b_higher_counter(ab: tuple[bytes, bytes]) -> None:
    a, b = ab
    a2, a3, b2, b3 = Ballot(2, a), Ballot(3, a), Ballot(2, b), Ballot(3, b)
    h = _confirm_prepared_a2(a)
    h.recv_vblocking(prepare_gen(b3, b2, 2, 2))
    assert len(h.envs) == 6
    assert is_prepare(h.envs[5], a3, b2, 0, 2, a2)
    assert not h.has_ballot_timer()
    h.recv_quorum(prepare_gen(b3, b2, 2, 2), delayed=True, check_upcoming=True)
    assert len(h.envs) == 7
    assert is_confirm(h.envs[6], 3, b3, 2, 2)


@pytest.mark.parametrize("mixed", ["A2", "B2"])
def test_confirm_prepared_mixed(mixed: str) -> None:
    a, b = X, Z
    a2, b2 = Ballot(2, a), Ballot(2, b)
    h = _bump_prepared_a2(a)
    h.recv_vblocking(prepare_gen(b2, b2, 0, 0, a2))
    assert len(h.envs) == 5
    assert is_prepare(h.envs[4], a2, b2, 0, 0, a2)
    assert not h.has_ballot_timer_upcoming()
    h.bump_timer_offset()
    target = a2 if mixed == "A2" else b2
    h.recv(prepare(v3, target, target))
    assert len(h.envs) == 6
    if mixed == "A2":
        assert is_prepare(h.envs[5], a2, b2, 0, 2, a2)
    else:
        assert is_prepare(h.envs[5], b2, b2, 2, 2, a2)
    assert not h.has_ballot_timer_upcoming()
    h.bump_timer_offset()
    h.recv(prepare(v4, target, target))
    assert len(h.envs) == 6
    assert not h.has_ballot_timer_upcoming()


# ------------------------------------------- "start <1,x>" → switching p and p' (values x < y < z < zz)


def _switch_prepared_b1_from_a1() -> Harness:
    a1, a2, b1, b2 = Ballot(1, X), Ballot(2, X), Ballot(1, Z), Ballot(2, Z)
    h = _prepared_a1(X)
    h.recv_vblocking(prepare_gen(b1, b1))
    assert len(h.envs) == 3
    assert is_prepare(h.envs[2], a1, b1, 0, 0, a1)
    assert not h.has_ballot_timer_upcoming()
    h.recv_vblocking(prepare_gen(b2))
    assert len(h.envs) == 4
    assert is_prepare(h.envs[3], a2, b1, 0, 0, a1)
    h.recv_vblocking(prepare_gen(b2, b2))
    assert len(h.envs) == 5
    assert is_prepare(h.envs[4], a2, b2, 0, 0, a1)
    assert not h.has_ballot_timer()  # no quorum: the others are still on (1, a)
    return h


def test_vblocking_switches_to_previous_value_of_p() -> None:
    h = _switch_prepared_b1_from_a1()
    h.recv_vblocking(prepare_gen(Ballot(3, Z)))
    assert len(h.envs) == 6
    assert is_prepare(h.envs[5], Ballot(3, X), Ballot(2, Z), 0, 0, Ballot(1, X))
    assert not h.has_ballot_timer()
    h.recv_vblocking(prepare_gen(Ballot(3, Z), Ballot(1, Z)), checks=False)
    assert len(h.envs) == 6
    assert not h.has_ballot_timer()


def test_switch_p_prime_to_mid2() -> None:
    h = _switch_prepared_b1_from_a1()
    b2, mid2 = Ballot(2, Z), Ballot(2, Y)
    h.recv_vblocking(prepare_gen(b2, b2, 0, 0, mid2))
    assert len(h.envs) == 6
    assert is_prepare(h.envs[5], Ballot(2, X), b2, 0, 0, mid2)
    assert not h.has_ballot_timer()


def test_switch_again_big2() -> None:
    h = _switch_prepared_b1_from_a1()
    b2, big2 = Ballot(2, Z), Ballot(2, ZZ)
    h.recv_vblocking(prepare_gen(b2, big2, 0, 0, b2))
    assert len(h.envs) == 6
    assert is_prepare(h.envs[5], Ballot(2, X), big2, 0, 0, b2)
    assert not h.has_ballot_timer()


def test_switch_prepare_b1() -> None:
    a1, b1 = Ballot(1, X), Ballot(1, Z)
    h = _prepared_a1(X)
    h.recv_quorum(prepare_gen(b1), delayed=True)
    assert len(h.envs) == 3
    assert is_prepare(h.envs[2], a1, b1, 0, 0, a1)
    assert not h.has_ballot_timer_upcoming()


def test_prepare_higher_counter_vblocking() -> None:
    a1 = Ballot(1, X)
    h = _prepared_a1(X)
    h.recv_vblocking(prepare_gen(Ballot(2, Z)))
    assert len(h.envs) == 3
    assert is_prepare(h.envs[2], Ballot(2, X), a1)
    assert not h.has_ballot_timer()
    h.recv_vblocking(prepare_gen(Ballot(3, Z)))
    assert len(h.envs) == 4
    assert is_prepare(h.envs[3], Ballot(3, X), a1)
    assert not h.has_ballot_timer()


def test_prepared_b_vblocking() -> None:
    b1 = Ballot(1, Z)
    h = _start(X)
    h.recv_vblocking(prepare_gen(b1, b1))
    assert len(h.envs) == 2
    assert is_prepare(h.envs[1], Ballot(1, X), b1)
    assert not h.has_ballot_timer()


def test_prepare_b_quorum() -> None:
    b1 = Ballot(1, Z)
    h = _start(X)
    h.recv_quorum(prepare_gen(b1), delayed=True, check_upcoming=True)
    assert len(h.envs) == 2
    assert is_prepare(h.envs[1], Ballot(1, X), b1)


def test_confirm_vblocking_via_confirm() -> None:
    h = _start(X)
    h.bump_timer_offset()
    h.recv(confirm(v1, 3, Ballot(3, X), 3, 3))
    h.recv(confirm(v2, 4, Ballot(4, X), 2, 4))
    assert len(h.envs) == 2
    assert is_confirm(h.envs[1], 3, Ballot(3, X), 3, 3)
    assert not h.has_ballot_timer()


def test_confirm_vblocking_via_externalize() -> None:
    h = _start(X)
    h.recv(externalize(v1, Ballot(2, X), 4))
    h.recv(externalize(v2, Ballot(3, X), 5))
    assert len(h.envs) == 2
    assert is_confirm(h.envs[1], INF, Ballot(INF, X), 3, INF)
    assert not h.has_ballot_timer()


# ------------------------------------------------------------------ core3: v-blocking set == quorum


def test_core3_prepared_b1_then_quorum_bumps_to_a1() -> None:
    q = QuorumSet(2, (v0, v1, v2))
    h = Harness(q)
    a, b = Z, X
    a1, a2, b1 = Ballot(1, a), Ballot(2, a), Ballot(1, b)

    def prep(
        node: bytes, bal: Ballot, p: Ballot | None = None, nc: int = 0, nh: int = 0, pp: Ballot | None = None
    ) -> Statement:
        return Statement(node, 0, q.hash, Prepare(bal, p, pp, nc, nh))

    assert h.bump_state(a)
    assert len(h.envs) == 1
    h.bump_timer_offset()
    h.recv(prep(v1, b1))
    h.recv(prep(v2, b1))
    assert len(h.envs) == 2
    assert is_prepare(h.envs[1], a1, b1)
    assert h.has_ballot_timer_upcoming()
    h.bump_timer_offset()
    h.recv(prep(v1, b1, b1))
    h.recv(prep(v2, b1, b1))
    assert len(h.envs) == 2  # confirm prepared B1 changes nothing while b = A1 > B1
    assert not h.has_ballot_timer_upcoming()
    h.bump_timer_offset()
    h.recv(prep(v1, a1, b1))  # quorum with v1 (min quorum) prepared A1
    assert len(h.envs) == 3
    assert is_prepare(h.envs[2], a1, a1, 0, 0, b1)
    assert not h.has_ballot_timer_upcoming()
    h.bump_timer_offset()
    h.recv(prep(v1, a2, a1, 1, 1, b1))
    assert len(h.envs) == 4
    assert is_confirm(h.envs[3], 2, a1, 1, 1)
    assert not h.has_ballot_timer_upcoming()


def test_vblocking_commit_of_another_value_than_p_keeps_state_consistent() -> None:
    """Regression (found by the simulator with a v-blocking equivocator): accepting commit of x while
    p is a z-ballot must not leave p incompatible with the commit (CORE would assert later)."""
    h = Harness()
    assert h.bump_state(X)
    z3 = Ballot(3, Z)
    h.recv_vblocking(prepare_gen(z3, z3))
    assert h.envs[-1].pledge == Prepare(Ballot(3, X), z3)  # bumped to 3 by step 9, p = z3
    h.recv_vblocking(confirm_gen(2, Ballot(2, X), 1, 2))
    cur = h.envs[-1].pledge
    assert isinstance(cur, Confirm)
    assert (cur.n_commit, cur.n_h) == (1, 2)
    slot = h.node._slots[0].ballot
    assert slot.p is not None
    assert slot.p.value == X
    h.recv(prepare(v3, Ballot(5, X), Ballot(5, X)))  # v3 and v4 (v-blocking) raise p in CONFIRM
    h.recv(prepare(v4, Ballot(5, X), Ballot(5, X)))
    assert slot.p == Ballot(5, X)
    assert is_confirm(h.envs[-1], 5, Ballot(5, X), 1, 2)


# --------------------------------------------------------- "start from pristine": no ballot of our own


def _pristine_confirm_prepared_a2() -> Harness:
    """Without ever bumping, v0 only listens; it emits nothing until it has a ballot (b stays None)."""
    h = Harness()
    a1, a2 = Ballot(1, X), Ballot(2, X)
    h.recv_quorum(prepare_gen(a1), checks=False)
    assert h.envs == []
    h.recv_vblocking(prepare_gen(a2, a2), checks=False)
    assert h.envs == []
    return h


def test_pristine_quorum_a2() -> None:
    a2 = Ballot(2, X)
    h = _pristine_confirm_prepared_a2()
    h.recv_vblocking(prepare_gen(a2, a2), checks=False)
    assert h.envs == []
    h.recv_quorum(prepare_gen(a2, a2))
    assert len(h.envs) == 1
    assert is_prepare(h.envs[0], a2, a2, 1, 2)


def test_pristine_quorum_b2() -> None:
    a2, b2 = Ballot(2, X), Ballot(2, Z)
    h = _pristine_confirm_prepared_a2()
    h.recv_vblocking(prepare_gen(b2, b2), checks=False)
    assert h.envs == []
    h.recv_quorum(prepare_gen(b2, b2))
    assert len(h.envs) == 1
    assert is_prepare(h.envs[0], b2, b2, 2, 2, a2)


@pytest.mark.parametrize("value", [X, Z], ids=["Quorum A2", "Quorum B2"])
def test_pristine_accept_commit_quorum(value: bytes) -> None:
    b2 = Ballot(2, value)
    h = _pristine_confirm_prepared_a2()
    h.recv_quorum(prepare_gen(b2, b2, 2, 2))
    assert len(h.envs) == 1
    assert is_confirm(h.envs[0], 2, b2, 2, 2)


@pytest.mark.parametrize(
    ("n_p", "ballot", "nc", "nh"),
    [(2, Ballot(2, X), 2, 2), (4, Ballot(4, X), 3, 4), (2, Ballot(2, Z), 2, 2)],
    ids=["CONFIRM A2", "CONFIRM A3..4", "CONFIRM B2"],
)
def test_pristine_accept_commit_vblocking_confirm(n_p: int, ballot: Ballot, nc: int, nh: int) -> None:
    h = _pristine_confirm_prepared_a2()
    h.recv_vblocking(confirm_gen(n_p, ballot, nc, nh))
    assert len(h.envs) == 1
    assert is_confirm(h.envs[0], n_p, ballot, nc, nh)


@pytest.mark.parametrize("value", [X, Z], ids=["EXTERNALIZE A2", "EXTERNALIZE B2"])
def test_pristine_accept_commit_vblocking_externalize(value: bytes) -> None:
    h = _pristine_confirm_prepared_a2()
    h.recv_vblocking(externalize_gen(Ballot(2, value), 2))
    assert len(h.envs) == 1
    assert is_confirm(h.envs[0], INF, Ballot(INF, value), 2, INF)


@pytest.mark.parametrize("mixed", ["A2", "B2"])
def test_pristine_confirm_prepared_mixed(mixed: str) -> None:
    a1, a2, b2 = Ballot(1, X), Ballot(2, X), Ballot(2, Z)
    h = Harness()
    h.recv_quorum(prepare_gen(a1), checks=False)
    h.recv_vblocking(prepare_gen(a2, a2), checks=False)
    h.recv_vblocking(prepare_gen(a2, b2, 0, 0, a2), checks=False)
    assert h.envs == []
    target = a2 if mixed == "A2" else b2
    h.recv(prepare(v3, target, target))
    assert len(h.envs) == 1
    if mixed == "A2":
        assert is_prepare(h.envs[0], a2, b2, 0, 2, a2)
    else:
        assert is_prepare(h.envs[0], b2, b2, 2, 2, a2)
    h.recv(prepare(v4, target, target))
    assert len(h.envs) == 1


def test_pristine_prepared_b_vblocking_emits_nothing() -> None:
    h = Harness()
    h.recv_vblocking(prepare_gen(Ballot(1, Z), Ballot(1, Z)), checks=False)
    assert h.envs == []


def test_pristine_confirm_vblocking_via_confirm_and_externalize() -> None:
    h = Harness()
    h.recv(confirm(v1, 3, Ballot(3, X), 3, 3))
    h.recv(confirm(v2, 4, Ballot(4, X), 2, 4))
    assert len(h.envs) == 1
    assert is_confirm(h.envs[0], 3, Ballot(3, X), 3, 3)
    h2 = Harness()
    h2.recv(externalize(v1, Ballot(2, X), 4))
    h2.recv(externalize(v2, Ballot(3, X), 5))
    assert len(h2.envs) == 1
    assert is_confirm(h2.envs[0], INF, Ballot(INF, X), 3, INF)


# ------------------------------------------------------------- "start <1,z>" variants (B < A here)


def test_z_get_conflicting_prepared_b_same_counter_changes_nothing() -> None:
    h = _confirm_prepared_a2(Z)
    b2 = Ballot(2, X)
    h.recv_quorum(prepare_gen(b2, b2), checks=False)
    assert len(h.envs) == 5
    assert not h.has_ballot_timer_upcoming()


def test_z_get_conflicting_prepared_b_higher_counter() -> None:
    a2, a3, b2, b3 = Ballot(2, Z), Ballot(3, Z), Ballot(2, X), Ballot(3, X)
    h = _confirm_prepared_a2(Z)
    h.recv_vblocking(prepare_gen(b3, b2, 2, 2))
    assert len(h.envs) == 6
    assert is_prepare(h.envs[5], a3, a2, 2, 2, b2)
    assert not h.has_ballot_timer()
    h.recv_quorum(prepare_gen(b3, b2, 2, 2), delayed=True, check_upcoming=True)
    assert len(h.envs) == 7
    assert is_confirm(h.envs[6], 3, b3, 2, 2)


@pytest.mark.parametrize("mixed", ["A2", "B2"])
def test_z_confirm_prepared_mixed(mixed: str) -> None:
    a2, b2 = Ballot(2, Z), Ballot(2, X)
    h = _bump_prepared_a2(Z)
    h.recv_vblocking(prepare_gen(a2, a2, 0, 0, b2))
    assert len(h.envs) == 5
    assert is_prepare(h.envs[4], a2, a2, 0, 0, b2)
    h.bump_timer_offset()
    if mixed == "A2":
        h.recv(prepare(v3, a2, a2))
        assert len(h.envs) == 6
        assert is_prepare(h.envs[5], a2, a2, 2, 2, b2)
        h.bump_timer_offset()
        h.recv(prepare(v4, a2, a2))
        assert len(h.envs) == 6
    else:
        h.recv(prepare(v3, a2, b2))
        assert len(h.envs) == 5
        h.bump_timer_offset()
        h.recv(prepare(v4, b2, b2))
        assert len(h.envs) == 5
    assert not h.has_ballot_timer_upcoming()


@pytest.mark.parametrize("with_p", [True, False], ids=["switch prepared B1 from A1", "switch prepare B1"])
def test_z_switch_b1_changes_nothing(with_p: bool) -> None:
    b1 = Ballot(1, X)
    h = _prepared_a1(Z)
    h.recv_quorum(prepare_gen(b1, b1 if with_p else None), checks=False)
    assert len(h.envs) == 2
    assert not h.has_ballot_timer_upcoming()
