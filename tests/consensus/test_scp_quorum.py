"""Quorum sets: sanity rules (CORE QuorumSetTests), normalisation, hashing, codec, and the predicates
checked against a brute-force enumeration of slices (Hypothesis)."""

from __future__ import annotations

import contextlib
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consensus import (
    QuorumSet,
    QuorumSetError,
    StatementDecodeError,
    all_validators,
    check_quorum_set_sane,
    decode_quorum_set,
    is_quorum,
    is_quorum_slice,
    is_v_blocking,
    normalize_quorum_set,
)
from protocol import codec
from protocol.errors import DecodeError

N = [bytes([i]) * 32 for i in range(12)]


def _nid(i: int) -> bytes:
    return i.to_bytes(32, "big")


# ---------------------------------------------------------------------------------------- sanity


def test_sane_quorum_sets() -> None:
    check_quorum_set_sane(QuorumSet(1, (N[0],)))
    check_quorum_set_sane(QuorumSet(2, (N[0], N[1]), (QuorumSet(1, (N[2], N[3])),)))


@pytest.mark.parametrize(
    ("qset", "message"),
    [
        (QuorumSet(0, (N[0],)), "at least 1"),
        (QuorumSet(2, (N[0],)), "more than its 1 members"),
        (QuorumSet(1, (N[0], N[0])), "more than once"),
        (QuorumSet(1, (N[0],), (QuorumSet(1, (N[0],)),)), "more than once"),
        (QuorumSet(1, ()), "more than its 0 members"),
        (QuorumSet(1, (b"short",)), "not 32"),
    ],
)
def test_insane_quorum_sets(qset: QuorumSet, message: str) -> None:
    with pytest.raises(QuorumSetError, match=message):
        check_quorum_set_sane(qset)


def _nested(depth: int) -> QuorumSet:
    q = QuorumSet(1, (_nid(depth),))
    for d in range(depth - 1, -1, -1):
        q = QuorumSet(1, (_nid(d),), (q,))
    return q


def test_nesting_depth_4_ok_5_too_deep() -> None:
    check_quorum_set_sane(_nested(4))
    with pytest.raises(QuorumSetError, match="nested"):
        check_quorum_set_sane(_nested(5))


def test_1000_validators_ok_1001_too_big() -> None:
    check_quorum_set_sane(QuorumSet(1, tuple(_nid(i) for i in range(1000))))
    with pytest.raises(QuorumSetError, match="1000"):
        check_quorum_set_sane(QuorumSet(1, tuple(_nid(i) for i in range(1001))))
    spread = QuorumSet(
        1, (), tuple(QuorumSet(1, tuple(_nid(j * 100 + i) for i in range(100))) for j in range(11))
    )
    with pytest.raises(QuorumSetError, match="1000"):
        check_quorum_set_sane(spread)


def test_extra_checks_require_a_majority() -> None:
    q = QuorumSet(2, tuple(N[:4]))
    check_quorum_set_sane(q)
    with pytest.raises(QuorumSetError, match="majority"):
        check_quorum_set_sane(q, extra_checks=True)
    check_quorum_set_sane(QuorumSet(3, tuple(N[:4])), extra_checks=True)


# ---------------------------------------------------------------------------- normalise and hash


def test_normalisation_merges_singletons_and_sorts() -> None:
    q = QuorumSet(2, (N[3], N[1]), (QuorumSet(1, (N[2],)), QuorumSet(2, (N[5], N[4]))))
    n = normalize_quorum_set(q)
    assert n == QuorumSet(2, (N[1], N[2], N[3]), (QuorumSet(2, (N[4], N[5])),))
    assert normalize_quorum_set(QuorumSet(1, (), (QuorumSet(2, (N[1], N[0])),))) == QuorumSet(2, (N[0], N[1]))


def test_normalisation_removes_a_node_and_lowers_thresholds() -> None:
    q = QuorumSet(3, tuple(N[:4]))
    assert normalize_quorum_set(q, remove=N[0]) == QuorumSet(2, tuple(N[1:4]))
    inner = QuorumSet(2, (N[0], N[5], N[6]))
    assert normalize_quorum_set(QuorumSet(1, (N[1],), (inner,)), remove=N[0]) == QuorumSet(
        1, (N[1],), (QuorumSet(1, (N[5], N[6])),)
    )


