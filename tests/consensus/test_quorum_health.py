"""Quorum health (pure): transitive quorum, per-validator states, failures the node survives."""

from __future__ import annotations

import itertools

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from consensus import (
    Ballot,
    Confirm,
    Externalize,
    Nominate,
    Prepare,
    QuorumSet,
    Statement,
    all_validators,
    is_v_blocking,
)
from consensus.quorum_health import (
    MAX_TRANSITIVE_NODES,
    PeerState,
    assess,
    classify,
    failures_to_block,
    transitive_quorum,
)


def _n(name: str) -> bytes:
    return name.encode().ljust(32, b".")


A, B, C, D, E = (_n(x) for x in "ABCDE")
FLAT = QuorumSet(3, (A, B, C, D))


def _st(node: bytes, pledge: object) -> Statement:
    return Statement(node, 5, FLAT.hash, pledge)  # type: ignore[arg-type]


def test_transitive_quorum_follows_known_quorum_sets() -> None:
    known = {B: QuorumSet(1, (B, E)), E: None}
    out = transitive_quorum(A, QuorumSet(2, (A, B, C)), known.get)
    assert out == {A: QuorumSet(2, (A, B, C)), B: QuorumSet(1, (B, E)), C: None, E: None}


def test_transitive_quorum_is_bounded() -> None:
    def chain(node: bytes) -> QuorumSet:
        i = int.from_bytes(node[:4], "big")
        return QuorumSet(1, ((i + 1).to_bytes(4, "big").ljust(32, b"."),))

    start = (0).to_bytes(4, "big").ljust(32, b".")
    assert len(transitive_quorum(start, chain(start), chain)) == MAX_TRANSITIVE_NODES


def test_classify() -> None:
    x, y = b"value x", b"value y"

    def is_x(v: bytes) -> bool:
        return v == x

    assert classify([], is_x) is PeerState.MISSING
    assert classify([_st(B, Nominate((x,), ()))], is_x) is PeerState.DELAYED
    assert classify([_st(B, Prepare(Ballot(1, x)))], is_x) is PeerState.DELAYED
    assert classify([_st(B, Confirm(Ballot(1, x), 1, 1, 1))], is_x) is PeerState.AGREE
    assert classify([_st(B, Externalize(Ballot(1, x), 1))], is_x) is PeerState.AGREE
    assert classify([_st(B, Externalize(Ballot(1, y), 1))], is_x) is PeerState.DISAGREE


def test_three_of_four_with_one_missing_survives_no_more_failures() -> None:
    x = b"value x"
    statements = {B: [_st(B, Externalize(Ballot(1, x), 1))], C: [_st(C, Prepare(Ballot(1, x)))]}
    health = assess(A, FLAT, 5, x.__eq__, statements, {A, B, C, D})
    assert health.states == {B: PeerState.AGREE, C: PeerState.DELAYED, D: PeerState.MISSING}
    assert (health.fail_at, health.survivable, health.blocked) == (1, 0, False)
    all_up = {v: [_st(v, Externalize(Ballot(1, x), 1))] for v in (B, C, D)}
    assert assess(A, FLAT, 5, x.__eq__, all_up, {A, B, C, D}).survivable == 1


def test_blocked_when_the_missing_are_v_blocking() -> None:
    health = assess(A, FLAT, 5, b"x".__eq__, {}, {A, B, C, D})
    assert health.blocked
    assert health.survivable == 0
    assert health.count(PeerState.MISSING) == 3


_NODES = [A, B, C, D, E]


@st.composite
def qsets(draw: st.DrawFn, depth: int = 0) -> QuorumSet:
    vals = draw(st.lists(st.sampled_from(_NODES), max_size=4, unique=True))
    inner = [] if depth >= 1 else [draw(qsets(depth + 1)) for _ in range(draw(st.integers(0, 2)))]
    if not vals and not inner:
        vals = [draw(st.sampled_from(_NODES))]
    return QuorumSet(draw(st.integers(1, len(vals) + len(inner))), tuple(vals), tuple(inner))


def _listed(q: QuorumSet) -> int:
    return len(q.validators) + sum(_listed(i) for i in q.inner_sets)


@settings(max_examples=200, deadline=None)
@given(qsets(), st.sets(st.sampled_from(_NODES)), st.sets(st.sampled_from(_NODES), max_size=1))
def test_failures_to_block_is_the_smallest_blocking_extension(
    q: QuorumSet, failed: set[bytes], cannot_fail: set[bytes]
) -> None:
    assume(_listed(q) == len(all_validators(q)))  # sane quorum sets list each validator once
    failed -= cannot_fail
    candidates = [n for n in _NODES if n not in failed and n not in cannot_fail]
    brute = next(
        (
            k
            for k in range(len(candidates) + 1)
            if any(is_v_blocking(q, failed | set(extra)) for extra in itertools.combinations(candidates, k))
        ),
        None,
    )
    assert failures_to_block(q, failed, cannot_fail) == brute
