"""The machine a benchmark ran on, for every benchmark's JSON report (figures mean little without it)."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    # not platform.processor(): on Linux it runs `uname -p`, which says "unknown" or the architecture
    model = _cpuinfo_model() or platform.machine()
    return {"cores": os.cpu_count(), "cpu_model": model, "python": platform.python_version()}


def _cpuinfo_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def print_report(rows: list[dict[str, Any]], columns: list[tuple[str, str]], *, as_json: bool) -> None:
    """One benchmark's results: JSON (machine, load and rows) or a Markdown table for the README.

    ``columns`` are (heading, format string over a row, e.g. ``"{wall_s:.2f} s"``).
    """
    load = os.getloadavg()
    if as_json:
        print(json.dumps({"machine": machine(), "load_avg": load, "results": rows}, indent=1))
        return
    print(f"machine: {machine()}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print("| " + " | ".join(heading for heading, _ in columns) + " |")
    print("|" + "---|" * len(columns))
    for r in rows:
        print("| " + " | ".join(fmt.format(**r) for _, fmt in columns) + " |")
