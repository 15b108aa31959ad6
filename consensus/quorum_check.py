"""Quorum-intersection checking: do every two quorums of a network share a node?

If two quorums are disjoint, the two groups can externalize different values for the same slot
without either hearing of the other: the network can fork. This module answers the question for a
network given as ``{node: quorum set}`` and, when it can fork, returns two disjoint quorums.

How: every minimal quorum lies inside one strongly connected component of the "depends on" graph
(Lachowski, arXiv:1902.06493; stellar-core's checker). If two components contain a quorum the
network is split at once; otherwise the question goes to a SAT solver restricted to the largest
quorum inside the one component that has quorums (``_sat_quorums``: two disjoint quorums exist iff
the formula is satisfiable). The former branch-and-bound enumeration of minimal quorums took
minutes and gigabytes from 16 organisations on (issue 17); the SAT formulation answers 25 in well
under a second. It is still exponential in the worst case: callers that take untrusted networks run
it in a separate process with time and memory limits (``node.quorum_process``).

Nodes whose quorum set is unknown (None) never count: they are never in a quorum, and nodes that
need them must reach their threshold without them (stellar-core treats them the same way).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from consensus._quorum import QuorumSet, all_validators, is_quorum_slice, quorum_core
from consensus._sat_quorums import DisjointQuorums

Network = Mapping[bytes, QuorumSet | None]
Split = tuple[frozenset[bytes], frozenset[bytes]]


@dataclass(frozen=True)
class IntersectionResult:
    """``intersecting`` is True when every two quorums intersect (vacuously so when there is no quorum).

    ``split`` holds two disjoint (minimal) quorums when they do not.
    """

    intersecting: bool
    split: Split | None
    has_quorum: bool
    nodes: int


def check_intersection(network: Network) -> IntersectionResult:
    """Do all quorums of ``network`` intersect? Nodes mapped to None (unknown quorum set) never count.

    Quorum sets may name nodes missing from ``network``: they are treated like unknown ones.
    """
    graph = DependencyGraph(network)
    scan: frozenset[bytes] | None = None
    for component in graph.components():
        quorum = graph.largest_quorum_in(component)
        if not quorum:
            continue
        if scan is None:
            scan = quorum
            continue
        # Two components with quorums: those quorums cannot share a node.
        split = (graph.shrink(graph.largest_quorum_in(scan)), graph.shrink(quorum))
        return IntersectionResult(False, split, True, len(network))
    if scan is None:
        return IntersectionResult(True, None, False, len(network))
    with DisjointQuorums(network, scan, faulty_selectors=False) as sat:
        found = sat.find()
    if found is None:
        return IntersectionResult(True, None, True, len(network))
    split = (graph.shrink(found[0]), graph.shrink(found[1]))
    return IntersectionResult(False, split, True, len(network))


class DependencyGraph:
    """Node → the nodes its quorum set names; components, largest quorums and minimal quorums."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self.nodes = frozenset(network)
        self.deps: dict[bytes, tuple[bytes, ...]] = {
            n: tuple(sorted(all_validators(q) & self.nodes)) for n, q in network.items() if q is not None
        }

    def _qset(self, n: bytes) -> QuorumSet | None:
        return self.network.get(n)

    def largest_quorum_in(self, nodes: frozenset[bytes]) -> frozenset[bytes]:
        """The largest quorum inside ``nodes`` (greatest fixpoint), or the empty set."""
        return frozenset(quorum_core(nodes, self._qset))

    def is_quorum(self, nodes: frozenset[bytes]) -> bool:
        return bool(nodes) and all(
            (q := self._qset(n)) is not None and is_quorum_slice(q, nodes) for n in nodes
        )

    def shrink(self, quorum: frozenset[bytes]) -> frozenset[bytes]:
        """A minimal quorum inside ``quorum``: what an operator can read (drop nodes while one remains)."""
        current = quorum
        for n in sorted(quorum):
            if n in current:
                smaller = self.largest_quorum_in(current - {n})
                if smaller:
                    current = smaller
        return current

    def components(self) -> list[frozenset[bytes]]:
        """Tarjan's strongly connected components (iterative), in a deterministic order."""
        index: dict[bytes, int] = {}
        low: dict[bytes, int] = {}
        on_stack: set[bytes] = set()
        stack: list[bytes] = []
        out: list[frozenset[bytes]] = []
        for root in sorted(self.nodes):
            if root in index:
                continue
            work: list[tuple[bytes, list[bytes]]] = []
            self._visit(root, index, low, stack, on_stack, work)
            while work:
                node, todo = work[-1]
                if todo:
                    m = todo.pop()
                    if m not in index:
                        self._visit(m, index, low, stack, on_stack, work)
                    elif m in on_stack:
                        low[node] = min(low[node], index[m])
                    continue
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component: set[bytes] = set()
                    while True:
                        m = stack.pop()
                        on_stack.discard(m)
                        component.add(m)
                        if m == node:
                            break
                    out.append(frozenset(component))
        return out

    def _visit(
        self,
        n: bytes,
        index: dict[bytes, int],
        low: dict[bytes, int],
        stack: list[bytes],
        on_stack: set[bytes],
        work: list[tuple[bytes, list[bytes]]],
    ) -> None:
        index[n] = low[n] = len(index)
        stack.append(n)
        on_stack.add(n)
        work.append((n, list(self.deps.get(n, ()))))
