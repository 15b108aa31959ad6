"""Runs ``scripts/netlab`` for the lab tests and checks that it left nothing behind.

Each run gets a prefix of its own (the test's stem and this process's id): namespaces are global
to the machine, so two suites running at once (CI and a developer's, two worktrees) must never
see, or remove, each other's labs. A run that outlives its time is sent SIGTERM first, as a user's
Ctrl-C would be, so that its own teardown is what gets tested; only then is it killed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import netlab_ns  # scripts/ is on sys.path: the lab tests put it there before importing this
import pytest

NETLAB = Path(__file__).resolve().parents[2] / "scripts" / "netlab"
TERM_GRACE_S = 90.0


def lab_missing() -> str | None:
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces)"
    for tool in ("ip", "ethtool"):
        if shutil.which(tool) is None:
            return f"the lab needs {tool}"
    return None


def require_lab() -> None:
    """Skip without root or tools, except on CI (root there): the lab tests must run."""
    missing = lab_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}: CI runs as root and installs ethtool (.ci/run)")
        pytest.skip(missing)


def unique_prefix(stem: str) -> str:
    return f"{stem}{os.getpid()}"


@dataclass(frozen=True)
class LabRun:
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool


def processes_under(folder: Path) -> list[int]:
    """Processes whose command line names ``folder`` (the lab's nodes, switch and probes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(folder) in command:
            found.append(int(entry.name))
    return found


def _as_a_background_job() -> None:
    """Start netlab as a shell's ``&`` job starts it, with SIGINT ignored (CI and nohup'd suites
    run so): netlab must still stop on Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_netlab(
    arguments: list[str],
    prefix: str,
    folder: Path,
    timeout_s: float,
    while_running: Callable[[subprocess.Popen[str]], None] | None = None,
) -> LabRun:
    """``scripts/netlab ARGUMENTS --prefix PREFIX --dir FOLDER``; asserts that afterwards no
    namespace with the prefix and no process of the lab is left (then removes any, so one failure
    does not spill into the next test). ``while_running`` gets the process (e.g. to interrupt it)."""
    assert netlab_ns.existing(prefix) == [], f"namespaces {prefix}-* exist before the run"
    command = [str(NETLAB), *arguments, "--prefix", prefix, "--dir", str(folder)]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_as_a_background_job,
    )
    timed_out = False
    stdout = stderr = ""
    try:
        if while_running is not None:
            while_running(process)
        try:
            stdout, stderr = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            process.send_signal(signal.SIGTERM)
            stdout, stderr = process.communicate(timeout=TERM_GRACE_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        leftover = netlab_ns.existing(prefix)
        stray = processes_under(folder)
        netlab_ns.destroy(prefix)
        for pid in stray:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert leftover == [], f"namespaces left behind: {leftover}; stderr: {stderr[-2000:]}"
    assert stray == [], f"processes left behind: {stray}"
    assert not timed_out, f"netlab ran over {timeout_s:g} s; stderr: {stderr[-2000:]}"
    return LabRun(process.returncode, stdout, stderr, timed_out)
