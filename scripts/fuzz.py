"""Fuzz Tally's decoders, peer handlers and HTTP API (see tests/fuzz/fuzz_harness.py).

Prints a JSON report: ``examples``, ``crashes``, ``rss_mb_start``, ``rss_mb_end``, ``per_target``
(examples, crashes, rate) and the details of the first crashes. Exits 1 if anything crashed, or
if the node stopped closing ledgers, or if memory grew past ``--max-rss-growth-mb``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fuzz"))
sys.path.insert(0, str(ROOT))

import fuzz_harness  # noqa: E402


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/fuzz", description=__doc__)
    parser.add_argument(
        "--examples", type=int, default=20_000, help="Hypothesis examples over all targets (split by weight)"
    )
    parser.add_argument(
        "--random-examples",
        type=int,
        default=0,
        help="extra inputs from the fast random mutator (same operators and corpus; "
        "every target that takes bytes, i.e. all but http and on_request:*)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (each its own 4-node network)")
    parser.add_argument(
        "--seed", type=int, default=0, help="base seed (each worker and target derives its own)"
    )
    parser.add_argument("--targets", default="", help="comma-separated target name prefixes (default: all)")
    parser.add_argument(
        "--rounds", type=int, default=1, help="passes over all targets (RSS is traced after each pass)"
    )
    parser.add_argument("--chunk", type=int, default=5_000, help="examples per Hypothesis run")
    parser.add_argument("--max-rss-growth-mb", type=float, default=200.0)
    parser.add_argument("--json", action="store_true", help="print only the JSON report")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _targets(spec: str) -> list[fuzz_harness.Target]:
    found = fuzz_harness.all_targets()
    if not spec:
        return found
    prefixes = [p.strip() for p in spec.split(",") if p.strip()]
    chosen = [t for t in found if any(t.name.startswith(p) for p in prefixes)]
    if not chosen:
        raise SystemExit(f"error: no target matches {spec!r} (see --list)")
    return chosen


def _run_one(args: argparse.Namespace, quiet: bool) -> dict[str, Any]:
    def progress(line: str) -> None:
        if not quiet:
            print(line, file=sys.stderr, flush=True)

    async def main() -> fuzz_harness.FuzzReport:
        with tempfile.TemporaryDirectory(prefix="tally-fuzz-") as folder:
            return await fuzz_harness.run_fuzz(
                Path(folder),
                args.examples,
                targets=_targets(args.targets),
                seed_base=args.seed,
                progress=progress,
                chunk=args.chunk,
                random_examples=args.random_examples,
                rounds=args.rounds,
            )

    return trio.run(main).as_json()


def _merge(reports: list[dict[str, Any]], wall_s: float) -> dict[str, Any]:
    per_target: dict[str, dict[str, Any]] = {}
    for report in reports:
        for name, stats in report["per_target"].items():
            merged = per_target.setdefault(
                name,
                {
                    "examples": 0,
                    "hypothesis": 0,
                    "random": 0,
                    "crashes": 0,
                    "hypothesis_per_s": 0.0,
                    "random_per_s": 0.0,
                },
            )
            for key in ("examples", "hypothesis", "random", "crashes"):
                merged[key] += stats[key]
            for key in ("hypothesis_per_s", "random_per_s"):  # per worker process
                merged[key] = round(max(merged[key], stats[key]), 1)
    examples = sum(r["examples"] for r in reports)
    return {
        "examples": examples,
        "crashes": sum(r["crashes"] for r in reports),
        "jobs": len(reports),
        "hypothesis_examples": sum(r["hypothesis_examples"] for r in reports),
        "random_examples": sum(r["random_examples"] for r in reports),
        "wall_s": round(wall_s, 1),
        "examples_per_s": round(examples / wall_s, 1) if wall_s else 0.0,
        "rss_mb_start": max(r["rss_mb_start"] for r in reports),
        "rss_mb_end": max(r["rss_mb_end"] for r in reports),
        "rss_mb_peak": max(r["rss_mb_peak"] for r in reports),
        "rss_mb_growth": round(max(r["rss_mb_end"] - r["rss_mb_start"] for r in reports), 1),
        "ledgers_closed_during_fuzz": [r["ledger_after"] - r["ledger_before"] for r in reports],
        "node_closed_ledgers_after_s": max(r["node_closed_ledgers_after_s"] for r in reports),
        "rss_trace_worker0": reports[0]["rss_trace"],
        "per_target": per_target,
        "crash_details": [c for r in reports for c in r["crash_details"]][:20],
    }


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.list:
        for target in fuzz_harness.all_targets():
            print(target.name)
        return 0
    if args.worker:
        print(json.dumps(_run_one(args, quiet=True)))
        return 0
    began = time.monotonic()
    if args.jobs <= 1:
        reports = [_run_one(args, quiet=args.json)]
    else:
        share = -(-args.examples // args.jobs)
        random_share = -(-args.random_examples // args.jobs)
        procs = []
        for job in range(args.jobs):
            cmd = [
                sys.executable,
                __file__,
                "--worker",
                "--examples",
                str(share),
                "--random-examples",
                str(random_share),
                "--rounds",
                str(args.rounds),
                "--seed",
                str(args.seed * 100 + job),
                "--chunk",
                str(args.chunk),
            ]
            if args.targets:
                cmd += ["--targets", args.targets]
            procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True))
        reports = []
        for proc in procs:
            out, _ = proc.communicate()
            if proc.returncode != 0:
                print(f"error: fuzz worker {proc.pid} exited with {proc.returncode}", file=sys.stderr)
                return 2
            reports.append(json.loads(out.strip().splitlines()[-1]))
    result = _merge(reports, time.monotonic() - began)
    print(json.dumps(result, indent=None if args.json else 2))
    healthy = result["crashes"] == 0 and result["rss_mb_growth"] <= args.max_rss_growth_mb
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
