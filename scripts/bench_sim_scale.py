"""The simulator's scaling curve: 4 to 100 validators in organisations of 3, 100 ms latency, 1 % loss.

For each size it runs ``tally sim``'s engine (``consensus.sim``) a few times with the same seed and
reports the simulated figures (externalize p50/p99, messages per slot; identical across runs, the
simulation is deterministic) and the wall-clock and CPU time per slot (medians), with the machine's
load, since other work on the machine slows the wall clock:

  python scripts/bench_sim_scale.py                     # the README table
  python scripts/bench_sim_scale.py --nodes 4 25 100 --slots 3 --runs 3 --json
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine_info import print_report

from consensus.sim import SimConfig, run_simulation


def measure(nodes: int, slots: int, runs: int, latency_ms: int, drop: float, seed: int) -> dict[str, Any]:
    cfg = SimConfig(
        nodes=nodes, topology="orgs", latency_ms=latency_ms, jitter_ms=20, drop=drop, slots=slots, seed=seed
    )
    walls, cpus, reports = [], [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        report = run_simulation(cfg)
        walls.append((time.perf_counter() - wall) / slots)
        cpus.append((time.process_time() - cpu) / slots)
        reports.append(report.to_json())
    first = reports[0]
    assert all(r == first for r in reports), "a seeded simulation gave different results"
    return {
        "validators": nodes,
        "organisations": -(-nodes // 3),
        "externalize_ms_p50": first["externalize_ms_p50"],
        "externalize_ms_p99": first["externalize_ms_p99"],
        "messages_per_slot": first["messages_per_slot"],
        "slots_externalized_by_all_honest": first["slots_externalized_by_all_honest"],
        "safety_violations": first["safety_violations"],
        "wall_s_per_slot_median": round(statistics.median(walls), 2),
        "cpu_s_per_slot_median": round(statistics.median(cpus), 2),
        "runs": runs,
        "slots": slots,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, nargs="*", default=[4, 10, 25, 50, 75, 100])
    parser.add_argument("--slots", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--drop", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    for n in args.nodes:
        rows.append(measure(n, args.slots, args.runs, args.latency_ms, args.drop, args.seed))
        if not args.json:
            print(rows[-1], file=sys.stderr)
    print_report(
        rows,
        [
            ("validators", "{validators}"),
            ("externalize p50 / p99", "{externalize_ms_p50} / {externalize_ms_p99} ms"),
            ("messages per slot", "{messages_per_slot:,.0f}"),
            ("wall time per slot", "{wall_s_per_slot_median:.2f} s"),
            ("CPU per slot", "{cpu_s_per_slot_median:.2f} s"),
        ],
        as_json=args.json,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
