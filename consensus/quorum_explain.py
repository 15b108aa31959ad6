"""Explanations an operator can act on, next to ``check_intersection``'s yes or no.

* **Intersection-critical groups** (for a network that intersects): an organisation (a leaf inner
  set, as stellar-core groups validators) or a single validator whose misbehaviour alone could break
  intersection, i.e. there are two quorums, each with an honest node, that share only members of
  the group. A faulty node can sit in both quorums and claim any quorum set, so it needs no slice.
  stellar-core asks a weaker question (the group is made "fickle", a misconfiguration that still
  counts as an intersection); ours is the Byzantine one the issue asks for: "its misbehaviour alone
  could split the network". It is not monotone (a faulty organisation leaves fewer honest nodes to
  split than one faulty member does), so every organisation and every trusted validator is asked;
  one incremental solver answers them all.
* **A threshold change** (for a network that can split): the smallest raise of one quorum set's
  threshold (top level or one inner set), shared by every node that uses that quorum set, after
  which every two quorums intersect and a quorum still exists. Each suggestion is re-checked with
  ``check_intersection`` before it is returned, so it is never a guess. When no single raise works,
  every quorum set's levels are raised to the 2f+1-style default ``n - ⌊(n-1)/3⌋`` (verified the
  same way); when even that fails (for example two groups that name nobody from the other),
  there is no threshold fix and the answer is None.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Literal

from consensus._quorum import QuorumSet, all_validators, quorum_core
from consensus._sat_quorums import DisjointQuorums
from consensus.quorum_check import Network, Split, check_intersection

GroupKind = Literal["organisation", "validator"]
Path = tuple[int, ...]  # indexes into inner_sets from the top level; () is the top level


@dataclass(frozen=True)
class CriticalGroup:
    """Nodes whose misbehaviour alone lets ``split`` (two quorums sharing only them) decide apart."""

    kind: GroupKind
    members: frozenset[bytes]
    split: Split


def intersection_critical_groups(network: Network) -> list[CriticalGroup]:
    """Organisations, then validators, that are intersection-critical (see the module docstring).

    Meant for a network that intersects; on one that does not, every group is trivially critical.
    """
    organisations = sorted(_leaf_inner_sets(network), key=sorted)
    # A node nobody names is in nobody's slice: dropping it from both quorums keeps them quorums.
    trusted = set().union(*(all_validators(q) for q in network.values() if q is not None))
    out: list[CriticalGroup] = []
    with DisjointQuorums(network, network.keys(), faulty_selectors=True) as sat:
        candidates: list[tuple[GroupKind, frozenset[bytes]]] = [
            ("organisation", org) for org in organisations
        ]
        candidates += [("validator", frozenset({v})) for v in sorted(trusted & set(network))]
        for kind, group in candidates:
            split = sat.find(group)
            if split is not None:
                out.append(CriticalGroup(kind, group, _shrink_faulty(network, split, group)))
    return out


def _leaf_inner_sets(network: Network) -> set[frozenset[bytes]]:
    """Member sets of inner sets that have no inner sets of their own: the organisations."""
    out: set[frozenset[bytes]] = set()

    def walk(q: QuorumSet, top: bool) -> None:
        if not top and not q.inner_sets and q.validators:
            out.add(frozenset(q.validators))
        for inner in q.inner_sets:
            walk(inner, False)

    for q in {q for q in network.values() if q is not None}:
        walk(q, True)
    return out


def _shrink_faulty(network: Network, split: Split, faulty: frozenset[bytes]) -> Split:
    """Drop nodes from each side while it stays a quorum with an honest member (faulty need no slice)."""

    def qset_of(n: bytes) -> QuorumSet | None:
        return QuorumSet(1, (n,)) if n in faulty else network.get(n)

    def shrink(side: frozenset[bytes]) -> frozenset[bytes]:
        current = side
        for n in sorted(side):
            if n in current:
                smaller = frozenset(quorum_core(current - {n}, qset_of))
                if smaller - faulty:
                    current = smaller
        return current

    return shrink(split[0]), shrink(split[1])


# ------------------------------------------------------------------------------ threshold changes


@dataclass(frozen=True)
class ThresholdChange:
    """Raise ``old`` to ``new`` at ``path`` in the quorum set every node of ``nodes`` uses."""

    nodes: frozenset[bytes]
    path: Path
    level_members: frozenset[bytes]
    old: int
    new: int


def suggest_threshold_change(network: Network, split: Split) -> list[ThresholdChange] | None:
    """Verified threshold raises that make ``network`` intersect, or None when none was found.

    ``split`` is the two disjoint quorums ``check_intersection`` found: a single change has to
    touch the quorum set of one of their members (else both stay quorums), so only those quorum
    sets are tried. A change is accepted only if every node that was in some quorum still is (a
    threshold that nobody can reach would "intersect" by halting those nodes for good).
    """
    live = _nodes_in_some_quorum(network)
    users: dict[QuorumSet, set[bytes]] = {}
    for n, q in network.items():
        if q is not None:
            users.setdefault(q, set()).add(n)
    suspects = {q for n in split[0] | split[1] if (q := network.get(n)) is not None}
    best: ThresholdChange | None = None
    for qset in sorted(suspects, key=lambda q: (-len(users[q]), sorted(users[q]))):
        for path, level in _levels(qset):
            change = _smallest_raise(network, live, qset, frozenset(users[qset]), path, level)
            if change is not None and (best is None or _cost(change) < _cost(best)):
                best = change
    if best is not None:
        return [best]
    return _raise_everything(network, live, users)


def _cost(change: ThresholdChange) -> tuple[int, int, int]:
    """Smaller raises first, then top level before inner sets, then the most widely shared set."""
    return change.new - change.old, len(change.path), -len(change.nodes)


def _levels(q: QuorumSet, path: Path = ()) -> Iterator[tuple[Path, QuorumSet]]:
    yield path, q
    for i, inner in enumerate(q.inner_sets):
        yield from _levels(inner, (*path, i))


def _with_threshold(q: QuorumSet, path: Path, threshold: int) -> QuorumSet:
    if not path:
        return replace(q, threshold=threshold)
    inner = list(q.inner_sets)
    inner[path[0]] = _with_threshold(inner[path[0]], path[1:], threshold)
    return replace(q, inner_sets=tuple(inner))


def _nodes_in_some_quorum(network: Network) -> frozenset[bytes]:
    """The union of all quorums: the largest quorum of the whole network."""
    return frozenset(quorum_core(network.keys(), network.get))


def _fixes(network: Network, live: frozenset[bytes]) -> bool:
    return check_intersection(network).intersecting and _nodes_in_some_quorum(network) >= live


def _smallest_raise(
    network: Network,
    live: frozenset[bytes],
    qset: QuorumSet,
    nodes: frozenset[bytes],
    path: Path,
    level: QuorumSet,
) -> ThresholdChange | None:
    """Binary search: raising a threshold removes slices, so intersection is monotone in it."""

    def changed(t: int) -> Network:
        new = _with_threshold(qset, path, t)
        return {n: (new if n in nodes else q) for n, q in network.items()}

    lo, hi = level.threshold + 1, level.size
    if lo > hi or not check_intersection(changed(hi)).intersecting:
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if check_intersection(changed(mid)).intersecting:
            hi = mid
        else:
            lo = mid + 1
    if not _fixes(changed(lo), live):
        return None
    return ThresholdChange(nodes, path, all_validators(level), level.threshold, lo)


def _raise_everything(
    network: Network, live: frozenset[bytes], users: dict[QuorumSet, set[bytes]]
) -> list[ThresholdChange] | None:
    changes: list[ThresholdChange] = []
    replaced: dict[QuorumSet, QuorumSet] = {}
    for qset, nodes in users.items():
        new = qset
        for path, level in _levels(qset):
            target = level.size - (level.size - 1) // 3
            if target > level.threshold:
                new = _with_threshold(new, path, target)
                changes.append(
                    ThresholdChange(frozenset(nodes), path, all_validators(level), level.threshold, target)
                )
        replaced[qset] = new
    if not changes or not _fixes({n: (None if q is None else replaced[q]) for n, q in network.items()}, live):
        return None
    return sorted(changes, key=lambda c: (sorted(c.nodes), c.path))
