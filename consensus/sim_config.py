"""What to simulate: ``SimConfig`` (nodes, topology, faults, network), partitions, crashes.

Pure data plus validation; ``consensus.sim_topology`` turns a config into quorum sets and
``consensus.sim`` runs it.
"""

from __future__ import annotations

from dataclasses import dataclass

from consensus._quorum import QuorumSet

NetworkSpec = tuple[tuple[bytes, QuorumSet | None], ...]
"""Nodes in file order: (name, quorum set over names, or None when unknown)."""

TOPOLOGIES = ("full", "tiered", "orgs", "network")
BYZANTINE_MODES = ("equivocate", "silent", "garbage", "random", "lie-qset")  # random = garbage


class SimConfigError(ValueError):
    """A simulator option that makes no sense (the message says which)."""


@dataclass(frozen=True)
class Partition:
    """Between ``start_ms`` and ``end_ms`` no message crosses from one group to another."""

    groups: tuple[frozenset[int], ...]
    start_ms: int
    end_ms: int

    def blocks(self, a: int, b: int, now: int) -> bool:
        if not self.start_ms <= now < self.end_ms:
            return False
        ga = next((i for i, g in enumerate(self.groups) if a in g), None)
        gb = next((i for i, g in enumerate(self.groups) if b in g), None)
        return ga is not None and gb is not None and ga != gb


@dataclass(frozen=True)
class Crash:
    """Node ``node`` stops at ``at_ms``; restarts from its persisted statements at ``restart_ms``."""

    node: int
    at_ms: int
    restart_ms: int | None = None


@dataclass(frozen=True)
class SimConfig:
    nodes: int = 4
    threshold: int | None = None  # None: n - (n-1)//3 over the top level
    topology: str = "full"
    byzantine: int = 0
    byzantine_mode: str = "equivocate"
    latency_ms: int = 20
    jitter_ms: int = 0
    drop: float = 0.0
    duplicate: float = 0.0
    partitions: tuple[Partition, ...] = ()
    crashes: tuple[Crash, ...] = ()
    slots: int = 10
    seed: int = 0
    max_sim_ms: int | None = None  # default: 120 s per slot plus the last fault
    per_org: int = 3  # validators per organisation (topology "orgs")
    watchers: int = 0  # non-voting nodes after the validators, trusting subsets of them
    network: NetworkSpec | None = None  # nodes and quorum sets from a file (topology "network")

    @property
    def total_nodes(self) -> int:
        """Validators and watchers: node indexes (partitions, crashes) run from 0 to this - 1."""
        return len(self.network) if self.network is not None else self.nodes + self.watchers

    def check(self) -> None:
        """Raises: SimConfigError naming the bad option."""
        self._check_source()
        self._check_sizes()
        self._check_links()
        self._check_fault_nodes()

    def _check_source(self) -> None:
        """A network file goes with topology "network", and only with it."""
        if self.network is not None:
            if self.topology != "network":
                raise SimConfigError('a network file needs topology "network"')
            if not self.network:
                raise SimConfigError("the network file lists no node")
        elif self.topology == "network":
            raise SimConfigError('topology "network" needs a network file')
        if self.topology not in TOPOLOGIES:
            raise SimConfigError(f"--topology must be one of {', '.join(TOPOLOGIES)}")

    def _check_sizes(self) -> None:
        if self.nodes < 1:
            raise SimConfigError("--nodes must be at least 1")
        if self.per_org < 1 or self.watchers < 0:
            raise SimConfigError("--per-org must be at least 1 and --watchers at least 0")
        if self.byzantine_mode not in BYZANTINE_MODES:
            raise SimConfigError(f"--byzantine-mode must be one of {', '.join(BYZANTINE_MODES)}")
        if self.byzantine < 0 or (self.network is None and self.byzantine >= self.nodes):
            raise SimConfigError("--byzantine must be between 0 and nodes-1")
        if self.slots < 1:
            raise SimConfigError("--slots must be at least 1")

    def _check_links(self) -> None:
        if self.latency_ms < 0 or self.jitter_ms < 0:
            raise SimConfigError("--latency-ms and --jitter-ms must not be negative")
        if not (0 <= self.drop < 1 and 0 <= self.duplicate < 1):
            raise SimConfigError("--drop and --duplicate are probabilities in [0, 1)")

    def _check_fault_nodes(self) -> None:
        """Partitions and crashes name existing nodes."""
        last = self.total_nodes - 1
        for p in self.partitions:
            for g in p.groups:
                if any(not 0 <= n <= last for n in g):
                    raise SimConfigError(f"partition names a node outside 0..{last}")
        for c in self.crashes:
            if not 0 <= c.node <= last:
                raise SimConfigError(f"--crash names node {c.node}, outside 0..{last}")


def parse_partition(text: str) -> Partition:
    """``"0,1|2,3@1000-5000"``: groups of node indexes separated by ``|``, active from 1000 ms to 5000 ms.

    Raises: SimConfigError.
    """
    try:
        groups_text, window = text.split("@")
        start, end = (int(x) for x in window.split("-"))
        groups = tuple(frozenset(int(x) for x in g.split(",") if x.strip()) for g in groups_text.split("|"))
    except ValueError:
        raise SimConfigError(f'bad --partition {text!r}: expected like "0,1|2,3@1000-5000"') from None
    if len(groups) < 2 or start < 0 or end <= start:
        raise SimConfigError(f"bad --partition {text!r}: need two groups and 0 <= from < to")
    return Partition(groups, start, end)


def parse_crash(text: str) -> Crash:
    """``"3@2000"`` (node 3 stops at 2 s) or ``"3@2000-9000"`` (and restarts at 9 s).

    Raises: SimConfigError.
    """
    try:
        node_text, when = text.split("@")
        if "-" in when:
            a, b = (int(x) for x in when.split("-"))
            return Crash(int(node_text), a, b)
        return Crash(int(node_text), int(when))
    except ValueError:
        raise SimConfigError(f'bad --crash {text!r}: expected like "3@2000" or "3@2000-9000"') from None
