"""``ScpNode`` façade: quorum-set parking, timers, purging, state queries and externalize proofs."""

from __future__ import annotations

from scp_helpers import CORE5, INF, Harness, X, Z, confirm, externalize, nominate, prepare, v0, v1, v2, v3, v4

from consensus import (
    Ballot,
    NeedQuorumSet,
    Prepare,
    QuorumSet,
    Statement,
    TimerKind,
    proof_is_valid,
)

OTHER_Q = QuorumSet(3, (v0, v1, v2, v3, v4))  # a peer's own quorum set (3 of 5): unknown to v0 at first


def _with_qset(st: Statement, q: QuorumSet) -> Statement:
    return Statement(st.node_id, st.slot, q.hash, st.pledge)


def test_unknown_quorum_set_is_parked_and_released() -> None:
    h = Harness()
    assert h.bump_state(X)
    b = Ballot(1, X)
    effects = h.recv(_with_qset(prepare(v1, b), OTHER_Q))
    assert effects == [NeedQuorumSet(OTHER_Q.hash, v1)]
    assert h.recv(_with_qset(prepare(v1, Ballot(2, X)), OTHER_Q)) == []  # one request per (qset, sender)
    assert h.recv(_with_qset(prepare(v2, b), OTHER_Q)) == [NeedQuorumSet(OTHER_Q.hash, v2)]
    h.recv(prepare(v3, b))
    assert len(h.envs) == 1  # v1, v2 do not count yet: no quorum
    assert len(h.node.latest_statements(0)) == 2  # ours and v3's
    h.apply(h.node.add_quorum_set(OTHER_Q, h.now))
    assert len(h.envs) == 2  # released: v0..v3 accept prepared (1, x)
    assert h.envs[1].pledge == Prepare(b, b)
    assert h.node.quorum_set(OTHER_Q.hash) is not None
    assert h.node.quorum_set(CORE5.hash) is not None


def test_insane_quorum_set_drops_parked_statements() -> None:
    h = Harness()
    bad = QuorumSet(9, (v1,))
    h.recv(_with_qset(prepare(v1, Ballot(1, X)), bad))
    assert h.node.add_quorum_set(bad, 0) == []
    assert h.node.quorum_set(bad.hash) is None
    assert h.node.latest_statements(0) == []


def test_externalize_needs_no_quorum_set() -> None:
    h = Harness()
    unknown = QuorumSet(1, (v1,))
    assert h.recv(_with_qset(externalize(v1, Ballot(1, X), 1), unknown)) == []
    assert len(h.node.latest_statements(0)) == 1


def test_own_statements_from_the_network_are_ignored() -> None:
    h = Harness()
    assert h.bump_state(X)
    assert h.recv(prepare(v0, Ballot(9, Z), Ballot(9, Z))) == []
    assert h.current().pledge == Prepare(Ballot(1, X))


def test_invalid_values_are_dropped() -> None:
    h = Harness()
    h.driver.invalid.add(Z)
    h.recv(prepare(v1, Ballot(1, Z)))
    assert h.node.latest_statements(0) == []


def test_purge_slots_below() -> None:
    h = Harness()
    h.nominate(X, slot=3)
    h.nominate(X, slot=7)
    assert h.node.active_slots() == [3, 7]
    gen = h.timers[TimerKind.NOMINATION][1]
    h.node.purge_slots_below(5)
    assert h.node.active_slots() == [7]
    assert h.node.latest_statements(3) == []
    assert h.recv(nominate(v1, [X], slot=3)) == []
    assert h.node.active_slots() == [7]
    assert h.node.timer_fired(3, TimerKind.NOMINATION, gen, 0) == []


def test_watcher_never_nominates_or_emits() -> None:
    h = Harness(is_validator=False)
    assert h.nominate(X) == []
    assert h.envs == []


def test_stale_ballot_timer_after_externalize_is_noop() -> None:
    h = Harness()
    assert h.bump_state(X)
    h.recv_quorum(lambda n: prepare(n, Ballot(1, X)), checks=False)
    _, gen = h.timers[TimerKind.BALLOT]
    b = Ballot(1, X)
    for n in (v1, v2, v3):
        h.recv(externalize(n, b, 1))
    for n in (v1, v2, v3, v4):
        h.recv(confirm(n, 1, b, 1, 1))
    assert h.externalized == [X]
    assert h.node.timer_fired(0, TimerKind.BALLOT, gen, h.now + 10_000) == []


def _externalized_harness() -> Harness:
    h = Harness()
    assert h.bump_state(X)
    b = Ballot(1, X)
    for n in (v1, v2, v3):
        h.recv(prepare(n, b, b, 1, 1))
    for n in (v1, v2, v3):
        h.recv(confirm(n, 1, b, 1, 1))
    assert h.externalized == [X]
    return h


def test_externalize_proof_is_valid_and_checked() -> None:
    h = _externalized_harness()
    proof = h.node.externalize_proof(0)
    assert {st.node_id for st in proof} == {v0, v1, v2, v3}
    known = {CORE5.hash: CORE5}
    late = bytes([0x55]) * 32  # a node catching up, with the same quorum set
    assert proof_is_valid(late, CORE5, proof, 0, X, known.get)
    assert not proof_is_valid(late, CORE5, proof, 0, Z, known.get)  # wrong value
    assert not proof_is_valid(late, CORE5, proof, 1, X, known.get)  # wrong slot
    assert not proof_is_valid(late, CORE5, proof[:2], 0, X, known.get)  # not a quorum
    assert not proof_is_valid(late, CORE5, [*proof, proof[0]], 0, X, known.get)  # duplicate sender
    assert not proof_is_valid(late, CORE5, proof, 0, X, lambda h: None)  # unknown quorum sets
    prepares = [prepare(n, Ballot(1, X), Ballot(1, X), 1, 1) for n in (v1, v2, v3, v4)]
    assert not proof_is_valid(late, CORE5, prepares, 0, X, known.get)  # PREPARE commits nothing


def test_own_latest_and_latest_statements() -> None:
    h = _externalized_harness()
    own = h.node.own_latest(0)
    assert [st.node_id for st in own] == [v0]
    assert own[0].pledge.__class__.__name__ == "Externalize"
    latest = h.node.latest_statements(0)
    assert {st.node_id for st in latest} == {v0, v1, v2, v3}
    assert h.node.externalized_value(0) == X
    assert h.node.externalized_value(1) is None
    assert INF > 0


def test_nominating_a_decided_slot_does_nothing() -> None:
    h = _externalized_harness()
    assert h.nominate(Z) == []
    assert h.node.externalized_value(0) == X


def test_parked_statements_are_bounded() -> None:
    from consensus._node import MAX_PARKED

    h = Harness()
    for i in range(MAX_PARKED + 50):
        q = QuorumSet(1, (bytes([i % 256, i // 256]) * 16,))
        h.recv(_with_qset(prepare(v1, Ballot(1, X), slot=i), q))
    assert len(h.node._parked) == MAX_PARKED
