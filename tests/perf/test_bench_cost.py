"""The bench's cost report: counters parsed from a node's /metrics, CPU per applied transaction
split by stage (what no stage claims is ``unattributed``), and the ratio to the protocol floor."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from bench_cost import CpuSample, cost_per_transaction, cost_report, parse_sample

from node.cpu import Stage
from node.metrics import NodeMetrics

EXPOSITION = """\
# HELP tally_cpu_stage_seconds_total CPU time of this process by stage
# TYPE tally_cpu_stage_seconds_total counter
tally_cpu_stage_seconds_total{stage="signatures"} 1.5
tally_cpu_stage_seconds_total{stage="http"} 0.5
tally_process_cpu_seconds_total 4.0
tally_tx_applied_total{code="ok"} 900.0
tally_tx_applied_total{code="underfunded"} 100.0
tally_tx_applied_created{code="ok"} 1.7e+09
"""


def test_counters_are_read_from_the_exposition() -> None:
    sample = parse_sample(EXPOSITION)
    assert sample == CpuSample(4.0, {"signatures": 1.5, "http": 0.5}, 1000.0)


def test_a_real_nodes_metrics_carry_every_counter() -> None:
    sample = parse_sample(NodeMetrics().render().decode())
    assert sample.process_s > 0
    assert set(sample.stages_s) == {stage.value for stage in Stage}


def test_cost_per_transaction_splits_by_stage() -> None:
    before = CpuSample(10.0, {"signatures": 1.0}, 500.0)
    after = CpuSample(12.0, {"signatures": 1.5, "http": 0.25}, 1500.0)
    cost = cost_per_transaction(before, after)
    assert cost["applied"] == 1000
    assert cost["cpu_us_per_tx"] == 2000.0
    assert cost["by_stage_us"]["signatures"] == 500.0
    assert cost["by_stage_us"]["http"] == 250.0
    assert cost["by_stage_us"]["unattributed"] == 1250.0


def test_nothing_applied_gives_no_figure() -> None:
    sample = CpuSample(1.0, {}, 10.0)
    assert cost_per_transaction(sample, sample)["cpu_us_per_tx"] is None


def test_ratio_to_the_floor() -> None:
    before = {"v0": CpuSample(0.0, {}, 0.0), "v1": CpuSample(0.0, {}, 0.0)}
    after = {"v0": CpuSample(0.3, {}, 1000.0), "v1": CpuSample(0.2, {}, 1000.0)}
    report = cost_report(before, after, {"cpu_us_per_tx": 100.0})
    assert report["validators"]["v0"]["ratio_to_floor"] == pytest.approx(3.0)
    assert report["validators"]["v1"]["ratio_to_floor"] == pytest.approx(2.0)
    assert report["ratio_to_floor_max"] == pytest.approx(3.0)
