"""Explanations: intersection-critical groups (vs a brute-force oracle) and verified threshold fixes."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from consensus import QuorumSet, is_quorum_slice
from consensus.quorum_check import check_intersection
from consensus.quorum_explain import intersection_critical_groups, suggest_threshold_change


def _n(name: str) -> bytes:
    return name.encode()


def _org_net(orgs: int, threshold: int, inner: int = 2) -> dict[bytes, QuorumSet | None]:
    names = [[f"o{i}v{j}" for j in range(3)] for i in range(orgs)]
    top = QuorumSet(threshold, (), tuple(QuorumSet(inner, tuple(_n(v) for v in org)) for org in names))
    return {_n(v): top for org in names for v in org}


def _faulty_quorums(net: dict[bytes, QuorumSet | None], faulty: frozenset[bytes]) -> list[frozenset[bytes]]:
    """Every node set with an honest member in which each honest member has a slice (brute force)."""
    nodes = sorted(net)
    out = []
    for r in range(1, len(nodes) + 1):
        for sub in itertools.combinations(nodes, r):
            s = frozenset(sub)
            honest = s - faulty
            if honest and all((q := net[n]) is not None and is_quorum_slice(q, s) for n in honest):
                out.append(s)
    return out


def _brute_critical(net: dict[bytes, QuorumSet | None], group: frozenset[bytes]) -> bool:
    quorums = _faulty_quorums(net, group)
    return any(a & b <= group for a, b in itertools.combinations_with_replacement(quorums, 2) if a != b)


def test_three_organisations_two_of_three_each_is_critical() -> None:
    """2 of 3 organisations: one lying organisation sits in both halves' quorums."""
    net = _org_net(3, 2)
    assert check_intersection(net).intersecting
    groups = intersection_critical_groups(net)
    orgs = {g.members for g in groups if g.kind == "organisation"}
    assert orgs == {frozenset(_n(f"o{i}v{j}") for j in range(3)) for i in range(3)}
    for g in groups:
        a, b = g.split
        assert a & b <= g.members
        assert a - g.members
        assert b - g.members


def test_bft_threshold_has_no_critical_group() -> None:
    """5 of 7 organisations tolerates any one organisation misbehaving (and so any one validator)."""
    assert intersection_critical_groups(_org_net(7, 5)) == []


def test_single_validator_in_flat_3_of_4_is_not_critical_but_in_2_of_3_it_is() -> None:
    flat4 = (_n("A"), _n("B"), _n("C"), _n("D"))
    assert intersection_critical_groups(dict.fromkeys(flat4, QuorumSet(3, flat4))) == []
    flat3 = flat4[:3]
    groups = intersection_critical_groups(dict.fromkeys(flat3, QuorumSet(2, flat3)))
    assert sorted(g.members for g in groups) == sorted(frozenset({v}) for v in flat3)
    assert all(g.kind == "validator" for g in groups)


@st.composite
def small_networks(draw: st.DrawFn) -> dict[bytes, QuorumSet | None]:
    names = ["A", "B", "C", "D", "E"]
    out: dict[bytes, QuorumSet | None] = {}
    for name in names:
        vals = draw(st.lists(st.sampled_from(names), min_size=1, max_size=4, unique=True))
        inner = draw(
            st.lists(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True), max_size=1)
        )
        inner_sets = tuple(QuorumSet(draw(st.integers(1, len(i))), tuple(_n(x) for x in i)) for i in inner)
        t = draw(st.integers(1, len(vals) + len(inner_sets)))
        out[_n(name)] = QuorumSet(t, tuple(_n(v) for v in vals), inner_sets)
    return out


@settings(max_examples=60, deadline=None)
@given(small_networks())
def test_critical_groups_match_brute_force(net: dict[bytes, QuorumSet | None]) -> None:
    if not check_intersection(net).intersecting:
        return
    found = {g.members for g in intersection_critical_groups(net)}
    trusted = set().union(*(set(q.validators) for q in net.values() if q is not None))
    orgs = {frozenset(i.validators) for q in net.values() if q is not None for i in q.inner_sets}
    for v in trusted:
        assert (frozenset({v}) in found) == _brute_critical(net, frozenset({v}))
    for org in orgs:
        assert (org in found) == _brute_critical(net, org)


def test_split_gets_a_verified_threshold_raise() -> None:
    net = _org_net(7, 3)
    r = check_intersection(net)
    assert r.split is not None
    changes = suggest_threshold_change(net, r.split)
    assert changes is not None
    (change,) = changes
    assert change.path == ()
    assert (change.old, change.new) == (3, 4)  # 4 of 7 organisations: two quorums need 8 > 7
    assert change.nodes == frozenset(net)


def test_flat_two_of_four_is_fixed_by_three_of_four() -> None:
    flat = tuple(_n(x) for x in "ABCD")
    net: dict[bytes, QuorumSet | None] = dict.fromkeys(flat, QuorumSet(2, flat))
    r = check_intersection(net)
    assert r.split is not None
    changes = suggest_threshold_change(net, r.split)
    assert changes is not None
    assert [(c.old, c.new, c.path) for c in changes] == [(2, 3, ())]


def test_islands_have_no_threshold_fix() -> None:
    ab, cd = (_n("A"), _n("B")), (_n("C"), _n("D"))
    net: dict[bytes, QuorumSet | None] = {
        **dict.fromkeys(ab, QuorumSet(2, ab)),
        **dict.fromkeys(cd, QuorumSet(2, cd)),
    }
    r = check_intersection(net)
    assert r.split is not None
    assert suggest_threshold_change(net, r.split) is None


@settings(max_examples=60, deadline=None)
@given(small_networks())
def test_every_suggestion_is_verified(net: dict[bytes, QuorumSet | None]) -> None:
    r = check_intersection(net)
    if r.split is None:
        return
    changes = suggest_threshold_change(net, r.split)
    if changes is None:
        return
    fixed = dict(net)
    for c in changes:
        for n in c.nodes:
            q = fixed[n]
            assert q is not None
            fixed[n] = _apply(q, c.path, c.old, c.new)
    after = check_intersection(fixed)
    assert after.intersecting
    assert after.has_quorum


def _apply(q: QuorumSet, path: tuple[int, ...], old: int, new: int) -> QuorumSet:
    if not path:
        assert q.threshold in (old, new)
        return QuorumSet(new, q.validators, q.inner_sets)
    inner = list(q.inner_sets)
    inner[path[0]] = _apply(inner[path[0]], path[1:], old, new)
    return QuorumSet(q.threshold, q.validators, tuple(inner))
