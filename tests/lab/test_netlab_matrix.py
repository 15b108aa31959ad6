"""``scripts/netlab matrix``: cells over the grid, medians of their runs, a record to resume from,
the lock held per cell; and one small real matrix (root, slow; CI is root)."""

from __future__ import annotations

import argparse
import fcntl
import json
import statistics
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import netlab
import netlab_matrix
import netlab_ns
from lab_runner import require_lab, run_netlab, unique_prefix


def _args(tmp_path: Path, **changes: Any) -> argparse.Namespace:
    values: dict[str, Any] = {
        "validators": [4, 7],
        "topologies": ["chain", "full"],
        "delays_ms": [0.0, 50.0],
        "repeat": 3,
        "rate": 5.0,
        "duration": 20.0,
        "degree": 2,
        "jitter_ms": 0.0,
        "loss": 0.0,
        "close_interval_ms": 1000,
        "seed": 1,
        "dir": str(tmp_path / "lab"),
        "prefix": "tx",
        "lock": None,
        "record": None,
    }
    return argparse.Namespace(**(values | changes))


class FakeLab:
    """``netlab.run`` answering made-up figures: latency grows with the run's seed and delay."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail: set[tuple[str, int]] | None = None) -> None:
        self.calls: list[argparse.Namespace] = []
        self.fail = fail or set()
        self.lock: Path | None = None
        self.lock_held: list[bool] = []
        monkeypatch.setattr(netlab, "run", self.run)

    def run(self, args: argparse.Namespace, after_load: object = None) -> dict[str, Any]:
        self.calls.append(args)
        if self.lock is not None:
            self.lock_held.append(_locked(self.lock))
        key = f"{args.validators}-{args.topology}-{args.delay_ms:g}"
        if (key, args.seed) in self.fail:
            raise netlab_ns.LabError("nodes n1 not ready after 60 s")
        latency = 1000.0 + 10 * args.delay_ms + 100 * args.seed
        return {
            "offered": 100,
            "applied": 100,
            "lost": 0,
            "state_hashes_agree": True,
            "latency_ms_p50": latency,
            "latency_ms_p99": 2 * latency,
            "close_interval_ms_p50": 1000.0 + args.seed,
            "ledgers": 20,
            "traffic_per_ledger": {
                "messages_out_mean": 10.0 * args.validators,
                "scp_out_mean": 4.0 * args.seed,
                "kib_out_mean": 3.0,
                "kib_out_max": 4.0,
            },
            "switch": {"late_share": 0.01},
        }


def _locked(path: Path) -> bool:
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def test_every_cell_runs_repeat_times_and_reports_the_medians(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lab = FakeLab(monkeypatch)
    result = netlab_matrix.matrix(_args(tmp_path))
    assert len(result["cells"]) == 8
    assert len(lab.calls) == 24
    assert {(c.validators, c.topology, c.delay_ms, c.seed) for c in lab.calls} == {
        (v, t, d, s) for v in (4, 7) for t in ("chain", "full") for d in (0.0, 50.0) for s in (1, 2, 3)
    }
    cell = next(
        c for c in result["cells"] if (c["validators"], c["topology"], c["delay_ms"]) == (7, "chain", 50)
    )
    assert cell["rtt_ms_nominal"] == 100
    median = cell["median"]
    assert median["latency_ms_p50"] == statistics.median([1600.0, 1700.0, 1800.0]) == 1700.0
    assert median["latency_ms_p99"] == 3400.0
    assert median["scp_per_ledger"] == 8.0
    assert median["messages_per_ledger"] == 70.0
    assert (median["applied"], median["offered"], median["runs"], median["runs_failed"]) == (300, 300, 3, 0)
    assert netlab_matrix.all_healthy(result)


def test_a_failed_run_is_kept_apart_and_makes_the_matrix_unhealthy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    FakeLab(monkeypatch, fail={("4-chain-0", 2)})
    result = netlab_matrix.matrix(_args(tmp_path, validators=[4], topologies=["chain"], delays_ms=[0.0]))
    median = result["cells"][0]["median"]
    assert (median["runs"], median["runs_failed"], median["applied"]) == (3, 1, 200)
    assert median["latency_ms_p50"] == statistics.median([1100.0, 1300.0])
    assert "not ready" in result["cells"][0]["runs"][1]["error"]
    assert not netlab_matrix.all_healthy(result)


def test_a_recorded_matrix_resumes_where_it_stopped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    record = tmp_path / "matrix.jsonl"
    FakeLab(monkeypatch)
    netlab_matrix.matrix(_args(tmp_path, validators=[4], delays_ms=[0.0], repeat=2, record=str(record)))
    lines = record.read_text().splitlines()
    assert len(lines) == 4
    record.write_text("\n".join(lines) + '\n{"cell": "4-full-0", "ru')  # a run torn by a kill
    again = FakeLab(monkeypatch)
    result = netlab_matrix.matrix(
        _args(tmp_path, validators=[4], delays_ms=[0.0], repeat=3, record=str(record))
    )
    assert [(c.topology, c.seed) for c in again.calls] == [("chain", 3), ("full", 3)]
    assert [c["median"]["runs"] for c in result["cells"]] == [3, 3]


def test_the_lock_is_held_during_every_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    lab = FakeLab(monkeypatch)
    lab.lock = tmp_path / "bench.lock"
    netlab_matrix.matrix(_args(tmp_path, validators=[4], delays_ms=[0.0], repeat=2, lock=str(lab.lock)))
    assert lab.lock_held == [True] * 4
    assert not _locked(lab.lock)


def test_the_table_shows_seconds_counts_and_load(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    FakeLab(monkeypatch)
    result = netlab_matrix.matrix(_args(tmp_path, validators=[4], topologies=["chain"], delays_ms=[50.0]))
    netlab_matrix.print_table(result)
    out = capsys.readouterr().out
    assert "medians of 3 runs per cell, 5 tx/s for 20 s each" in out
    assert "| 4 | chain | 100 ms | 1.70 s | 3.40 s | 1.00 s | 40 | 8 | 3 (4) | 300/300 | 3/3 |" in out


@pytest.mark.slow
def test_a_small_real_matrix(tmp_path: Path) -> None:
    require_lab()
    record = tmp_path / "matrix.jsonl"
    arguments = ["matrix", "--validators", "3", "--topologies", "chain,full", "--delays-ms", "10"]
    arguments += ["--repeat", "2", "--rate", "2", "--duration", "4", "--json", "--record", str(record)]
    done = run_netlab(arguments, unique_prefix("tcm"), tmp_path / "lab", timeout_s=280)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert [(c["topology"], c["median"]["runs"]) for c in result["cells"]] == [("chain", 2), ("full", 2)]
    for cell in result["cells"]:
        runs, median = cell["runs"], cell["median"]
        assert median["applied"] == median["offered"] == 16
        assert median["latency_ms_p50"] == round(statistics.median(r["latency_ms_p50"] for r in runs), 2)
        assert median["scp_per_ledger"] > 0
    assert len(record.read_text().splitlines()) == 4
