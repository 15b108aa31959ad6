"""The child side of ``node.quorum_process``: ``python -m node.quorum_worker --memory-bytes N --cpu-seconds S``.

It caps its own address space and CPU time *before* importing the solver, reads one network
(JSON on stdin), and writes one JSON line per finished stage on stdout, flushing each, so the
parent keeps the answer even when a later stage (the explanations) runs out of time:

    {"stage": "check", "intersecting": …, "split": …, "has_quorum": …, "nodes": …}
    {"stage": "critical", "organisations": [...], "validators": [...]}     (intersecting networks)
    {"stage": "suggestion", "changes": [...] | null}                       (networks that can split)

Input: ``{"qsets": [{"t": threshold, "v": [names], "i": [indexes of inner sets]}], "nodes": [[name,
index or null]], "explain": bool}`` (``node.quorum_process.encode_network``), already checked by the
parent. Node names stand for node ids (their UTF-8 bytes).
Exit code 0 when every stage finished; 70 when it ran out of memory (a Python MemoryError).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from collections.abc import Iterator
from typing import Any

EXIT_OUT_OF_MEMORY = 70


def _cap(memory_bytes: int, cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def stages(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Each stage's answer for the network in ``doc``, as soon as it is done (the check, then the
    explanations when ``doc["explain"]``)."""
    from consensus import QuorumSet
    from consensus.quorum_check import check_intersection
    from consensus.quorum_explain import intersection_critical_groups, suggest_threshold_change

    built: list[QuorumSet] = []
    for q in doc["qsets"]:  # inner sets always come before the sets that contain them
        built.append(QuorumSet(q["t"], tuple(v.encode() for v in q["v"]), tuple(built[i] for i in q["i"])))
    network = {name.encode(): None if i is None else built[i] for name, i in doc["nodes"]}

    def names(nodes: frozenset[bytes]) -> list[str]:
        return sorted(n.decode() for n in nodes)

    result = check_intersection(network)
    split = None if result.split is None else [names(side) for side in result.split]
    yield {
        "stage": "check",
        "intersecting": result.intersecting,
        "split": split,
        "has_quorum": result.has_quorum,
        "nodes": result.nodes,
    }
    if not doc.get("explain"):
        return
    if result.split is None:
        groups = intersection_critical_groups(network) if result.has_quorum else []
        views = {
            kind: [
                {"members": names(g.members), "split": [names(s) for s in g.split]}
                for g in groups
                if g.kind == kind
            ]
            for kind in ("organisation", "validator")
        }
        yield {"stage": "critical", "organisations": views["organisation"], "validators": views["validator"]}
        return
    changes = suggest_threshold_change(network, result.split)
    yield {
        "stage": "suggestion",
        "changes": None
        if changes is None
        else [
            {
                "nodes": names(c.nodes),
                "path": list(c.path),
                "level_members": names(c.level_members),
                "from": c.old,
                "to": c.new,
            }
            for c in changes
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m node.quorum_worker")
    parser.add_argument("--memory-bytes", type=int, required=True)
    parser.add_argument("--cpu-seconds", type=int, required=True)
    args = parser.parse_args(argv)
    _cap(args.memory_bytes, args.cpu_seconds)
    try:
        for stage in stages(json.loads(sys.stdin.buffer.read())):
            _emit(stage)
    except MemoryError:
        return EXIT_OUT_OF_MEMORY
    return 0


if __name__ == "__main__":
    sys.exit(main())
