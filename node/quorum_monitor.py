"""Live quorum health on every node (validators and watchers): what ``GET /quorum``, the
``tally_quorum_*`` metrics, ``/health`` and ``tally node quorum`` show.

The herder hands over every verified SCP statement (``statement_seen``) and every ledger the node
closes (``ledger_closed``, by consensus or catch-up). After each ledger the monitor classifies every
validator of the node's transitive quorum (``consensus.quorum_health``: agree, missing, delayed,
disagree) and counts the failures the node can still survive. The transitive quorum comes from the
quorum sets the validators announce (by hash; unknown ones are fetched from the peer that sent the
statement). Whenever it changes, ``run`` re-checks that every two of its quorums intersect, in a
separate process bounded in time and memory (``node.quorum_process``); a quorum that can split is
logged as an error and makes ``/health`` report the node unhealthy.

Memory is bounded: statements of at most ``KEEP_SLOTS`` slots, of at most
``MAX_TRANSITIVE_NODES`` senders each; at most ``MAX_WANTED`` quorum sets waiting to be fetched.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

import trio
from prometheus_client import Gauge

from consensus import Nominate, QuorumSet, Statement
from consensus.quorum_health import MAX_TRANSITIVE_NODES, PeerState, QuorumHealth, assess, transitive_quorum
from node.logs import log
from node.metrics import NodeMetrics
from node.quorum_process import CheckLimits, QuorumAnswer, run_check
from node.quorum_sets import QuorumSets
from protocol.addresses import encode_validator
from protocol.errors import DecodeError
from protocol.ledger import LedgerHeader, decode_close_value

logger = logging.getLogger("tally.quorum")

KEEP_SLOTS = 3  # the open slot and the two after it
MAX_WANTED = 64
# A node's own check: generous for real networks (25 organisations answer in about a second),
# small enough for a cheap machine.
NODE_CHECK_LIMITS = CheckLimits(time_s=20.0, memory_bytes=512 * 1024**2)


class IntersectionCheck(Protocol):
    """How the monitor checks intersection: ``node.quorum_process.run_check`` (a bounded child
    process) on every real node."""

    def __call__(
        self, network: Mapping[str, QuorumSet | None], limits: CheckLimits, *, explain: bool
    ) -> QuorumAnswer: ...


class QuorumMonitor:
    """The transitive quorum's health as this node sees it, after each closed ledger.

    ``check`` may be replaced before the node runs (an in-memory test network checks in process:
    its quorums are small and its own).
    """

    def __init__(
        self,
        node_id: bytes,
        quorum_set: QuorumSet,
        quorum_sets: QuorumSets,
        metrics: NodeMetrics,
        last_seq: int,
        limits: CheckLimits = NODE_CHECK_LIMITS,
    ) -> None:
        self.node_id = node_id
        self.quorum_set = quorum_set
        self.quorum_sets = quorum_sets
        self.limits = limits
        self.check: IntersectionCheck = run_check
        self._statements: dict[int, dict[bytes, dict[bool, Statement]]] = {}  # slot → node → kind
        self._announced: dict[bytes, bytes] = {}  # node → hash of the quorum set it votes with
        self._wanted: dict[bytes, str] = {}  # quorum set hash → a peer that named it
        self._closed_seq = last_seq
        self.health: QuorumHealth | None = None
        self.network: dict[bytes, QuorumSet | None] = {node_id: quorum_set}
        self._checked: tuple[tuple[bytes, bytes | None], ...] | None = None
        self.answer: QuorumAnswer | None = None
        self._wake = trio.Event()
        r = metrics.registry
        self._state_gauge = Gauge(
            "tally_quorum_validator_state",
            "1 for each validator's state in the last closed ledger (agree, missing, delayed, disagree)",
            ["validator", "state"],
            registry=r,
        )
        self._survivable = Gauge(
            "tally_quorum_survivable_failures",
            "More validators that may fail with this node still able to close ledgers (-1: any number)",
            registry=r,
        )
        self._intersecting = Gauge(
            "tally_quorum_intersecting",
            "1 when every two quorums of the transitive quorum intersect, 0 when it can split, -1 unknown",
            registry=r,
        )
        self._transitive = Gauge(
            "tally_quorum_transitive_nodes", "Nodes in this node's transitive quorum", registry=r
        )
        self._intersecting.set(-1)
        self._shown: set[str] = set()

    # -- inputs from the herder (synchronous, cheap) ---------------------------------------------

    def statement_seen(self, statement: Statement, peer: str) -> None:
        """A verified statement from any node (ours excluded)."""
        if not self._closed_seq < statement.slot <= self._closed_seq + KEEP_SLOTS:
            return
        by_node = self._statements.setdefault(statement.slot, {})
        if statement.node_id not in by_node and len(by_node) >= MAX_TRANSITIVE_NODES:
            return
        by_node.setdefault(statement.node_id, {})[isinstance(statement.pledge, Nominate)] = statement
        self._announced[statement.node_id] = statement.qset_hash
        if self.quorum_sets.get(statement.qset_hash) is None and len(self._wanted) < MAX_WANTED:
            self._wanted.setdefault(statement.qset_hash, peer)
            self._wake.set()

    def ledger_closed(self, header: LedgerHeader) -> None:
        """Classify the transitive quorum for the ledger just closed; re-check when it changed."""
        self._closed_seq = header.seq
        seen = self._statements.get(header.seq, {})
        for old in [s for s in self._statements if s <= header.seq]:
            del self._statements[old]

        def is_decided(value: bytes) -> bool:
            try:
                close_value = decode_close_value(value)
            except DecodeError:
                return False
            return (close_value.tx_set_hash, close_value.close_time_ms) == (
                header.tx_set_hash,
                header.close_time_ms,
            )

        self.network = transitive_quorum(self.node_id, self.quorum_set, self._qset_of)
        by_node = {node: list(kinds.values()) for node, kinds in seen.items()}
        self.health = assess(
            self.node_id, self.quorum_set, header.seq, is_decided, by_node, set(self.network)
        )
        self._publish(self.health)
        fingerprint = tuple(sorted((n, None if q is None else q.hash) for n, q in self.network.items()))
        if fingerprint != self._checked:
            self._wake.set()

    def _qset_of(self, node: bytes) -> QuorumSet | None:
        qset_hash = self._announced.get(node)
        return None if qset_hash is None else self.quorum_sets.get(qset_hash)

    def _publish(self, health: QuorumHealth) -> None:
        shown: set[str] = set()
        for node, state in health.states.items():
            name = encode_validator(node)
            shown.add(name)
            for s in PeerState:
                self._state_gauge.labels(name, s.value).set(1 if s is state else 0)
        for gone in self._shown - shown:
            for s in PeerState:
                self._state_gauge.remove(gone, s.value)
        self._shown = shown
        self._survivable.set(-1 if health.survivable is None else health.survivable)
        self._transitive.set(len(self.network))

    # -- the background task --------------------------------------------------------------------

    async def run(self) -> None:
        """Fetch announced quorum sets we lack; re-check intersection whenever the quorum changed."""
        while True:
            await self._wake.wait()
            self._wake = trio.Event()
            await self._fetch_wanted()
            fingerprint = tuple(sorted((n, None if q is None else q.hash) for n, q in self.network.items()))
            if self.health is not None and fingerprint != self._checked:
                self._checked = fingerprint
                await self._check(dict(self.network))

    async def _fetch_wanted(self) -> None:
        wanted, self._wanted = self._wanted, {}
        for qset_hash, peer in wanted.items():
            if self.quorum_sets.get(qset_hash) is None:
                await self.quorum_sets.fetch(qset_hash, [peer])

    async def _check(self, network: dict[bytes, QuorumSet | None]) -> None:
        named = {encode_validator(n): _renamed(q) for n, q in network.items()}
        limits, run = self.limits, self.check

        def check() -> QuorumAnswer:  # in a worker thread: it only waits for the bounded process
            return run(named, limits, explain=False)

        # abandoned on shutdown: the child process still ends at its own limits
        answer = await trio.to_thread.run_sync(check, abandon_on_cancel=True)  # type: ignore[call-arg]  # mypy and Unpack[Ts]
        self.answer = answer
        self._intersecting.set(-1 if answer.intersecting is None else int(answer.intersecting))
        if answer.intersecting is False:
            log(
                logger,
                logging.ERROR,
                "transitive quorum can split: two quorums share no validator",
                nodes=answer.nodes,
                quorum_1=",".join(answer.split[0]) if answer.split else "",
                quorum_2=",".join(answer.split[1]) if answer.split else "",
            )
        elif answer.intersecting is None:
            log(logger, logging.WARNING, "quorum intersection unknown", reason=answer.reason)
        else:
            log(logger, logging.INFO, "transitive quorum intersects", nodes=answer.nodes)

    # -- views ---------------------------------------------------------------------------------

    def problem(self) -> str | None:
        """Why ``/health`` should say unhealthy, or None."""
        if self.answer is not None and self.answer.intersecting is False:
            return "the transitive quorum can split (two quorums share no validator): see GET /quorum"
        if self.health is not None and self.health.blocked:
            return "missing and disagreeing validators block every quorum slice: see GET /quorum"
        return None

    def view(self) -> dict[str, Any]:
        """``GET /quorum``."""
        health = self.health
        validators = (
            []
            if health is None
            else [{"id": encode_validator(n), "state": s.value} for n, s in health.states.items()]
        )
        counts = {s.value: (0 if health is None else health.count(s)) for s in PeerState}
        answer = self.answer
        return {
            "ledger": None if health is None else health.slot,
            "validators": validators,
            **counts,
            "fail_at": None if health is None else health.fail_at,
            "survivable_failures": None if health is None else health.survivable,
            "blocked": False if health is None else health.blocked,
            "transitive": {
                "nodes": len(self.network),
                "unknown_quorum_sets": sum(1 for q in self.network.values() if q is None),
                "intersecting": None if answer is None else answer.intersecting,
                "split": None if answer is None else answer.split,
                "reason": "not checked yet" if answer is None else answer.reason,
            },
        }


def _renamed(q: QuorumSet | None) -> QuorumSet | None:
    """The same quorum set over validator names (what ``run_check`` takes) instead of raw ids."""
    if q is None:
        return None
    return QuorumSet(
        q.threshold,
        tuple(encode_validator(v).encode() for v in q.validators),
        tuple(r for i in q.inner_sets if (r := _renamed(i)) is not None),
    )
