"""scripts/bench-protocol runs and prints the documented JSON keys (the figure is never asserted:
it is a benchmark, not a timed test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_protocol_json_keys() -> None:
    completed = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "bench_protocol.py"),
            "--json",
            "-n",
            "40",
            "-r",
            "2",
            "--accounts",
            "10",
            "--ledger-size",
            "7",
            "--no-pin",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=True,
    )
    report = json.loads(completed.stdout)
    for key in ("tx_per_s", "runs", "decode_us", "verify_us", "apply_us", "machine"):
        assert key in report, key
    assert set(report["machine"]) >= {"cores", "cpu_model", "python"}
    assert len(report["runs"]) == 2
    assert all(run["failed"] == 0 for run in report["runs"])
    assert report["tx_per_s"] > 0


def test_bench_protocol_wrapper_is_executable() -> None:
    wrapper = ROOT / "scripts" / "bench-protocol"
    assert wrapper.stat().st_mode & 0o111
    assert "_venv.sh" in wrapper.read_text()
