"""scripts/chaos end to end, short: real validators under load, two SIGKILLs and restarts, then
the audit (nothing acknowledged is lost or duplicated, no divergent ledger, same state hash,
databases reopen, no unexpected death)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
KEYS = (
    "kills",
    "restarts",
    "acknowledged",
    "lost",
    "duplicated",
    "divergent_ledgers",
    "state_hashes_agree",
    "max_catchup_s",
    "applied_tx_per_s",
)


def test_chaos_short_run_loses_nothing(tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "chaos.py"),
            "--rate",
            "40",
            "--duration",
            "10",
            "--kill-every",
            "4",
            "--restart-after",
            "1",
            "--accounts",
            "40",
            "--dir",
            str(tmp_path / "net"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=150,
        cwd=ROOT,
    )
    assert completed.stdout, completed.stderr[-3000:]
    report = json.loads(completed.stdout)
    for key in KEYS:
        assert key in report, key
    assert report["kills"] >= 1, report
    assert report["restarts"] == report["kills"], report
    assert report["acknowledged"] > 0, report
    assert (report["lost"], report["duplicated"], report["divergent_ledgers"]) == (0, 0, 0), report
    assert report["state_hashes_agree"], report
    assert report["databases_reopen"], report
    assert report["unexpected_deaths"] == [], report
    assert completed.returncode == 0, completed.stderr[-3000:]


def test_chaos_wrapper_is_executable() -> None:
    wrapper = ROOT / "scripts" / "chaos"
    assert wrapper.stat().st_mode & 0o111
    assert "_venv.sh" in wrapper.read_text()
