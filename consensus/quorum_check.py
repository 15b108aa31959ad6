"""Quorum-intersection checking: do every two quorums of a network share a node?

If two quorums are disjoint, the two groups can externalize different values for the same slot
without either hearing of the other: the network can fork. This module answers the question for a
network given as ``{node: quorum set}`` and, when it can fork, returns two disjoint quorums.

Algorithm (Lachowski, "Complexity of minimal quorum enumeration in federated Byzantine agreement",
arXiv:1902.06493, as used by stellar-core's v1 checker; scp.md §11.1): every minimal quorum lies
inside one strongly connected component of the "depends on" graph, so if two components contain
quorums the network is split; otherwise enumerate candidate minimal quorums of the single component
(branch and bound, committing nodes with the highest in-degree first, never past half the component)
and check that each one's complement contains no quorum. Exponential in the worst case, practical
for a few dozen validators.

Symmetric networks (every node with a known quorum set uses the same one, the usual configuration)
take a polynomial shortcut instead: a set of such nodes is a quorum exactly when it satisfies the
common quorum set, so two disjoint quorums exist exactly when the quorum set has two disjoint slices
among live validators, which a small dynamic program over the (duplicate-free) tree decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from consensus._quorum import QuorumSet, all_validators, is_quorum_slice, normalize_quorum_set

Network = Mapping[bytes, QuorumSet | None]


@dataclass(frozen=True)
class IntersectionResult:
    """``intersecting`` is True when every two quorums intersect (vacuously so when there is no quorum)."""

    intersecting: bool
    split: tuple[frozenset[bytes], frozenset[bytes]] | None
    has_quorum: bool
    nodes: int


class _Checker:
    def __init__(self, network: Network) -> None:
        self.qsets = {n: q for n, q in network.items() if q is not None}  # unknown ⇒ dead (CORE)
        self.nodes = frozenset(network)
        self.deps: dict[bytes, frozenset[bytes]] = {
            n: all_validators(q) & self.nodes for n, q in self.qsets.items()
        }
        self._cache: dict[frozenset[bytes], frozenset[bytes]] = {}

    def contract(self, s: frozenset[bytes]) -> frozenset[bytes]:
        """The largest quorum inside ``s`` (greatest fixpoint), or the empty set."""
        got = self._cache.get(s)
        if got is not None:
            return got
        cur = s
        while True:
            nxt = frozenset(n for n in cur if n in self.qsets and is_quorum_slice(self.qsets[n], cur))
            if nxt == cur:
                break
            cur = nxt
        self._cache[s] = cur
        return cur

    def is_minimal_quorum(self, q: frozenset[bytes]) -> bool:
        return bool(q) and all(not self.contract(q - {n}) for n in q)

    def sccs(self) -> list[frozenset[bytes]]:
        """Tarjan's strongly connected components (iterative), in a deterministic order."""
        index: dict[bytes, int] = {}
        low: dict[bytes, int] = {}
        on_stack: set[bytes] = set()
        stack: list[bytes] = []
        out: list[frozenset[bytes]] = []
        counter = 0
        for root in sorted(self.nodes):
            if root in index:
                continue
            work: list[tuple[bytes, list[bytes]]] = [(root, sorted(self.deps.get(root, ())))]
            index[root] = low[root] = counter
            counter += 1
            stack.append(root)
            on_stack.add(root)
            while work:
                node, todo = work[-1]
                if todo:
                    m = todo.pop()
                    if m not in index:
                        index[m] = low[m] = counter
                        counter += 1
                        stack.append(m)
                        on_stack.add(m)
                        work.append((m, sorted(self.deps.get(m, ()))))
                    elif m in on_stack:
                        low[node] = min(low[node], index[m])
                    continue
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    comp = set()
                    while True:
                        m = stack.pop()
                        on_stack.discard(m)
                        comp.add(m)
                        if m == node:
                            break
                    out.append(frozenset(comp))
        return out

    def check(self) -> IntersectionResult:
        scan: frozenset[bytes] | None = None
        for comp in self.sccs():
            q = self.contract(comp)
            if not q:
                continue
            if scan is None:
                scan = comp
            else:
                return IntersectionResult(False, (self.contract(scan), q), True, len(self.nodes))
        if scan is None:
            return IntersectionResult(True, None, False, len(self.nodes))
        self.scan = scan
        split = self._enumerate(frozenset(), scan)
        return IntersectionResult(split is None, split, True, len(self.nodes))

    def _enumerate(
        self, committed: frozenset[bytes], remaining: frozenset[bytes]
    ) -> tuple[frozenset[bytes], frozenset[bytes]] | None:
        if len(committed) > len(self.scan) // 2 + 1:
            return None  # one of two disjoint quorums is at most half the component
        q = self.contract(committed)
        if q:
            if self.is_minimal_quorum(q):
                other = self.contract(self.scan - q)
                if other:
                    return (q, other)
            return None
        reachable = self.contract(committed | remaining)
        if not reachable or not committed <= reachable or not remaining:
            return None
        pool = remaining & reachable
        if not pool:
            return None
        pick = max(sorted(pool), key=lambda n: sum(1 for m in pool if n in self.deps.get(m, ())))
        rest = remaining - {pick}
        return self._enumerate(committed, rest) or self._enumerate(committed | {pick}, rest)


