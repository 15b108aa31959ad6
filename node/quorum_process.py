"""Run the quorum-intersection check in a separate, bounded process: never unbounded time or memory.

The check is a SAT problem (``consensus.quorum_check``): fast on real networks, exponential in the
worst case. A network comes from a file or from peers, so it may be hostile. Like stellar-core
(which runs its checker in a separate process with ``QUORUM_INTERSECTION_CHECKER_TIME_LIMIT_MS`` /
``_MEMORY_LIMIT_BYTES``), the solver runs in a child (``node.quorum_worker``) that caps its own
address space (``RLIMIT_AS``) and CPU time, and the parent kills it at the wall-clock deadline. A
check that does not finish has a third answer, **unknown**, with the reason.

The child reports each stage as soon as it is done, so an answer found in time is kept even when
the explanations (critical groups, threshold suggestion) run out of time; those then say why they
are missing. Synchronous (``subprocess``): the CLI calls it directly, the node from a worker thread.
"""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from consensus import QuorumSet
from node.quorum_worker import EXIT_OUT_OF_MEMORY

DEFAULT_TIME_LIMIT_S = 60.0
DEFAULT_MEMORY_LIMIT_BYTES = 2 * 1024**3
MIN_MEMORY_LIMIT_BYTES = 64 * 1024**2  # the interpreter and the solver library alone need ~40 MB


@dataclass(frozen=True)
class CheckLimits:
    time_s: float = DEFAULT_TIME_LIMIT_S
    memory_bytes: int = DEFAULT_MEMORY_LIMIT_BYTES

    def describe(self) -> str:
        return f"{self.time_s:g} s, {self.memory_bytes / 1024**2:,.0f} MB"


@dataclass(frozen=True)
class QuorumAnswer:
    """What ``tally check-quorum --json`` prints; ``intersecting`` is None when the answer is unknown."""

    intersecting: bool | None
    split: list[list[str]] | None
    nodes: int
    has_quorum: bool | None
    reason: str | None = None
    critical: dict[str, Any] | None = None
    suggestion: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "intersecting": self.intersecting,
            "split": self.split,
            "nodes": self.nodes,
            "has_quorum": self.has_quorum,
        }
        if self.reason is not None:
            out["reason"] = self.reason
        if self.critical is not None:
            out["critical"] = self.critical
        if self.suggestion is not None:
            out["suggestion"] = self.suggestion
        return out


def encode_network(network: Mapping[str, QuorumSet | None]) -> dict[str, Any]:
    """The worker's input: each distinct quorum set once, nodes pointing at them by index.

    Nodes are named by strings; quorum sets list the UTF-8 bytes of those names. Sharing keeps
    the message as small as the network file (organisations named once, used by every node).
    """
    qsets: list[dict[str, Any]] = []
    index: dict[QuorumSet, int] = {}

    def intern(q: QuorumSet) -> int:
        found = index.get(q)
        if found is None:
            inner = [intern(i) for i in q.inner_sets]
            found = index[q] = len(qsets)
            qsets.append({"t": q.threshold, "v": [v.decode() for v in q.validators], "i": inner})
        return found

    nodes = [[name, None if q is None else intern(q)] for name, q in network.items()]
    return {"qsets": qsets, "nodes": nodes}


def run_check(
    network: Mapping[str, QuorumSet | None], limits: CheckLimits = CheckLimits(), *, explain: bool = True
) -> QuorumAnswer:
    """Check ``network`` in a child process bounded by ``limits``; never raises for a hard network.

    Node names are strings and quorum sets list the UTF-8 bytes of those names.
    """
    payload = json.dumps({**encode_network(network), "explain": explain}).encode()
    cmd = [
        sys.executable,
        "-m",
        "node.quorum_worker",
        "--memory-bytes",
        str(limits.memory_bytes),
        "--cpu-seconds",
        str(max(1, math.ceil(limits.time_s))),
    ]
    timed_out = False
    with subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        try:
            out, err = proc.communicate(payload, timeout=limits.time_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            proc.kill()
            out, err = proc.communicate()
    stages = _stages(out)
    why = _why_stopped(proc.returncode, timed_out, err, limits)
    return answer_from_stages(stages, len(network), why, explain)


def _stages(out: bytes) -> dict[str, dict[str, Any]]:
    stages: dict[str, dict[str, Any]] = {}
    for line in out.decode("utf-8", "replace").splitlines():
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by the kill
        if isinstance(obj, dict) and isinstance(obj.get("stage"), str):
            stages[obj["stage"]] = obj
    return stages


def _why_stopped(code: int | None, timed_out: bool, err: bytes, limits: CheckLimits) -> str | None:
    """None when the worker finished every stage; else a sentence for the user."""
    if timed_out or code in (-signal.SIGXCPU, -signal.SIGKILL):
        return f"time limit reached ({limits.time_s:g} s); raise it with --time-limit"
    if code == EXIT_OUT_OF_MEMORY or code == -signal.SIGABRT:
        # SIGABRT: the solver's C++ allocator failed under RLIMIT_AS and aborted.
        return f"memory limit reached ({limits.memory_bytes / 1024**2:,.0f} MB); raise it with --memory-limit"
    if code != 0:
        tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
        return f"the checker process failed (exit code {code}: {tail[0]})"
    return None


def answer_from_stages(
    stages: dict[str, dict[str, Any]], nodes: int, why: str | None, explain: bool
) -> QuorumAnswer:
    """The answer from the worker's stages (``node.quorum_worker.stages``), by stage name; ``why``
    says why the worker stopped early (None: it finished)."""
    check = stages.get("check")
    if check is None:
        return QuorumAnswer(None, None, nodes, None, why or "the checker process gave no answer")
    if not explain:
        return QuorumAnswer(check["intersecting"], check["split"], check["nodes"], check["has_quorum"])
    critical = stages.get("critical")
    suggestion = stages.get("suggestion")
    if check["intersecting"] and check["has_quorum"]:
        critical_view = (
            {"organisations": critical["organisations"], "validators": critical["validators"]}
            if critical is not None
            else {"organisations": None, "validators": None, "reason": why or "not computed"}
        )
        return QuorumAnswer(True, None, check["nodes"], True, critical=critical_view)
    suggestion_view = None
    if not check["intersecting"]:
        suggestion_view = (
            {"changes": suggestion["changes"]}
            if suggestion is not None
            else {"changes": None, "reason": why or "not computed"}
        )
    return QuorumAnswer(
        bool(check["intersecting"]),
        check["split"],
        check["nodes"],
        bool(check["has_quorum"]),
        suggestion=suggestion_view,
    )