def test_hash_is_of_the_normalised_set_and_32_bytes() -> None:
    a = QuorumSet(2, (N[2], N[1], N[0]))
    b = QuorumSet(2, (N[0], N[1], N[2]))
    assert a.hash == b.hash
    assert len(a.hash) == 32
    assert QuorumSet(3, (N[0], N[1], N[2])).hash != a.hash


def test_all_validators() -> None:
    q = QuorumSet(1, (N[0],), (QuorumSet(1, (N[1], N[2]), (QuorumSet(1, (N[3],)),)),))
    assert all_validators(q) == frozenset(N[:4])


# ---------------------------------------------------------------------------------------- codec


def test_quorum_set_round_trip() -> None:
    q = QuorumSet(2, (N[0], N[1]), (QuorumSet(1, (N[2], N[3])),))
    data = q.encode()
    assert decode_quorum_set(data) == q
    assert decode_quorum_set(data).encode() == data


def test_decode_quorum_set_rejects_insane_and_malformed() -> None:
    with pytest.raises(QuorumSetError):
        decode_quorum_set(QuorumSet(3, (N[0],)).encode())
    with pytest.raises(StatementDecodeError):
        decode_quorum_set(codec.pack((2, 1, (N[0],), ())))  # unknown version
    with pytest.raises(StatementDecodeError):
        decode_quorum_set(codec.pack((1, 1, (b"x",), ())))
    with pytest.raises(StatementDecodeError):
        decode_quorum_set(_nested(6).encode())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_decode_quorum_set_fuzz(data: bytes) -> None:
    with contextlib.suppress(StatementDecodeError, QuorumSetError):
        decode_quorum_set(data)


def test_statement_decode_error_is_a_protocol_decode_error() -> None:
    assert issubclass(StatementDecodeError, DecodeError)


# ----------------------------------------------------------------------- predicates vs brute force


def _qsets(depth: int = 2) -> st.SearchStrategy[QuorumSet]:
    """Small random quorum sets over nodes 0..5 (ids may repeat across levels: predicates don't care)."""
    leaf_nodes = st.lists(st.sampled_from(range(6)), min_size=0, max_size=4, unique=True)

    @st.composite
    def build(draw: st.DrawFn, level: int) -> QuorumSet:
        nodes = draw(leaf_nodes)
        inner = draw(st.lists(build(level + 1), max_size=2)) if level < depth else []
        size = len(nodes) + len(inner)
        if size == 0:
            nodes = [draw(st.sampled_from(range(6)))]
            size = 1
        t = draw(st.integers(1, size))
        return QuorumSet(t, tuple(N[i] for i in nodes), tuple(inner))

    return build(0)


def _slices(q: QuorumSet) -> list[frozenset[bytes]]:
    """Every slice of q, by definition: pick threshold members, a slice from each chosen inner set."""
    members: list[list[frozenset[bytes]]] = [[frozenset({v})] for v in q.validators]
    members += [_slices(i) for i in q.inner_sets]
    out: list[frozenset[bytes]] = []
    for chosen in itertools.combinations(members, q.threshold):
        for parts in itertools.product(*chosen):
            out.append(frozenset().union(*parts))
    return out


ALL = N[:6]


@settings(max_examples=150, deadline=None)
@given(_qsets(), st.sets(st.sampled_from(ALL)))
def test_slice_and_v_blocking_match_brute_force(q: QuorumSet, nodes: set[bytes]) -> None:
    slices = _slices(q)
    assert is_quorum_slice(q, nodes) == any(s <= nodes for s in slices)
    assert is_v_blocking(q, nodes) == all(s & nodes for s in slices)


@settings(max_examples=100, deadline=None)
@given(st.lists(_qsets(1), min_size=6, max_size=6), st.sets(st.sampled_from(ALL)))
def test_is_quorum_matches_brute_force(qsets: list[QuorumSet], nodes: set[bytes]) -> None:
    qset_of = dict(zip(ALL, qsets, strict=True))
    local = qsets[0]
    expected = False
    for r in range(len(nodes) + 1):
        for sub in itertools.combinations(sorted(nodes), r):
            s = set(sub)
            if all(is_quorum_slice(qset_of[n], s) for n in s) and is_quorum_slice(local, s):
                expected = True
    assert is_quorum(local, nodes, qset_of.get) == expected