Witness = tuple[frozenset[bytes], frozenset[bytes]]
Outcome = tuple[bool, bool]  # (does side A satisfy this set?, does side B?)


def _outcomes(q: QuorumSet, live: frozenset[bytes]) -> dict[Outcome, Witness]:
    """For each achievable outcome, disjoint node sets A and B (from ``live``) that achieve it."""
    empty: frozenset[bytes] = frozenset()
    members: list[dict[Outcome, Witness]] = []
    for v in q.validators:
        opts: dict[Outcome, Witness] = {(False, False): (empty, empty)}
        if v in live:
            opts[(True, False)] = (frozenset({v}), empty)
            opts[(False, True)] = (empty, frozenset({v}))
        members.append(opts)
    members += [_outcomes(inner, live) for inner in q.inner_sets]
    t = q.threshold
    # DP over members: (satisfied-for-A count, satisfied-for-B count), capped at t, with a witness.
    states: dict[tuple[int, int], Witness] = {(0, 0): (empty, empty)}
    for opts in members:
        nxt: dict[tuple[int, int], Witness] = {}
        for (ca, cb), (wa, wb) in states.items():
            for (sa, sb), (oa, ob) in opts.items():
                key = (min(t, ca + sa), min(t, cb + sb))
                if key not in nxt:
                    nxt[key] = (wa | oa, wb | ob)
        states = nxt
    out: dict[Outcome, Witness] = {}
    for (ca, cb), w in states.items():
        out.setdefault((ca >= t, cb >= t), w)
    return out


def _tree_size(q: QuorumSet) -> int:
    return len(q.validators) + sum(_tree_size(i) for i in q.inner_sets)


def _symmetric(network: Network) -> IntersectionResult | None:
    known = {n: q for n, q in network.items() if q is not None}
    shapes = {normalize_quorum_set(q) for q in known.values()}
    if len(shapes) != 1:
        return None
    (q,) = shapes
    if _tree_size(q) != len(all_validators(q)):
        return None  # a node listed twice: members are no longer independent
    live = frozenset(n for n in all_validators(q) if n in known)
    outcomes = _outcomes(q, live)
    split = outcomes.get((True, True))
    has_quorum = (True, False) in outcomes or split is not None
    return IntersectionResult(split is None, split, has_quorum, len(network))


def check_intersection(network: Network) -> IntersectionResult:
    """Do all quorums of ``network`` intersect? Nodes mapped to None (unknown quorum set) never count.

    Returns two disjoint quorums in ``split`` when they do not.
    """
    quick = _symmetric(network)
    if quick is not None:
        return quick
    return _Checker(network).check()
