"""``scripts/netlab matrix``: the same short run over a grid of lab shapes, N times each, medians.

  scripts/netlab matrix --validators 4,7 --topologies chain,full --delays-ms 0,50,150 \\
      --repeat 3 --rate 5 --duration 25 --lock /work/bench.lock --record matrix.jsonl

Every cell (validators × topology × one-way delay) is run ``--repeat`` times with ``netlab.run``
(each run builds its lab and always tears it down); a cell reports the median of its runs' figures,
so one unlucky run on a shared machine does not make the table. ``--lock FILE`` holds an exclusive
``flock`` on FILE for each cell, so benchmarks that take the same lock never overlap the lab's runs.
``--record FILE`` appends every finished run as one JSON line and skips the runs a cell already has
there, so an interrupted matrix resumes where it stopped. The 1-minute load average is noted before
every run: figures taken above ~2 are from a loaded machine.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import itertools
import json
import os
import statistics
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import netlab
import netlab_ns as ns
from machine_info import machine, print_report

# the figures of a run that a cell reports as medians (the names of its summary)
FIGURES = (
    "latency_ms_p50",
    "latency_ms_p99",
    "close_interval_ms_p50",
    "messages_per_ledger",
    "scp_per_ledger",
    "kib_per_ledger",
    "kib_per_ledger_max",
    "switch_late_share",
    "load_1min",
)


@dataclass(frozen=True)
class Cell:
    validators: int
    topology: str
    delay_ms: float

    @property
    def key(self) -> str:
        return f"{self.validators}-{self.topology}-{self.delay_ms:g}"


def grid(validators: list[int], topologies: list[str], delays_ms: list[float]) -> list[Cell]:
    return [Cell(v, t, d) for v, t, d in itertools.product(validators, topologies, delays_ms)]


def summarise(result: dict[str, Any], load_1min: float) -> dict[str, Any]:
    """One run's figures (per ledger per node: the mean over the nodes)."""
    traffic = result.get("traffic_per_ledger", {})
    return {
        "offered": result["offered"],
        "applied": result["applied"],
        "lost": result["lost"],
        "state_hashes_agree": bool(result["state_hashes_agree"]),
        "latency_ms_p50": result["latency_ms_p50"],
        "latency_ms_p99": result["latency_ms_p99"],
        "close_interval_ms_p50": result["close_interval_ms_p50"],
        "ledgers": result["ledgers"],
        "messages_per_ledger": traffic.get("messages_out_mean"),
        "scp_per_ledger": traffic.get("scp_out_mean"),
        "kib_per_ledger": traffic.get("kib_out_mean"),
        "kib_per_ledger_max": traffic.get("kib_out_max"),
        "switch_late_share": result.get("switch", {}).get("late_share"),
        "load_1min": round(load_1min, 2),
    }


def healthy(run: dict[str, Any]) -> bool:
    return "error" not in run and run["state_hashes_agree"] and not run["lost"] and run["applied"] > 0


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """A cell's figures: the median of each figure over its runs that finished (failed runs count
    only in ``runs_failed``); payments and losses are summed; the loads give their range."""
    done = [r for r in runs if "error" not in r]
    medians: dict[str, Any] = {}
    for figure in FIGURES:
        values = [r[figure] for r in done if r.get(figure) is not None]
        medians[figure] = round(statistics.median(values), 2) if values else None
    loads = [r["load_1min"] for r in runs]
    return medians | {
        "runs": len(runs),
        "runs_failed": len(runs) - len(done),
        "offered": sum(r["offered"] for r in done),
        "applied": sum(r["applied"] for r in done),
        "lost": sum(r["lost"] for r in done),
        "state_hashes_agree": all(r["state_hashes_agree"] for r in done) and bool(done),
        "load_1min_min": min(loads) if loads else None,
        "load_1min_max": max(loads) if loads else None,
    }


def recorded(record: Path | None) -> dict[str, list[dict[str, Any]]]:
    """The runs a record file holds, by cell key (a torn last line, from a kill, is skipped)."""
    runs: dict[str, list[dict[str, Any]]] = {}
    if record is None or not record.exists():
        return runs
    for line in record.read_text().splitlines():
        try:
            entry = json.loads(line)
            runs.setdefault(entry["cell"], []).append(entry["run"])
        except (ValueError, KeyError, TypeError):
            continue
    return runs


