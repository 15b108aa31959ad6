"""scripts/netlab's lose-bootstrap scenario (root only; CI is root): in a chain of four validators
behind ~40 ms links, the last one loses its only bootstrap peer and is restarted; it comes back
through the peers it discovered (signed records kept in its database) and catches up."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from test_netlab import ROOT, _lab_missing  # it also puts scripts/ on sys.path

pytestmark = pytest.mark.slow


def test_a_node_that_loses_its_only_bootstrap_peer_reconnects_through_discovered_peers(
    tmp_path: Path,
) -> None:
    import netlab_ns  # from scripts/ (see above)

    missing = _lab_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}: CI runs as root and installs ethtool (.ci/run)")
        pytest.skip(missing)
    prefix = "tcs"
    command = [
        str(ROOT / "scripts" / "netlab"),
        "run",
        "--validators",
        "4",
        "--topology",
        "chain",
        "--delay-ms",
        "20",
        "--rate",
        "2",
        "--duration",
        "8",
        "--scenario",
        "lose-bootstrap",
        "--json",
        "--prefix",
        prefix,
        "--dir",
        str(tmp_path / "lab"),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    finally:
        leftover = netlab_ns.existing(prefix)
        netlab_ns.destroy(prefix)
    assert leftover == []
    assert done.returncode == 0, done.stderr[-2000:]
    scenario = json.loads(done.stdout)["scenario"]
    assert scenario["stopped_bootstrap"] == ["n2"]
    assert scenario["reconnected"] is True, scenario
    assert scenario["peers"] >= 2, "n0 and n1, found through discovery"
    assert scenario["ledger"] >= scenario["others_ledger"]
