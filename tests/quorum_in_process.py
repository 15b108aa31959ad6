"""The quorum monitor's intersection check run in the test's own process.

A real node checks intersection in a bounded child process (``node.quorum_process.run_check``);
a test network's quorums are small and its own, and the quick lane starts no process, so tests
that assemble nodes in memory swap the check for this one (the child process itself is tested
through ``tally check-quorum``).
"""

from __future__ import annotations

from collections.abc import Mapping

from consensus import QuorumSet
from node.assembly import AssembledNode
from node.quorum_process import CheckLimits, QuorumAnswer, answer_from_stages, encode_network
from node.quorum_worker import stages


def check_in_process(
    network: Mapping[str, QuorumSet | None], limits: CheckLimits, *, explain: bool
) -> QuorumAnswer:
    """What ``run_check`` answers, from the worker's own stages, without its process or limits."""
    found = {stage["stage"]: stage for stage in stages({**encode_network(network), "explain": explain})}
    return answer_from_stages(found, len(network), None, explain)


def check_quorums_in_process(node: AssembledNode) -> AssembledNode:
    """``node``, its quorum monitor (if it has one) checking in this process; before it runs."""
    if node.herder.monitor is not None:
        node.herder.monitor.check = check_in_process
    return node
