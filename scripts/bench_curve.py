"""``scripts/bench --find-max``: the highest rate the network sustains, then (``--curve``, the
default) what happens past it: applied against offered at 2x and 3x that maximum.

A step is sustained when at least 95 % of what was offered is applied within the window, the p99
latency of the applied payments is at most ``--p99-ms`` (2 s), nothing accepted is lost and every
node's state hash agrees. Past the maximum a network with graceful overload keeps applying at about
its maximum and refuses the excess at once (``overloaded``, with ``Retry-After``); the bench's
generator offers a refused payment again once that time has passed, like a client would.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rich.console import Console

Measure = Callable[[float, float, int, int], Awaitable[dict[str, Any]]]
CURVE_FACTORS = (2.0, 3.0)
MAX_ACCOUNTS = 6_000


def accounts_for(rate: float) -> int:
    """Paying accounts for a rate: each pays about once a second (at most ``MAX_ACCOUNTS``)."""
    return max(50, min(MAX_ACCOUNTS, int(rate)))


def sustained(step: dict[str, Any], p99_limit_ms: float) -> bool:
    p99 = step["latency_ms_p99"]
    return (
        p99 is not None
        and p99 <= p99_limit_ms
        and step["applied_tx_per_s"] >= 0.95 * step["offered_tx_per_s"]
        and step["lost"] == 0
        and step["state_hashes_agree"]
    )


async def find_max(
    measure: Measure,
    *,
    rate: float,
    step_factor: float,
    duration: float,
    seed: int,
    p99_limit_ms: float,
    curve: bool,
    console: Console,
) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    best: float | None = None
    best_applied = None
    while True:
        step = await measure(rate, duration, accounts_for(rate), seed + len(steps))
        steps.append({"rate": rate, **step})
        ok = sustained(step, p99_limit_ms)
        console.print(
            f"rate {rate:g}: applied {step['applied_tx_per_s']} tx/s, p99 {step['latency_ms_p99']} ms -> "
            f"{'sustained' if ok else 'over the limit'}"
        )
        if not ok:
            break
        best, best_applied = rate, step["applied_tx_per_s"]
        rate = round(rate * step_factor)
    report: dict[str, Any] = {"max_sustainable_tx_per_s": best, "steps": steps}
    if curve and best is not None:
        points: list[dict[str, Any]] = []
        for factor in CURVE_FACTORS:
            offered = round(best * factor)
            point = await measure(offered, duration, accounts_for(offered), seed + len(steps) + len(points))
            points.append({"factor": factor, "rate": offered, **point})
            console.print(
                f"{factor:g}x the maximum ({offered} tx/s): applied {point['applied_tx_per_s']} tx/s, "
                f"refused {point['rejected'].get('overloaded', 0)}, p99 of the admitted "
                f"{point['latency_ms_p99']} ms"
            )
        report["overload_curve"] = [
            {
                "factor": 1.0,
                "offered_tx_per_s": steps[-2]["offered_tx_per_s"] if len(steps) > 1 else None,
                "applied_tx_per_s": best_applied,
            }
        ] + [
            {
                "factor": p["factor"],
                "offered_tx_per_s": p["offered_tx_per_s"],
                "applied_tx_per_s": p["applied_tx_per_s"],
                "applied_vs_max": round(p["applied_tx_per_s"] / best_applied, 3) if best_applied else None,
                "refused_overloaded": p["rejected"].get("overloaded", 0),
                "latency_ms_p99_admitted": p["latency_ms_p99"],
                "lost": p["lost"],
            }
            for p in points
        ]
        report["overload_steps"] = points
    return report
