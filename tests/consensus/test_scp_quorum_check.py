"""The SAT quorum-intersection checker vs a brute-force oracle, and stellar-core's named cases (scp.md §11.3)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from consensus import QuorumSet, is_quorum_slice
from consensus.quorum_check import check_intersection


def _n(name: str) -> bytes:
    return name.encode().ljust(32, b".")


def _net(spec: dict[str, tuple[int, list[str]] | None]) -> dict[bytes, QuorumSet | None]:
    return {
        _n(k): None if v is None else QuorumSet(v[0], tuple(_n(x) for x in v[1])) for k, v in spec.items()
    }


def _brute(net: dict[bytes, QuorumSet | None]) -> tuple[bool, bool]:
    """(intersecting, has_quorum) by enumerating every subset."""
    nodes = sorted(net)
    quorums = []
    for r in range(1, len(nodes) + 1):
        for sub in itertools.combinations(nodes, r):
            s = set(sub)
            if all((q := net[n]) is not None and is_quorum_slice(q, s) for n in s):
                quorums.append(frozenset(s))
    return all(a & b for a, b in itertools.combinations(quorums, 2)), bool(quorums)


def _assert_split_valid(
    net: dict[bytes, QuorumSet | None], split: tuple[frozenset[bytes], frozenset[bytes]]
) -> None:
    a, b = split
    assert a
    assert b
    assert not a & b
    for group in (a, b):
        for n in group:
            q = net[n]
            assert q is not None
            assert is_quorum_slice(q, set(group))


def test_basic_4_node_intersects() -> None:
    r = check_intersection(_net({k: (3, ["A", "B", "C", "D"]) for k in "ABCD"}))
    assert r.intersecting
    assert r.split is None
    assert r.nodes == 4


def test_non_intersection_basic_4_node() -> None:
    """CORE fixture "no-intersection": each node 1-of-others (2-of {self, other})."""
    net = _net({"A": (2, ["A", "B"]), "B": (2, ["A", "B"]), "C": (2, ["C", "D"]), "D": (2, ["C", "D"])})
    r = check_intersection(net)
    assert not r.intersecting
    assert r.split is not None
    _assert_split_valid(net, r.split)


def test_non_intersection_within_one_component() -> None:
    """One strongly connected component with two disjoint minimal quorums (2 of 6 everywhere)."""
    names = list("ABCDEF")
    net = _net(dict.fromkeys(names, (2, names)))
    r = check_intersection(net)
    assert not r.intersecting
    assert r.split is not None
    _assert_split_valid(net, r.split)


def test_threshold_exceeds_degree_means_no_quorum() -> None:
    net = _net({"A": (3, ["A", "B"]), "B": (3, ["A", "B"])})  # insane on purpose: no quorum at all
    r = check_intersection(net)
    assert r.intersecting
    assert not r.has_quorum


def test_null_quorum_sets_are_dead_nodes() -> None:
    net = _net({"A": (2, ["A", "B", "C"]), "B": (2, ["A", "B", "C"]), "C": None})
    r = check_intersection(net)
    assert r.intersecting
    assert r.has_quorum


def test_core_and_periphery() -> None:
    core = ["A", "B", "C", "D"]
    spec: dict[str, tuple[int, list[str]] | None] = dict.fromkeys(core, (3, core))
    spec.update(dict.fromkeys("EFGH", (3, core)))  # watchers that follow the core
    assert check_intersection(_net(spec)).intersecting


_NAMES = ["A", "B", "C", "D", "E"]


@st.composite
def networks(draw: st.DrawFn) -> dict[bytes, QuorumSet | None]:
    out: dict[bytes, QuorumSet | None] = {}
    for name in _NAMES:
        if draw(st.integers(0, 9)) == 0:
            out[_n(name)] = None
            continue
        members = draw(st.lists(st.sampled_from(_NAMES), min_size=1, max_size=5, unique=True))
        t = draw(st.integers(1, len(members)))
        out[_n(name)] = QuorumSet(t, tuple(_n(m) for m in members))
    return out


@st.composite
def nested_networks(draw: st.DrawFn) -> dict[bytes, QuorumSet | None]:
    """Up to 6 nodes with quorum sets of validators and (nested) inner sets, some unknown."""
    names = [*_NAMES, "F"]

    def qset(depth: int) -> QuorumSet:
        vals = draw(st.lists(st.sampled_from(names), max_size=4, unique=True))
        inner = [] if depth >= 2 else [qset(depth + 1) for _ in range(draw(st.integers(0, 2)))]
        if not vals and not inner:
            vals = [draw(st.sampled_from(names))]
        t = draw(st.integers(1, len(vals) + len(inner)))
        return QuorumSet(t, tuple(_n(v) for v in vals), tuple(inner))

    return {_n(x): (None if draw(st.integers(0, 8)) == 0 else qset(0)) for x in names}


def _has_quorum_inside(net: dict[bytes, QuorumSet | None], nodes: frozenset[bytes]) -> bool:
    return any(
        all((q := net[n]) is not None and is_quorum_slice(q, set(sub)) for n in sub)
        for r in range(1, len(nodes) + 1)
        for sub in itertools.combinations(sorted(nodes), r)
    )


@settings(max_examples=300, deadline=None)
@given(st.one_of(networks(), nested_networks()))
def test_checker_matches_brute_force(net: dict[bytes, QuorumSet | None]) -> None:
    """Random small networks, flat and with nested inner sets: SAT answer == enumeration of subsets."""
    intersecting, has_quorum = _brute(net)
    r = check_intersection(net)
    assert r.intersecting == intersecting
    assert r.has_quorum == has_quorum
    if r.split is not None:
        _assert_split_valid(net, r.split)
        for side in r.split:  # reported quorums are minimal: easier to read and act on
            assert all(not _has_quorum_inside(net, side - {n}) for n in side)


def test_a_few_dozen_validators_is_practical() -> None:
    """7 organisations × 3 validators, majority inside each, 5-of-7 organisations on top."""
    orgs = [[f"o{i}v{j}" for j in range(3)] for i in range(7)]
    top = QuorumSet(5, (), tuple(QuorumSet(2, tuple(_n(v) for v in org)) for org in orgs))
    net: dict[bytes, QuorumSet | None] = {_n(v): top for org in orgs for v in org}
    assert check_intersection(net).intersecting
    weak = QuorumSet(3, (), top.inner_sets)
    net_weak: dict[bytes, QuorumSet | None] = {_n(v): weak for org in orgs for v in org}
    r = check_intersection(net_weak)
    assert not r.intersecting
    assert r.split is not None
    _assert_split_valid(net_weak, r.split)


@st.composite
def symmetric_networks(draw: st.DrawFn) -> dict[bytes, QuorumSet | None]:
    """Every node shares one quorum set with up to two organisations; some nodes may be down."""
    names = list("ABCDEFG")
    draw(st.randoms()).shuffle(names)
    top_v = names[: draw(st.integers(0, 3))]
    rest = names[len(top_v) :]
    inner: list[QuorumSet] = []
    while rest and len(inner) < 2:
        k = draw(st.integers(1, min(3, len(rest))))
        org, rest = rest[:k], rest[k:]
        inner.append(QuorumSet(draw(st.integers(1, k)), tuple(_n(x) for x in org)))
    size = len(top_v) + len(inner)
    if size == 0:
        top_v, size = ["A"], 1
    q = QuorumSet(draw(st.integers(1, size)), tuple(_n(x) for x in top_v), tuple(inner))
    members = {x for x in names if _n(x) in set(_all(q))}
    return {_n(x): (None if draw(st.integers(0, 6)) == 0 else q) for x in sorted(members)}


def _all(q: QuorumSet) -> set[bytes]:
    return set(q.validators).union(*[_all(i) for i in q.inner_sets]) if q.inner_sets else set(q.validators)


@settings(max_examples=300, deadline=None)
@given(symmetric_networks())
def test_symmetric_shortcut_matches_brute_force(net: dict[bytes, QuorumSet | None]) -> None:
    intersecting, has_quorum = _brute(net)
    r = check_intersection(net)
    assert r.intersecting == intersecting
    assert r.has_quorum == has_quorum
    if r.split is not None:
        _assert_split_valid(net, r.split)


def test_heterogeneous_dozen_is_practical() -> None:
    """12 nodes with different (overlapping) quorum sets go through the general search."""
    names = [f"n{i}" for i in range(12)]
    net: dict[bytes, QuorumSet | None] = {}
    for i, name in enumerate(names):
        window = [names[(i + k) % 12] for k in range(8)]
        net[_n(name)] = QuorumSet(6, tuple(_n(x) for x in window))
    r = check_intersection(net)
    intersecting, _ = _brute(net)
    assert r.intersecting == intersecting


def _orgs_network(orgs: int, threshold: int) -> dict[bytes, QuorumSet | None]:
    names = [[f"o{i}v{j}" for j in range(3)] for i in range(orgs)]
    top = QuorumSet(threshold, (), tuple(QuorumSet(2, tuple(_n(v) for v in org)) for org in names))
    return {_n(v): top for org in names for v in org}


def test_twenty_five_organisations_answer_fast() -> None:
    """The issue's scale (the old enumeration never finished at 20): both answers, well within a test."""
    assert check_intersection(_orgs_network(25, 17)).intersecting
    r = check_intersection(_orgs_network(25, 12))
    assert not r.intersecting
    assert r.split is not None
    _assert_split_valid(_orgs_network(25, 12), r.split)
