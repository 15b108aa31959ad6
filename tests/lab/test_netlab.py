"""scripts/netlab: the multi-host lab (network namespaces, a delaying switch, real validators).

The topology generator is tested on its own; one short real run (root only) checks that a chain
of validators behind ~40 ms links closes ledgers, loses nothing, agrees on state, reports its
traffic, and leaves no namespace behind. CI runs as root, so there the run can never be skipped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import netlab
import netlab_switch
from lab_runner import require_lab, run_netlab, unique_prefix


def _connected(dials: dict[int, set[int]]) -> bool:
    links: dict[int, set[int]] = {i: set() for i in dials}
    for i, targets in dials.items():
        for j in targets:
            links[i].add(j)
            links[j].add(i)
    seen, todo = {0}, [0]
    while todo:
        for j in links[todo.pop()] - seen:
            seen.add(j)
            todo.append(j)
    return len(seen) == len(dials)


@pytest.mark.parametrize("count", [2, 4, 7, 10])
def test_topologies_connect_every_node(count: int) -> None:
    for topology in netlab.TOPOLOGIES:
        dials = netlab.bootstrap_edges(count, topology, 3, seed=count)
        assert _connected(dials), topology
        assert all(i not in targets for i, targets in dials.items())


def test_chain_dials_only_the_previous_node_and_full_dials_everyone() -> None:
    assert netlab.bootstrap_edges(4, "chain", 0, 1) == {0: set(), 1: {0}, 2: {1}, 3: {2}}
    assert netlab.bootstrap_edges(4, "ring", 0, 1)[0] == {3}
    assert netlab.bootstrap_edges(3, "full", 0, 1) == {0: {1, 2}, 1: {0, 2}, 2: {0, 1}}


def test_random_topology_gives_every_node_its_degree_and_is_seeded() -> None:
    dials = netlab.bootstrap_edges(10, "random", 3, seed=5)
    degree = {i: len(t) for i, t in dials.items()}
    for _i, targets in dials.items():
        for j in targets:
            degree[j] += 1
    assert min(degree.values()) >= 3
    assert dials == netlab.bootstrap_edges(10, "random", 3, seed=5)
    assert dials != netlab.bootstrap_edges(10, "random", 3, seed=6)


def test_switch_port_policy_parsing() -> None:
    default = netlab_switch.PortPolicy(10.0, 1.0, 0.0)
    assert netlab_switch.parse_port("h0", default) == ("h0", default)
    assert netlab_switch.parse_port("h3:150::0.01", default) == (
        "h3",
        netlab_switch.PortPolicy(150.0, 1.0, 0.01),
    )


@pytest.mark.slow
def test_short_chain_run_closes_ledgers_agrees_and_cleans_up(tmp_path: Path) -> None:
    require_lab()
    arguments = ["run", "--validators", "3", "--topology", "chain", "--delay-ms", "20", "--jitter-ms", "2"]
    arguments += ["--rate", "2", "--duration", "8", "--json"]
    done = run_netlab(arguments, unique_prefix("tci"), tmp_path / "lab", timeout_s=240)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["lab"]["topology"] == "chain"
    # say where a missing payment went (refused, and why, or accepted and lost) when one is missing
    outcome = {key: result[key] for key in ("offered", "accepted", "applied", "rejected", "lost")}
    assert result["applied"] == result["offered"] == 16, outcome
    assert result["lost"] == 0, outcome
    assert result["state_hashes_agree"] is True
    traffic = result["traffic_per_ledger"]
    assert set(traffic["nodes"]) == {"n0", "n1", "n2"}
    assert traffic["scp_out_mean"] > 0
    assert traffic["kib_out_mean"] > 0
    assert result["switch"]["forwarded"] > 0