@contextlib.contextmanager
def held(lock: Path | None) -> Iterator[None]:
    """An exclusive flock on ``lock`` (none without one); says so when it has to wait."""
    if lock is None:
        yield
        return
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for {lock} (another benchmark holds it) …", file=sys.stderr, flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_args(args: argparse.Namespace, cell: Cell, repeat: int) -> argparse.Namespace:
    return argparse.Namespace(
        validators=cell.validators,
        topology=cell.topology,
        degree=args.degree,
        delay_ms=cell.delay_ms,
        jitter_ms=args.jitter_ms,
        loss=args.loss,
        close_interval_ms=args.close_interval_ms,
        seed=args.seed + repeat,
        rate=args.rate,
        duration=args.duration,
        dir=args.dir,
        prefix=args.prefix,
        json=True,
        scenario="none",
    )


def run_cell(args: argparse.Namespace, cell: Cell, runs: list[dict[str, Any]], record: Path | None) -> None:
    """Adds to ``runs`` until the cell has ``args.repeat`` of them; a run the lab could not build
    or measure is kept as an error (the matrix goes on), Ctrl-C and a taken prefix stop it."""
    while len(runs) < args.repeat:
        number = len(runs)
        load = os.getloadavg()[0]
        print(f"{cell.key}: run {number + 1}/{args.repeat} (load {load:.2f}) …", file=sys.stderr, flush=True)
        try:
            run = summarise(netlab.run(run_args(args, cell, number)), load)
        except ns.LabExists:
            raise
        except ns.LabError as exc:
            run = {"error": str(exc), "load_1min": round(load, 2)}
        runs.append(run)
        if record is not None:
            with record.open("a") as out:
                out.write(json.dumps({"cell": cell.key, "cell_shape": asdict(cell), "run": run}) + "\n")


def matrix(args: argparse.Namespace) -> dict[str, Any]:
    record = Path(args.record).resolve() if args.record else None
    lock = Path(args.lock) if args.lock else None
    done = recorded(record)
    cells = []
    for cell in grid(args.validators, args.topologies, args.delays_ms):
        runs = done.get(cell.key, [])[: args.repeat]
        if len(runs) < args.repeat:
            with held(lock):
                run_cell(args, cell, runs, record)
        cells.append(
            {**asdict(cell), "rtt_ms_nominal": 2 * cell.delay_ms, "median": median_of(runs), "runs": runs}
        )
    return {
        "settings": {
            "repeat": args.repeat,
            "rate": args.rate,
            "duration_s": args.duration,
            "jitter_ms": args.jitter_ms,
            "loss": args.loss,
            "close_interval_ms": args.close_interval_ms,
        },
        "cells": cells,
        "machine": machine(),
        "load_avg": os.getloadavg(),
    }


def all_healthy(result: dict[str, Any]) -> bool:
    return all(healthy(run) for cell in result["cells"] for run in cell["runs"])


COLUMNS = [
    ("validators", "{validators}"),
    ("topology", "{topology}"),
    ("RTT", "{rtt}"),
    ("latency p50", "{p50}"),
    ("p99", "{p99}"),
    ("close interval p50", "{close}"),
    ("messages sent / ledger / node", "{messages}"),
    ("own SCP statements", "{scp}"),
    ("KiB sent / ledger / node (max)", "{kib}"),
    ("applied", "{applied}"),
    ("runs", "{runs}"),
    ("load (1 min)", "{load}"),
]


def print_table(result: dict[str, Any]) -> None:
    settings = result["settings"]
    print(
        f"medians of {settings['repeat']} runs per cell, {settings['rate']:g} tx/s for "
        f"{settings['duration_s']:g} s each, close interval {settings['close_interval_ms']} ms"
    )
    print_report([_row(cell) for cell in result["cells"]], COLUMNS, as_json=False)


def _row(cell: dict[str, Any]) -> dict[str, str]:
    m = cell["median"]
    runs = f"{m['runs'] - m['runs_failed']}/{m['runs']}"
    return {
        "validators": str(cell["validators"]),
        "topology": cell["topology"],
        "rtt": f"{cell['rtt_ms_nominal']:g} ms",
        "p50": _seconds(m["latency_ms_p50"]),
        "p99": _seconds(m["latency_ms_p99"]),
        "close": _seconds(m["close_interval_ms_p50"]),
        "messages": _number(m["messages_per_ledger"]),
        "scp": _number(m["scp_per_ledger"]),
        "kib": f"{_number(m['kib_per_ledger'])} ({_number(m['kib_per_ledger_max'])})",
        "applied": f"{m['applied']}/{m['offered']}" + ("" if m["state_hashes_agree"] else " DISAGREE"),
        "runs": runs,
        "load": "–" if m["load_1min_min"] is None else f"{m['load_1min_min']:.1f}–{m['load_1min_max']:.1f}",
    }


def _seconds(ms: float | None) -> str:
    return "–" if ms is None else f"{ms / 1000:.2f} s"


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"
