"""Measure ``tally check-quorum`` on the issue-17 networks: wall time and peak memory, medians of runs.

Each run is a fresh ``tally check-quorum FILE --json`` process; its peak memory is the largest
resident set of that process and the bounded checker process it starts (``wait4`` rusage). Networks
come from ``scripts/quorum_networks.py`` (seeded), so anyone can reproduce the figures:

  python scripts/bench_quorum.py                       # the README table (3 runs each)
  python scripts/bench_quorum.py --runs 5 --orgs 20 25 --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine_info import print_report
from quorum_networks import org_network, random_network

# (organisations, watchers) as in the table
DEFAULT_ORGS = {4: 20, 7: 60, 10: 50, 16: 50, 20: 40, 25: 50}


def run_once(path: Path, extra: list[str]) -> tuple[float, float, dict[str, Any]]:
    """(wall seconds, peak MB of the command and its children, JSON answer)."""
    cmd = [sys.executable, "-c", "from node.cli.app import main; main()", "check-quorum", str(path), "--json"]
    start = time.perf_counter()
    proc = subprocess.Popen([*cmd, *extra], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, _, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = 0  # reaped by wait4 above
    return wall, usage.ru_maxrss / 1024, json.loads(out)


def measure(
    name: str, nodes: list[dict[str, Any]], runs: int, extra: list[str], folder: Path
) -> dict[str, Any]:
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"nodes": nodes}))
    walls, peaks, answers = [], [], []
    for _ in range(runs):
        wall, peak, answer = run_once(path, extra)
        walls.append(wall)
        peaks.append(peak)
        answers.append(answer["intersecting"])
    verdict = {True: "intersecting", False: "split", None: "unknown"}[answers[0]]
    if len(set(answers)) != 1:
        verdict = "inconsistent: " + ", ".join(map(str, answers))
    return {
        "network": name,
        "nodes": len(nodes),
        "answer": verdict,
        "wall_s_median": round(statistics.median(walls), 2),
        "peak_mb_median": round(statistics.median(peaks)),
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--orgs", type=int, nargs="*", default=sorted(DEFAULT_ORGS))
    parser.add_argument("--no-hard", action="store_true", help="skip the random network that ends unknown")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for orgs in args.orgs:
            watchers = DEFAULT_ORGS.get(orgs, 40)
            for split in (False, True):
                nodes = org_network(orgs, 3, watchers, orgs // 2 if split else None, seed=1)
                label = f"{orgs} orgs ({3 * orgs} + {watchers}){' split' if split else ''}"
                rows.append(measure(label, nodes, args.runs, [], folder))
                if not args.json:
                    print(rows[-1], file=sys.stderr)
        if not args.no_hard:
            hard = random_network(60, 15, seed=1)
            rows.append(
                measure("random 60 × 15 (limit 10 s)", hard, args.runs, ["--time-limit", "10"], folder)
            )
    print_report(
        rows,
        [
            ("network", "{network}"),
            ("answer", "{answer}"),
            ("time (median)", "{wall_s_median:.2f} s"),
            ("peak memory (median)", "{peak_mb_median} MB"),
        ],
        as_json=args.json,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
