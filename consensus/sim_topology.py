"""Who trusts whom in a simulation: quorum sets for validators and watchers, from a ``SimConfig``.

* ``full``: every validator trusts all of them (threshold n - ⌊(n-1)/3⌋ by default);
* ``tiered``: everyone trusts a core of the first max(4, n/2) validators;
* ``orgs``: organisations of ``per_org`` validators, "T of the organisations, a majority inside
  each" (T counts organisations);
* ``network``: nodes and quorum sets from a file (``node.quorum_file``); nodes that somebody
  trusts are validators, the others watchers, and nodes whose quorum set is unknown never start.

Watchers (``--watchers M``) follow the validators without voting: in ``orgs`` each trusts a
random subset of the organisations (drawn from a generator seeded by the run's seed and the
watcher's number, not from the network's), elsewhere the validators' quorum set. Node indexes:
validators first, then watchers; a network file keeps its own order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from consensus._quorum import QuorumSet, all_validators
from consensus.sim_config import SimConfig, SimConfigError
from protocol.hashing import blake2b256


@dataclass(frozen=True)
class Topology:
    qsets: tuple[QuorumSet, ...]  # by node index
    validators: tuple[bool, ...]  # False: a watcher, which never votes
    absent: frozenset[int]  # quorum set unknown (network files): the node never starts

    @property
    def validator_indexes(self) -> list[int]:
        return [i for i, v in enumerate(self.validators) if v and i not in self.absent]

    @property
    def watcher_indexes(self) -> list[int]:
        return [i for i, v in enumerate(self.validators) if not v and i not in self.absent]


def node_id_of(index: int) -> bytes:
    return blake2b256(b"tally-sim-node-%d" % index)


def _majority(n: int) -> int:
    return n - (n - 1) // 2


def _bft(n: int) -> int:
    return n - (n - 1) // 3


def build_quorum_sets(cfg: SimConfig) -> list[QuorumSet]:
    """Each node's quorum set for the chosen topology (threshold applies to the top level).

    Raises: SimConfigError (a threshold out of range, a network that cannot run).
    """
    return list(build_topology(cfg).qsets)


def build_topology(cfg: SimConfig) -> Topology:
    """Raises: SimConfigError (a threshold out of range, a network that cannot run)."""
    if cfg.network is not None:
        return _from_network(cfg)
    ids = [node_id_of(i) for i in range(cfg.nodes)]
    if cfg.topology == "full":
        t = cfg.threshold or _bft(cfg.nodes)
        _check_threshold(t, cfg.nodes)
        qset = QuorumSet(t, tuple(ids))
    elif cfg.topology == "tiered":
        core = min(cfg.nodes, max(4, cfg.nodes // 2))
        t = cfg.threshold or _bft(core)
        _check_threshold(t, core)
        qset = QuorumSet(t, tuple(ids[:core]))
    else:
        orgs = [tuple(ids[i : i + cfg.per_org]) for i in range(0, cfg.nodes, cfg.per_org)]
        t = cfg.threshold or _bft(len(orgs))
        _check_threshold(t, len(orgs))
        qset = QuorumSet(t, (), tuple(QuorumSet(_majority(len(o)), o) for o in orgs))
    watchers = [_watcher_qset(cfg, qset, w) for w in range(cfg.watchers)]
    return Topology(
        (qset,) * cfg.nodes + tuple(watchers),
        (True,) * cfg.nodes + (False,) * cfg.watchers,
        frozenset(),
    )


def _watcher_qset(cfg: SimConfig, validators_qset: QuorumSet, w: int) -> QuorumSet:
    if cfg.topology != "orgs":
        return validators_qset
    rng = random.Random(f"tally-sim-watcher-{cfg.seed}-{w}")
    orgs = validators_qset.inner_sets
    k = rng.randint(min(2, len(orgs)), len(orgs))
    chosen = sorted(rng.sample(range(len(orgs)), k))
    return QuorumSet(_bft(k), (), tuple(orgs[i] for i in chosen))


def _from_network(cfg: SimConfig) -> Topology:
    assert cfg.network is not None
    if cfg.threshold:
        raise SimConfigError("--threshold applies to generated topologies, not to a network file")
    index = {name: i for i, (name, _) in enumerate(cfg.network)}

    def translate(q: QuorumSet) -> QuorumSet:
        return QuorumSet(
            q.threshold,
            tuple(node_id_of(index[v]) for v in q.validators),
            tuple(translate(i) for i in q.inner_sets),
        )

    try:
        known = {name: translate(q) for name, q in cfg.network if q is not None}
    except KeyError as exc:
        raise SimConfigError(f"a quorum set names {exc.args[0]!r}, which is not in the network") from None
    trusted = set().union(*(all_validators(q) for q in known.values()))
    qsets: list[QuorumSet] = []
    validators: list[bool] = []
    absent: set[int] = set()
    for i, (name, _) in enumerate(cfg.network):
        nid = node_id_of(i)
        if name in known:
            qsets.append(known[name])
        else:
            qsets.append(QuorumSet(1, (nid,)))  # never used: the node does not start
            absent.add(i)
        validators.append(nid in trusted)
    return Topology(tuple(qsets), tuple(validators), frozenset(absent))


def _check_threshold(t: int, n: int) -> None:
    if not 1 <= t <= n:
        raise SimConfigError(f"--threshold {t} must be between 1 and {n} (the members of the top level)")
