"""Live quorum health, the pure part: what a node can tell about its quorum from what it has seen.

* ``transitive_quorum``: starting from the node's own quorum set, every validator it depends on,
  directly or through the quorum sets those validators announce (by hash, in their statements),
  with the quorum set when known. This is the network the node re-checks for intersection.
* ``classify``: each validator's state in the last slot the node decided, as stellar-core's
  ``/quorum`` reports it: **agree** (accepted or confirmed commit of the same value), **disagree**
  (committed to another value), **delayed** (voted in the slot but has not committed yet),
  **missing** (nothing from it for the slot).
* ``failures_to_block``: how many more validators, among the ones still working (agreeing or
  delayed), would have to fail before the node could no longer reach a quorum slice: the size of
  the smallest set that, with the missing and disagreeing ones, is v-blocking (stellar-core's
  ``fail_at``). The node survives one fewer. The node itself never counts as a failure.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from consensus._messages import Statement, committed_value
from consensus._quorum import QuorumSet, all_validators

MAX_TRANSITIVE_NODES = 1000  # like a quorum set's own limit: a hostile network cannot grow it further


class PeerState(enum.Enum):
    AGREE = "agree"
    MISSING = "missing"
    DELAYED = "delayed"
    DISAGREE = "disagree"


def transitive_quorum(
    own_id: bytes, own_qset: QuorumSet, qset_of: Callable[[bytes], QuorumSet | None]
) -> dict[bytes, QuorumSet | None]:
    """Every node reachable from ``own_qset`` through known quorum sets (None: not known yet).

    Breadth-first, so when a hostile network is larger than ``MAX_TRANSITIVE_NODES`` the nodes
    closest to ours are the ones kept.
    """
    out: dict[bytes, QuorumSet | None] = {own_id: own_qset}
    queue = deque(sorted(all_validators(own_qset)))
    while queue and len(out) < MAX_TRANSITIVE_NODES:
        node = queue.popleft()
        if node in out:
            continue
        qset = qset_of(node)
        out[node] = qset
        if qset is not None:
            queue.extend(sorted(all_validators(qset) - out.keys()))
    return out


def classify(statements: list[Statement], is_decided: Callable[[bytes], bool]) -> PeerState:
    """One validator's state in a decided slot, from its statements in that slot.

    ``is_decided`` tells whether a value is the one decided (a node that did not vote itself
    compares with the ledger it applied).
    """
    if not statements:
        return PeerState.MISSING
    committed = [v for st in statements if (v := committed_value(st)) is not None]
    if not committed:
        return PeerState.DELAYED
    return PeerState.AGREE if all(is_decided(v) for v in committed) else PeerState.DISAGREE


def failures_to_block(qset: QuorumSet, failed: set[bytes], cannot_fail: set[bytes]) -> int | None:
    """Fewest more failures (outside ``failed`` and ``cannot_fail``) that make ``failed`` v-blocking.

    0 when ``failed`` already blocks every slice; None when no failures can (every slice keeps
    a member that cannot fail). Exact for quorum sets that list each validator once, as every
    sane one does (``check_quorum_set_sane``); the cheapest members of each level add up.
    """
    if qset.threshold <= 0:
        return None
    costs: list[int] = []
    for v in qset.validators:
        if v in failed:
            costs.append(0)
        elif v not in cannot_fail:
            costs.append(1)
    for inner in qset.inner_sets:
        cost = failures_to_block(inner, failed, cannot_fail)
        if cost is not None:
            costs.append(cost)
    need = qset.size - qset.threshold + 1  # members to block before no slice is left
    if len(costs) < need:
        return None
    return sum(sorted(costs)[:need])


@dataclass(frozen=True)
class QuorumHealth:
    """The node's view of its quorum after deciding ``slot``."""

    slot: int
    states: dict[bytes, PeerState]  # every other validator of the transitive quorum
    fail_at: int | None  # more failures that would stop the node; None: none could
    blocked: bool  # missing and disagreeing validators already block every slice

    @property
    def survivable(self) -> int | None:
        """How many more validators may fail with the node still able to decide (None: any number)."""
        return None if self.fail_at is None else max(0, self.fail_at - 1)

    def count(self, state: PeerState) -> int:
        return sum(1 for s in self.states.values() if s is state)


def assess(
    own_id: bytes,
    own_qset: QuorumSet,
    slot: int,
    is_decided: Callable[[bytes], bool],
    statements: Mapping[bytes, list[Statement]],
    validators: set[bytes] | frozenset[bytes],
) -> QuorumHealth:
    """Each of ``validators`` classified from its ``statements`` in ``slot``, and the margin left."""
    states = {v: classify(statements.get(v, []), is_decided) for v in sorted(validators) if v != own_id}
    failed = {v for v, s in states.items() if s in (PeerState.MISSING, PeerState.DISAGREE)}
    fail_at = failures_to_block(own_qset, failed, {own_id})
    return QuorumHealth(slot, states, fail_at, fail_at == 0)
