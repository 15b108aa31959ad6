"""The cost report of ``scripts/bench --json``: each validator's CPU per applied transaction, split
by stage, beside the protocol floor measured in the same run.

Per validator, from its ``/metrics`` scraped before the load and after the network drained:
``tally_process_cpu_seconds_total`` (every thread), ``tally_cpu_stage_seconds_total{stage}``
(``node.cpu``: in-process counters) and ``tally_tx_applied_total`` (transactions in its ledgers).
What no stage claims (trio's scheduler and I/O wait handling, garbage collection, library threads)
is reported as ``unattributed``.

The floor is ``scripts/bench-protocol``'s pipeline (decode, signature check, apply, with the
ledger's change list and state hash) on one core, run in this process once the validators are
idle again: the least CPU a validator can spend per payment. The ratio is the issue's measure.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from bench_protocol import Run, build_workload, run_once

from node.cpu import Stage

FLOOR_TRANSACTIONS = 5_000
FLOOR_ACCOUNTS = 1_000
FLOOR_REPEATS = 3
_SAMPLE = re.compile(r'^(tally_[a-z_]+)(?:\{([a-z_]+)="([^"]*)"\})? ([0-9.e+-]+)$')


@dataclass(frozen=True)
class CpuSample:
    """One validator's counters at one moment."""

    process_s: float
    stages_s: dict[str, float]
    applied: float


def parse_sample(text: str) -> CpuSample:
    """The cost counters out of a Prometheus text exposition."""
    process = 0.0
    applied = 0.0
    stages: dict[str, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None:
            continue
        name, label, label_value, value = match.groups()
        if name == "tally_process_cpu_seconds_total":
            process = float(value)
        elif name == "tally_cpu_stage_seconds_total" and label == "stage":
            stages[label_value] = float(value)
        elif name == "tally_tx_applied_total":
            applied += float(value)
    return CpuSample(process, stages, applied)


async def scrape(http: httpx.AsyncClient, apis: dict[str, str]) -> dict[str, CpuSample]:
    samples = {}
    for name, api in apis.items():
        response = await http.get(f"{api}/metrics")
        response.raise_for_status()
        samples[name] = parse_sample(response.text)
    return samples


def cost_per_transaction(before: CpuSample, after: CpuSample) -> dict[str, Any]:
    """µs of CPU per applied transaction, in total and by stage, between two samples."""
    applied = after.applied - before.applied
    if applied <= 0:
        return {"applied": 0, "cpu_us_per_tx": None, "by_stage_us": {}}
    stages = {
        stage.value: (after.stages_s.get(stage.value, 0.0) - before.stages_s.get(stage.value, 0.0))
        for stage in Stage
    }
    total = after.process_s - before.process_s
    by_stage = {name: round(seconds / applied * 1e6, 1) for name, seconds in stages.items()}
    by_stage["unattributed"] = round(max(0.0, total - sum(stages.values())) / applied * 1e6, 1)
    return {
        "applied": int(applied),
        "cpu_s": round(total, 3),
        "cpu_us_per_tx": round(total / applied * 1e6, 1),
        "by_stage_us": by_stage,
    }


def protocol_floor() -> dict[str, Any]:
    """``scripts/bench-protocol``'s pipeline on this machine now: CPU µs per payment (median)."""
    work = build_workload(FLOOR_TRANSACTIONS, FLOOR_ACCOUNTS, seed=1)
    run_once(work, FLOOR_TRANSACTIONS)  # warm-up
    runs = [run_once(work, FLOOR_TRANSACTIONS) for _ in range(FLOOR_REPEATS)]
    n = FLOOR_TRANSACTIONS

    def cpu_us(part: Callable[[Run], float]) -> float:
        # the parts are timed by the wall clock: scaled to the run's CPU time, so that a busy
        # machine (this process waiting for a core) does not inflate them
        return round(statistics.median(part(r) * r.cpu_seconds / r.seconds for r in runs) / n * 1e6, 1)

    return {
        "cpu_us_per_tx": round(statistics.median(r.cpu_seconds for r in runs) / n * 1e6, 1),
        "decode_us": cpu_us(lambda r: r.decode),
        "verify_us": cpu_us(lambda r: r.verify),
        "apply_us": cpu_us(lambda r: r.apply),
        "transactions": n,
        "repeats": FLOOR_REPEATS,
    }


def cost_report(
    before: dict[str, CpuSample], after: dict[str, CpuSample], floor: dict[str, Any]
) -> dict[str, Any]:
    """Per validator cost, the floor, and each validator's ratio to it."""
    validators = {name: cost_per_transaction(before[name], after[name]) for name in before}
    floor_us = floor["cpu_us_per_tx"]
    for cost in validators.values():
        per_tx = cost["cpu_us_per_tx"]
        cost["ratio_to_floor"] = None if per_tx is None or not floor_us else round(per_tx / floor_us, 2)
    ratios = [c["ratio_to_floor"] for c in validators.values() if c["ratio_to_floor"] is not None]
    return {
        "validators": validators,
        "protocol_floor": floor,
        "ratio_to_floor_max": max(ratios) if ratios else None,
    }
