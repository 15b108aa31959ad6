"""``tally testnet`` and ``scripts/bench`` as a newcomer uses them: real node processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from node.cpu import Stage

REPO = Path(__file__).resolve().parents[2]
TALLY = [sys.executable, "-c", "from node.cli.app import main; main()"]


def _run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TALLY, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.slow
def test_testnet_up_demo_payment_status_and_down(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TALLY_HOME": str(tmp_path / "home"),
        "TALLY_PASSWORD": "tally-testnet-only",
        "TALLY_INSECURE_FAST_KDF": "1",
    }
    folder = tmp_path / "net"
    up = _run(["testnet", "up", "--validators", "4", "--dir", str(folder), "--json"], env)
    try:
        assert up.returncode == 0, up.stderr
        summary = json.loads(up.stdout)
        assert [n["name"] for n in summary["nodes"]] == ["v0", "v1", "v2", "v3"]
        assert {"alice", "bob", "carol"} <= set(summary["demo_wallets"])
        assert summary["demo_password"] == "tally-testnet-only"
        assert summary["demo"]["demo_payment"]["memo"] == "gardening"

        send = _run(["send", "bob", "2", "HOUR", "--wallet", "alice", "--wait", "--json"], env)
        assert send.returncode == 0, send.stdout + send.stderr
        assert json.loads(send.stdout)["status"] == "applied"
        refused = _run(["send", "bob", "20", "HOUR", "--wallet", "alice", "--json"], env)
        assert refused.returncode == 1, "over the 10 h credit limit must be refused"

        again = _run(["testnet", "up", "--dir", str(folder), "--json"], env)
        assert again.returncode == 0
        assert json.loads(again.stdout)["already_running"] is True

        deadline = time.monotonic() + 30
        while True:
            status = _run(["testnet", "status", "--dir", str(folder), "--json"], env)
            rows = json.loads(status.stdout)["nodes"]
            if len({(r["ledger"], r["state_hash"]) for r in rows}) == 1 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert status.returncode == 0
        assert all(r["alive"] for r in rows)
        assert len({(r["ledger"], r["state_hash"]) for r in rows}) == 1, rows

        os.kill(summary["nodes"][3]["pid"], signal.SIGKILL)
        crashed = _run(["testnet", "status", "--dir", str(folder), "--json"], env)
        assert crashed.returncode == 1, "a crashed node must make status fail"
        assert [r["alive"] for r in json.loads(crashed.stdout)["nodes"]] == [True, True, True, False]
    finally:
        down = _run(["testnet", "down", "--dir", str(folder), "--json"], env)
    assert down.returncode == 0, down.stderr
    assert set(json.loads(down.stdout)["stopped"]) == {"v0", "v1", "v2"}


@pytest.mark.slow
def test_bench_smoke_reports_every_figure(tmp_path: Path) -> None:
    """Keeps scripts/bench working; the figures themselves are never asserted."""
    result = subprocess.run(
        [str(REPO / "scripts" / "bench"), "--validators", "3", "--rate", "40", "--duration", "3", "--json"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert not list(tmp_path.glob("tally-bench-*")), "the testnet folder it started is removed"
    report = json.loads(result.stdout)
    for key in (
        "offered_tx_per_s",
        "applied_tx_per_s",
        "accepted",
        "applied",
        "lost",
        "duplicates",
        "close_interval_ms_p50",
        "close_interval_ms_p99",
        "latency_ms_p50",
        "latency_ms_p99",
        "state_hashes_agree",
        "nodes",
        "generator_cpu_percent",
        "machine",
    ):
        assert key in report, key
    assert report["generator_cpu_percent"] > 0  # it sent every payment of the window
    assert set(report["nodes"]) == {"v0", "v1", "v2"}
    assert all({"cpu_percent", "rss_mb"} <= set(n) for n in report["nodes"].values())
    assert report["state_hashes_agree"] is True
    # the watcher saw every admitted payment land (node 0's event stream, scripts/bench_load.py)
    assert report["applied"] == report["accepted"] > 0, report
    assert report["lost"] == 0, report
    cost = report["cost"]
    assert set(cost["validators"]) == {"v0", "v1", "v2"}
    for validator in cost["validators"].values():
        assert {"cpu_us_per_tx", "by_stage_us", "ratio_to_floor", "applied"} <= set(validator)
        assert {stage.value for stage in Stage} | {"unattributed"} == set(validator["by_stage_us"])
    assert cost["protocol_floor"]["cpu_us_per_tx"] > 0
