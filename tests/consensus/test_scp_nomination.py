"""Nomination protocol on the 5-node core (CORE "nomination tests core5"), plus leader weights.

Leader choice is pinned with the driver's priority lookup (self 1000, others 1 unless a test says
otherwise), and value hashes with a lookup, exactly as stellar-core's ``TestSCP`` does.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from scp_helpers import CORE5, Harness, RecordingDriver, X, Y, is_prepare, nominate, v0, v1, v2, v3, v4

from consensus import Ballot, Nominate, QuorumSet, TimerKind
from consensus._nomination import NominationProtocol
from consensus._quorum import U64_MAX, node_weight, normalize_quorum_set

K = b"k"  # another value; sorted: k < x < y
VALUES_SORTED = sorted([X, Y, K])


def _top(node: bytes) -> Callable[[bytes], int]:
    return lambda n: 1000 if n == node else 1


def _leaders(h: Harness) -> set[bytes]:
    return h.node._slots[0].nomination.round_leaders


def _is_nominate(h: Harness, i: int, votes: list[bytes], accepted: list[bytes]) -> bool:
    return h.envs[i].pledge == Nominate(tuple(sorted(votes)), tuple(sorted(accepted)))


def _others_nominate_x() -> Harness:
    """v0 is top and nominates x; others echo x; x is accepted, then confirmed: prepare (1, x)."""
    h = Harness()
    h.driver.composite = X
    h.nominate(X)
    assert _leaders(h) == {v0}
    assert len(h.envs) == 1
    assert _is_nominate(h, 0, [X], [])
    h.recv(nominate(v1, [X]))
    h.recv(nominate(v2, [X]))
    assert len(h.envs) == 1
    h.recv(nominate(v3, [X]))
    assert len(h.envs) == 2
    assert _is_nominate(h, 1, [X], [X])
    h.recv(nominate(v4, [X]))
    assert len(h.envs) == 2
    h.recv(nominate(v1, [X], [X]))
    h.recv(nominate(v2, [X], [X]))
    assert len(h.envs) == 2
    h.recv(nominate(v3, [X], [X]))
    assert len(h.envs) == 3
    assert is_prepare(h.envs[2], Ballot(1, X))
    assert h.driver.combined == [[X]]
    h.recv(nominate(v4, [X], [X]))
    assert len(h.envs) == 3
    return h


def test_others_nominate_what_v0_says_then_prepare_x() -> None:
    h = _others_nominate_x()
    assert TimerKind.NOMINATION not in h.timers  # stopped once a candidate is confirmed


def test_others_accepted_y_updates_latest_composite() -> None:
    h = _others_nominate_x()
    h.recv(nominate(v1, [X, Y], [X, Y]))
    assert len(h.envs) == 3
    h.recv(nominate(v2, [X, Y], [X, Y]))  # v-blocking accepted y
    assert len(h.envs) == 4
    assert _is_nominate(h, 3, [X, Y], [X, Y])
    h.driver.composite = K
    h.recv(nominate(v3, [X, Y], [X, Y]))
    assert len(h.envs) == 4  # the ballot already started: the new composite waits for a timeout
    assert h.node._slots[0].nomination.latest_composite == K
    assert h.driver.combined[-1] == [X, Y]
    h.recv(nominate(v4, [X, Y], [X, Y]))
    assert len(h.envs) == 4


@pytest.mark.parametrize("ballot_started", [False, True], ids=["ballot not started", "ballot started on k"])
def test_nomination_restored_state(ballot_started: bool) -> None:
    h = Harness()
    h.driver.composite = X
    if ballot_started:
        h.node.restore([Harness_statement_prepare(Ballot(1, K))])
    h.node.restore([nominate(v0, [X], [X])])
    h.nominate(Y)
    assert _leaders(h) == {v0}
    assert len(h.envs) == 1
    assert _is_nominate(h, 0, [X, Y], [X])
    for node in (v1, v2, v3):
        h.recv(nominate(node, [X]))
    for node in (v1, v2):
        h.recv(nominate(node, [X], [X]))
    assert len(h.envs) == 1
    h.recv(nominate(v3, [X], [X]))
    if ballot_started:
        assert len(h.envs) == 1
    else:
        assert len(h.envs) == 2
        assert is_prepare(h.envs[1], Ballot(1, X))


def Harness_statement_prepare(b: Ballot):  # type: ignore[no-untyped-def]
    from scp_helpers import prepare

    return prepare(v0, b)


def test_receive_more_messages_then_switch_to_a_different_leader() -> None:
    h = Harness()
    h.nominate(X)
    assert len(h.envs) == 1
    h.recv(nominate(v1, [K]))
    h.recv(nominate(v2, [Y]))
    assert len(h.envs) == 1  # not leaders: nothing echoed
    h.driver.priority = _top(v1)
    h.fire(TimerKind.NOMINATION)
    assert _leaders(h) == {v0, v1}
    assert len(h.envs) == 2
    assert _is_nominate(h, 1, [X, K], [])


def test_self_nominates_x_others_only_vote_y() -> None:
    h = Harness()
    h.nominate(X)
    assert _is_nominate(h, 0, [X], [])
    for node in (v1, v2, v3):
        h.recv(nominate(node, [Y]))
    assert len(h.envs) == 1
    h.recv(nominate(v4, [Y]))  # v1..v4 are a quorum on their own
    assert len(h.envs) == 2
    assert _is_nominate(h, 1, [X, Y], [Y])


def test_self_nominates_x_others_accepted_y_prepare_y() -> None:
    h = Harness()
    h.nominate(X)
    h.recv(nominate(v1, [Y], [Y]))
    assert len(h.envs) == 1
    h.recv(nominate(v2, [Y], [Y]))
    assert len(h.envs) == 2
    assert _is_nominate(h, 1, [X, Y], [Y])
    h.recv(nominate(v3, [Y], [Y]))
    assert len(h.envs) == 3
    assert is_prepare(h.envs[2], Ballot(1, Y))
    assert h.driver.combined == [[Y]]
    h.recv(nominate(v4, [Y], [Y]))
    assert len(h.envs) == 3


# ------------------------------------------------------------------------------------ v1 is top


def _v1_top() -> Harness:
    d = RecordingDriver(priority=_top(v1), value_hash=lambda v: 1 + VALUES_SORTED.index(v))
    return Harness(driver=d)


def test_nomination_waits_for_v1_then_timeout_picks_another_value() -> None:
    h = _v1_top()
    h.nominate(X)
    assert _leaders(h) == {v1}
    assert h.envs == []
    h.recv(nominate(v2, [X, K]))
    h.recv(nominate(v3, [Y, K]))
    assert h.envs == []
    h.recv(nominate(v1, [X, Y]))
    assert len(h.envs) == 1
    assert _is_nominate(h, 0, [Y], [])  # one value echoed: the best hash
    h.recv(nominate(v4, [X, K]))
    assert len(h.envs) == 1
    h.driver.composite = X
    h.fire(TimerKind.NOMINATION)
    assert len(h.envs) == 2
    assert _is_nominate(h, 1, [X, Y], [X])


@pytest.mark.parametrize(
    ("new_top", "leaders", "votes"),
    [(v0, {v0, v1}, [X]), (v2, {v1, v2}, [max(X, K)]), (v3, {v1, v3}, None)],
    ids=["v0 is new top node", "v2 is new top node", "v3 is new top node"],
)
def test_v1_dead_timeout(new_top: bytes, leaders: set[bytes], votes: list[bytes] | None) -> None:
    h = _v1_top()
    h.nominate(X)
    h.recv(nominate(v2, [X, K]))
    assert h.envs == []
    assert _leaders(h) == {v1}
    h.driver.priority = _top(new_top)
    h.fire(TimerKind.NOMINATION)
    assert _leaders(h) == leaders
    if votes is None:
        assert h.envs == []
    else:
        assert len(h.envs) == 1
        assert _is_nominate(h, 0, votes, [])


def test_round_timeouts_grow() -> None:
    h = _v1_top()
    h.nominate(X)
    first, _ = h.timers[TimerKind.NOMINATION]
    h.fire(TimerKind.NOMINATION)
    second, _ = h.timers[TimerKind.NOMINATION]
    assert first - 0 == 1000
    assert second - h.now == 2000


def test_non_leader_values_are_not_echoed_and_invalid_values_filtered() -> None:
    h = _v1_top()
    h.driver.invalid.add(Y)
    h.nominate(X)
    h.recv(nominate(v1, [Y]))  # the leader proposes only an invalid value
    assert h.envs == []
    h.recv(nominate(v1, [K, Y]))
    assert _is_nominate(h, 0, [K], [])


def test_timeout_before_nominating_is_ignored() -> None:
    h = Harness()
    assert h.node.timer_fired(0, TimerKind.NOMINATION, 1, 0) == []


# -------------------------------------------------------------------------------------- weights


def test_nomination_weight() -> None:
    """CORE SCPUnitTests "nomination weight": 3-of-4 ⇒ 0.75; inside a 1-of-2 of a 3-of-5 ⇒ 0.6 × 0.5."""
    ids = [bytes([i]) * 32 for i in range(6)]
    q = QuorumSet(3, tuple(ids[:4]))
    assert node_weight(ids[2], q) == -(-U64_MAX * 3 // 4)
    inner = QuorumSet(1, (ids[4], ids[5]))
    q2 = QuorumSet(3, tuple(ids[:4]), (inner,))
    w = node_weight(ids[5], q2)
    assert abs(w / U64_MAX - 0.6 * 0.5) < 1e-9
    assert node_weight(bytes([9]) * 32, q2) == 0


def test_update_round_leaders_handles_zero_weight_nodes() -> None:
    """Zero-weight nodes never lead and do not count toward the leader cap (CORE commit 1adae40f1)."""
    d = RecordingDriver(priority=lambda n: 1000 if n == v1 else 1)
    d_weight: Callable[[bytes, QuorumSet, bool], int] = lambda n, q, local: (  # noqa: E731
        U64_MAX if local or n == v1 else 0
    )
    d.node_weight = d_weight  # type: ignore[attr-defined]
    h = Harness(driver=d)
    h.nominate(X)
    assert _leaders(h) == {v1}
    for _ in range(3):
        h.fire(TimerKind.NOMINATION)
    assert _leaders(h) <= {v0, v1}


def test_leader_loop_fast_forwards_rounds_that_add_nobody() -> None:
    h = Harness()
    h.nominate(X)
    nom: NominationProtocol = h.node._slots[0].nomination
    assert nom.round == 1
    # v0 stays top: the next timeout skips rounds until someone new leads (nobody new ⇒ cap reached).
    h.driver.priority = _top(v2)
    h.fire(TimerKind.NOMINATION)
    assert v2 in _leaders(h)
    assert normalize_quorum_set(CORE5, remove=v0).threshold == 3


def test_leader_accepted_values_are_preferred_over_its_votes() -> None:
    """CORE "select accepted value from leader": echo from the leader's accepted set first."""
    h = _v1_top()
    h.nominate(X)
    h.recv(nominate(v1, [X, Y], [K]))
    assert _is_nominate(h, 0, [K], [])


def test_candidates_stop_new_votes() -> None:
    """Once a candidate is confirmed the node introduces no new values, even as leader on timeout."""
    h = _others_nominate_x()
    n = len(h.envs)
    h.recv(nominate(v1, [X, Y]))  # v1 is not a leader here, and candidates exist anyway
    assert len(h.envs) == n
    assert h.node.nominate(0, Y, b"", h.now) == []
