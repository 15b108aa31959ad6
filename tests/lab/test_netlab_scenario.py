"""scripts/netlab's lose-bootstrap scenario (root only; CI is root): in a chain of four validators
behind ~40 ms links, the last one loses its only bootstrap peer and is restarted; it comes back
through the peers it discovered (signed records kept in its database) and catches up."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from lab_runner import require_lab, run_netlab, unique_prefix

pytestmark = pytest.mark.slow


def test_a_node_that_loses_its_only_bootstrap_peer_reconnects_through_discovered_peers(
    tmp_path: Path,
) -> None:
    require_lab()
    arguments = ["run", "--validators", "4", "--topology", "chain", "--delay-ms", "20", "--rate", "2"]
    arguments += ["--duration", "8", "--scenario", "lose-bootstrap", "--json"]
    done = run_netlab(arguments, unique_prefix("tcs"), tmp_path / "lab", timeout_s=300)
    assert done.returncode == 0, done.stderr[-2000:]
    scenario = json.loads(done.stdout)["scenario"]
    assert scenario["stopped_bootstrap"] == ["n2"]
    assert scenario["reconnected"] is True, scenario
    assert scenario["peers"] >= 2, "n0 and n1, found through discovery"
    assert scenario["ledger"] >= scenario["others_ledger"]
