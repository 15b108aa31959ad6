"""Simulator topologies at scale (organisations, watchers, network files) and unchanged outcomes.

The speed-ups of issue 17 (pledge-grouped statement maps, cached quorum answers, set-based slice
tests) must not change any simulated outcome: every effect of these seeded scenarios is hashed
(scripts/sim_traces.py) and compared with the digests recorded before the speed-ups. A deliberate
change of behaviour updates the digests, with the reason in the commit message.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from consensus import QuorumSet
from consensus.sim import SimConfig, SimConfigError, Simulation, build_topology, run_simulation

ROOT = Path(__file__).resolve().parents[2]


def _traces() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sim_traces", ROOT / "scripts" / "sim_traces.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["sim_traces"] = module
    spec.loader.exec_module(module)
    return module


RECORDED_BEFORE_THE_SPEEDUPS = {
    "cli-example": (703, "d0ced07f0be903d9a1c3a9c83a9d3d7f9c4e7dfe1ca02bf23c367b5786dd529b"),
    "orgs-restart-garbage": (162, "31c16cb56c2c2383ca6e92480e72acace23f6a75e5870a1a63aabb178da66beb"),
    "partition-heal": (186, "567a04cfcf83900b35bde5a05399076590fb3274fd2b5b2b83a7ce2f9b60034b"),
}


@pytest.mark.parametrize("name", sorted(RECORDED_BEFORE_THE_SPEEDUPS))
def test_every_effect_is_the_same_as_before_the_speedups(name: str) -> None:
    traces = _traces()
    got = traces.trace(traces.SCENARIOS[name])
    assert (got["effects"], got["effect_digest"]) == RECORDED_BEFORE_THE_SPEEDUPS[name]


def test_organisations_with_watchers_all_decide() -> None:
    cfg = SimConfig(nodes=12, topology="orgs", watchers=4, latency_ms=100, drop=0.01, slots=3, seed=2)
    sim = Simulation(cfg)
    report = sim.run()
    assert report.safety_violations == 0
    assert report.slots_externalized_by_all_honest == 3
    data = report.to_json()
    assert (data["nodes"], data["watchers"], data["threshold"]) == (12, 4, 3)
    watchers = sim.nodes[12:]
    assert all(not w.scp.is_validator for w in watchers)
    assert all(len(w.externalized) == 3 for w in watchers)
    assert all(w.persisted == {} for w in watchers)  # a watcher never emits a statement


def test_watchers_trust_subsets_of_the_organisations() -> None:
    topo = build_topology(SimConfig(nodes=15, topology="orgs", watchers=6, seed=3))
    orgs = set(topo.qsets[0].inner_sets)
    for q in topo.qsets[15:]:
        assert q.inner_sets
        assert set(q.inner_sets) <= orgs
    assert topo.validators == (True,) * 15 + (False,) * 6


def test_organisations_of_other_sizes() -> None:
    topo = build_topology(SimConfig(nodes=10, topology="orgs", per_org=5))
    assert [(i.threshold, len(i.validators)) for i in topo.qsets[0].inner_sets] == [(3, 5), (3, 5)]


def _n(name: str) -> bytes:
    return name.encode()


def test_network_spec_validators_watchers_and_absent_nodes() -> None:
    core = tuple(_n(x) for x in "ABCD")
    spec = (
        *((_n(x), QuorumSet(3, core)) for x in "ABCD"),
        (_n("watcher"), QuorumSet(2, core[:3])),  # nobody trusts it: it watches
        (_n("gone"), None),  # quorum set unknown: never starts
    )
    cfg = SimConfig(topology="network", network=spec, latency_ms=50, slots=2, seed=1)
    topo = build_topology(cfg)
    assert topo.validator_indexes == [0, 1, 2, 3]
    assert topo.watcher_indexes == [4]
    assert topo.absent == frozenset({5})
    report = run_simulation(cfg)
    assert report.safety_violations == 0
    assert report.slots_externalized_by_all_honest == 2
    assert (report.validators, report.watchers) == (4, 1)


def test_network_spec_errors() -> None:
    spec = ((_n("A"), QuorumSet(1, (_n("A"), _n("B")))),)
    with pytest.raises(SimConfigError, match="not in the network"):
        Simulation(SimConfig(topology="network", network=spec))
    ok = ((_n("A"), QuorumSet(1, (_n("A"),))),)
    with pytest.raises(SimConfigError, match="threshold"):
        Simulation(SimConfig(topology="network", network=ok, threshold=1))
    with pytest.raises(SimConfigError, match="needs a network file"):
        Simulation(SimConfig(topology="network"))
    with pytest.raises(SimConfigError, match="byzantine"):
        Simulation(SimConfig(topology="network", network=ok, byzantine=1))
