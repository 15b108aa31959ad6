"""``scripts/bench --find-max``: a step is sustained only with 95 % applied, p99 within the limit,
nothing lost and agreeing state hashes; past the maximum the curve offers 2x and 3x it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from bench_curve import find_max, sustained
from rich.console import Console

CAPACITY = 1_000.0  # the fake network applies up to this many tx/s


async def _fake_measure(rate: float, duration: float, accounts: int, seed: int) -> dict[str, Any]:
    applied = min(rate, CAPACITY)
    return {
        "offered_tx_per_s": rate,
        "applied_tx_per_s": applied,
        "latency_ms_p99": 900.0 if rate <= CAPACITY else 1500.0,
        "lost": 0,
        "state_hashes_agree": True,
        "rejected": {"overloaded": int((rate - applied) * duration)},
    }


def _step(**changes: Any) -> dict[str, Any]:
    return {
        "offered_tx_per_s": 100.0,
        "applied_tx_per_s": 99.0,
        "latency_ms_p99": 1000.0,
        "lost": 0,
        "state_hashes_agree": True,
    } | changes


def test_a_step_is_sustained_only_when_every_condition_holds() -> None:
    assert sustained(_step(), 2000)
    assert not sustained(_step(latency_ms_p99=2100.0), 2000)
    assert not sustained(_step(latency_ms_p99=None), 2000)
    assert not sustained(_step(applied_tx_per_s=90.0), 2000)
    assert not sustained(_step(lost=1), 2000)
    assert not sustained(_step(state_hashes_agree=False), 2000)


async def test_the_curve_offers_twice_and_three_times_the_maximum() -> None:
    report = await find_max(
        _fake_measure,
        rate=500,
        step_factor=1.25,
        duration=10,
        seed=1,
        p99_limit_ms=2000,
        curve=True,
        console=Console(quiet=True),
    )
    assert report["max_sustainable_tx_per_s"] == 976  # 500, 625, 781, 976 sustained; 1220 not
    curve = report["overload_curve"]
    assert [point["factor"] for point in curve] == [1.0, 2.0, 3.0]
    assert [point["offered_tx_per_s"] for point in curve[1:]] == [1952, 2928]
    assert curve[1]["applied_vs_max"] == round(1000 / 976, 3)
    assert curve[2]["refused_overloaded"] == (2928 - 1000) * 10
