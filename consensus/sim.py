"""A deterministic SCP network simulator: N ``ScpNode``s in one process, a fake clock, a seeded network.

Everything random comes from one ``random.Random(seed)``, and events are ordered by (time, sequence),
so the same configuration always gives the same trace and the same report. The network delays,
drops, duplicates and partitions point-to-point messages; nodes can crash (and restart from their
persisted statements); Byzantine nodes stay silent, equivocate, send random well-formed statements,
or lie about their quorum set. Safety (no two honest nodes externalize different values for a slot)
is checked on every externalization.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from consensus._driver import Driver, Emit, Externalized, NeedQuorumSet, SetTimer, TimerKind, Validity
from consensus._errors import QuorumSetError
from consensus._messages import (
    Statement,
    committed_value,
)
from consensus._node import ScpNode
from consensus._quorum import QuorumSet, organisation_weight
from consensus.sim_byzantine import equivocate, random_statement, sim_value
from consensus.sim_config import (
    BYZANTINE_MODES,
    TOPOLOGIES,
    Crash,
    NetworkSpec,
    Partition,
    SimConfig,
    SimConfigError,
    parse_crash,
    parse_partition,
)
from consensus.sim_report import SimReport, SlotReport, percentile
from consensus.sim_topology import build_quorum_sets, build_topology, node_id_of
from protocol.hashing import blake2b256

MAX_TIMEOUT_MS = 30 * 60 * 1000
REBROADCAST_MS = 1000
GARBAGE_EVERY_MS = 25
KEEP_SLOTS = 50  # slots a node keeps after deciding them, to answer lagging peers


class SimDriver:
    """Values are ``sim_value(slot, ...)`` bytes; combine = max; timeouts grow 1 s × round (CORE default)."""

    def validate_value(self, slot: int, value: bytes, nomination: bool) -> Validity:
        return Validity.FULLY_VALID if value.startswith(b"slot %08d " % slot) else Validity.INVALID

    def extract_valid_value(self, slot: int, value: bytes) -> bytes | None:
        return None

    def combine_candidates(self, slot: int, values: Sequence[bytes]) -> bytes:
        return max(values)

    def compute_timeout_ms(self, round: int, is_nomination: bool) -> int:
        return min(MAX_TIMEOUT_MS, 1000 * max(1, round))

    def node_weight(self, node: bytes, qset: QuorumSet, is_local: bool) -> int:
        return organisation_weight(node, qset, is_local)


class ValueSource(Protocol):
    """What each node nominates and the driver that judges values for it. The default
    (``SimValues``) is opaque ``sim_value`` bytes; a test may plug in real ledger values, each
    node with its own clock (``clock`` gives the simulated time in ms)."""

    def driver(self, node: int, clock: Callable[[], int]) -> Driver: ...

    def value(self, node: int, slot: int, previous: bytes, now_ms: int) -> bytes: ...


class SimValues:
    """``sim_value(slot, node)`` nominated, one shared ``SimDriver``."""

    def __init__(self) -> None:
        self._driver = SimDriver()

    def driver(self, node: int, clock: Callable[[], int]) -> Driver:
        return self._driver

    def value(self, node: int, slot: int, previous: bytes, now_ms: int) -> bytes:
        return sim_value(slot, node)


@dataclass
class SimNode:
    index: int
    node_id: bytes
    qset: QuorumSet
    mode: str | None  # None: honest
    scp: ScpNode
    alive: bool = True
    current_slot: int = 1
    externalized: dict[int, bytes] = field(default_factory=dict)
    persisted: dict[int, list[Statement]] = field(default_factory=dict)
    progress_mark: int = 0
    is_validator: bool = True  # False: a watcher, which follows without voting


class Simulation:
    """Build with a ``SimConfig``, call ``run()``; ``trace_digest`` summarises everything that happened."""

    def __init__(self, cfg: SimConfig, values: ValueSource | None = None) -> None:
        cfg.check()
        self.cfg = cfg
        self.rng = random.Random(cfg.seed)
        self.now = 0
        self._seq = 0
        self._events: list[tuple[int, int, str, int, Any]] = []
        self.messages = 0
        self.safety_violations = 0
        self.slot_start: dict[int, int] = {}
        self.ext_times: dict[int, dict[int, int]] = {}
        self.values: ValueSource = values or SimValues()
        self.topology = build_topology(cfg)
        validators = self.topology.validator_indexes
        if not validators or cfg.byzantine >= len(validators):
            raise SimConfigError(f"--byzantine must be between 0 and {len(validators) - 1} (validators - 1)")
        byz = set(validators[len(validators) - cfg.byzantine :])  # the last K validators
        self.nodes: list[SimNode] = []
        self.qset_registry: dict[bytes, QuorumSet] = {}
        for i, topo_qset in enumerate(self.topology.qsets):
            nid = node_id_of(i)
            mode = cfg.byzantine_mode if i in byz else None
            if mode == "random":
                mode = "garbage"
            qset = QuorumSet(1, (nid,)) if mode == "lie-qset" else topo_qset
            self.qset_registry[qset.hash] = qset
            is_validator = self.topology.validators[i]
            try:
                scp = ScpNode(nid, qset, self.values.driver(i, lambda: self.now), is_validator=is_validator)
            except QuorumSetError as exc:
                raise SimConfigError(f"node {i} cannot run with its quorum set: {exc}") from None
            node = SimNode(i, nid, qset, mode, scp, is_validator=is_validator)
            node.alive = i not in self.topology.absent
            self.nodes.append(node)
        self.gone = {c.node for c in cfg.crashes if c.restart_ms is None} | self.topology.absent
        self._digest = blake2b256(b"sim")
        self._done_cache: bool | None = None
        self.committed: dict[tuple[int, int], bytes] = {}
        self.self_contradictions = 0

    # ------------------------------------------------------------------------------ scheduling

    def _push(self, at: int, kind: str, node: int, payload: Any) -> None:
        self._seq += 1
        heapq.heappush(self._events, (at, self._seq, kind, node, payload))

    def honest(self) -> list[SimNode]:
        return [n for n in self.nodes if n.mode is None]

    def _send(self, src: int, dst: int, st: Statement) -> None:
        self.messages += 1
        if any(p.blocks(src, dst, self.now) for p in self.cfg.partitions):
            return
        if self.cfg.drop and self.rng.random() < self.cfg.drop:
            return
        copies = 2 if self.cfg.duplicate and self.rng.random() < self.cfg.duplicate else 1
        for _ in range(copies):
            delay = self.cfg.latency_ms + (
                self.rng.randint(0, self.cfg.jitter_ms) if self.cfg.jitter_ms else 0
            )
            self._push(self.now + delay, "msg", dst, st)

    def _broadcast(self, src: SimNode, st: Statement) -> None:
        if src.mode == "equivocate":
            for peer in self.nodes:
                if peer.index != src.index:
                    out = st if peer.index % 2 == 0 else equivocate(st, src.index)
                    self._send(src.index, peer.index, out)
            return
        for peer in self.nodes:
            if peer.index != src.index:
                self._send(src.index, peer.index, st)

    # ------------------------------------------------------------------------------- effects

    def _apply(self, n: SimNode, effects: list[Any]) -> None:
        for e in effects:
            if isinstance(e, Emit):
                slot = e.statement.slot
                n.persisted[slot] = n.scp.own_latest(slot)  # persist before send (scp.md §5.10)
                if n.mode is None:
                    self._check_own_commit(n, e.statement)
                if n.mode != "silent":
                    self._broadcast(n, e.statement)
            elif isinstance(e, SetTimer):
                self._push(self.now + e.delay_ms, "timer", n.index, e)
            elif isinstance(e, Externalized):
                self._on_externalized(n, e.slot, e.value)
            elif isinstance(e, NeedQuorumSet):
                qset = self.qset_registry.get(e.qset_hash)
                src = next((m.index for m in self.nodes if m.node_id == e.node_id), None)
                if (
                    qset is not None
                    and src is not None
                    and not any(p.blocks(src, n.index, self.now) for p in self.cfg.partitions)
                ):
                    self._push(self.now + 2 * self.cfg.latency_ms, "qset", n.index, qset)

    def _check_own_commit(self, n: SimNode, st: Statement) -> None:
        """An honest node never accepts commit of two different values for one slot (even across a
        restart): a violation here is a self-contradiction, counted as a safety violation."""
        value = committed_value(st)
        if value is None:
            return
        seen = self.committed.setdefault((n.index, st.slot), value)
        if seen != value:
            self.safety_violations += 1
            self.self_contradictions += 1

    def _on_externalized(self, n: SimNode, slot: int, value: bytes) -> None:
        if slot in n.externalized:
            self.safety_violations += 1  # S2: externalized twice
            return
        n.externalized[slot] = value
        self._done_cache = None
        self._digest = blake2b256(self._digest + b"%d:%d:%d:" % (self.now, n.index, slot) + value)
        if n.mode is None:
            others = {m.externalized[slot] for m in self.honest() if slot in m.externalized}
            if len(others) > 1:
                self.safety_violations += 1
            start = self.slot_start.get(slot, self.now)
            self.ext_times.setdefault(slot, {})[n.index] = self.now - start
        n.progress_mark = self.now
        if slot >= n.current_slot:
            self._advance(n)

    def _advance(self, n: SimNode) -> None:
        while n.current_slot in n.externalized:
            n.current_slot += 1
        n.scp.purge_slots_below(n.current_slot - KEEP_SLOTS)
        self._push(self.now, "start", n.index, n.current_slot)

    def _start_slot(self, n: SimNode, slot: int) -> None:
        if slot != n.current_slot or slot > self.cfg.slots or not n.alive:
            return
        if n.mode is None and n.is_validator:
            self.slot_start.setdefault(slot, self.now)
        prev = n.externalized.get(slot - 1, b"")
        if n.mode == "garbage":
            return
        self._apply(n, n.scp.nominate(slot, self.values.value(n.index, slot, prev, self.now), prev, self.now))

    # --------------------------------------------------------------------------------- running

    def _done(self) -> bool:
        """Every honest node that is up (or will restart) decided every slot; cached between changes."""
        if self._done_cache is None:
            live = [n for n in self.honest() if n.alive or n.index not in self.gone]
            self._done_cache = all(
                sum(1 for s in n.externalized if s <= self.cfg.slots) >= self.cfg.slots for n in live
            )
        return self._done_cache

    def run(self) -> SimReport:
        cfg = self.cfg
        last_fault = max(
            [p.end_ms for p in cfg.partitions] + [c.restart_ms or c.at_ms for c in cfg.crashes] + [0]
        )
        limit = cfg.max_sim_ms if cfg.max_sim_ms is not None else last_fault + 120_000 * cfg.slots
        for n in self.nodes:
            self._push(0, "start", n.index, 1)
            self._push(REBROADCAST_MS, "rebroadcast", n.index, None)
            if n.mode == "garbage":
                self._push(GARBAGE_EVERY_MS, "garbage", n.index, None)
        for c in cfg.crashes:
            self._push(c.at_ms, "crash", c.node, None)
            if c.restart_ms is not None:
                self._push(c.restart_ms, "restart", c.node, None)
        while self._events and not self._done():
            at, _, kind, idx, payload = heapq.heappop(self._events)
            if at > limit:
                break
            self.now = at
            self._dispatch(kind, self.nodes[idx], payload)
        return self._report()

    def _dispatch(self, kind: str, n: SimNode, payload: Any) -> None:
        if kind == "crash":
            n.alive = False
            self._done_cache = None
            return
        if kind == "restart":
            self._restart(n)
            return
        if not n.alive:
            return
        if kind == "msg":
            self._apply(n, n.scp.receive(payload, self.now))
        elif kind == "timer":
            self._apply(n, n.scp.timer_fired(payload.slot, payload.kind, payload.generation, self.now))
        elif kind == "start":
            self._start_slot(n, payload)
        elif kind == "qset":
            self._apply(n, n.scp.add_quorum_set(payload, self.now))
        elif kind == "rebroadcast":
            self._rebroadcast(n)
        elif kind == "garbage":
            self._garbage(n)

    def _rebroadcast(self, n: SimNode) -> None:
        """A node stalled for a while re-sends its latest statements and pulls its peers' view of the slot.

        Like CORE's rebroadcast plus ``GET_SCP_STATE``: peers answer with the latest statement of every
        node they know for that slot, which lets a node that missed messages (drops, partitions, a
        restart) catch up without any help from the protocol itself.
        """
        if n.mode != "silent" and self.now - n.progress_mark >= REBROADCAST_MS:
            for st in n.scp.own_latest(n.current_slot):
                self._broadcast(n, st)
            for peer in self.nodes:
                if peer is n or not peer.alive or peer.mode in ("silent", "garbage"):
                    continue
                if any(p.blocks(peer.index, n.index, self.now) for p in self.cfg.partitions):
                    continue
                for st in peer.scp.latest_statements(n.current_slot):
                    self.messages += 1
                    self._push(self.now + 2 * self.cfg.latency_ms, "msg", n.index, st)
        if not self._done():
            self._push(self.now + REBROADCAST_MS, "rebroadcast", n.index, None)

    def _restart(self, n: SimNode) -> None:
        """Fresh ``ScpNode`` restored from the statements persisted before each send."""
        n.scp = ScpNode(n.node_id, n.qset, n.scp.driver, is_validator=n.is_validator)
        for slot in sorted(n.persisted):
            if slot >= n.current_slot - 1:
                n.scp.restore(n.persisted[slot])
        # Like the node after a restart: older slots are closed ledgers, never voted on again.
        n.scp.purge_slots_below(n.current_slot - 1)
        n.alive = True
        self._done_cache = None
        n.progress_mark = self.now
        self._push(self.now, "start", n.index, n.current_slot)
        self._push(self.now + REBROADCAST_MS, "rebroadcast", n.index, None)

    def _garbage(self, n: SimNode) -> None:
        slot = min((m.current_slot for m in self.honest()), default=1)
        st = random_statement(self.rng, n.index, n.node_id, n.qset.hash, slot + self.rng.randint(0, 1))
        for peer in self.nodes:
            if peer.index != n.index:
                self._send(n.index, peer.index, st)
        if not self._done():
            self._push(self.now + GARBAGE_EVERY_MS, "garbage", n.index, None)

    # ---------------------------------------------------------------------------------- report

    def _report(self) -> SimReport:
        honest = self.honest()
        expected = [n for n in honest if n.index not in self.gone]
        per_slot: list[SlotReport] = []
        all_times: list[int] = []
        by_all = 0
        for slot in range(1, self.cfg.slots + 1):
            values = [n.externalized[slot] for n in honest if slot in n.externalized]
            times = sorted(self.ext_times.get(slot, {}).values())
            all_times += times
            if expected and all(slot in n.externalized for n in expected):
                by_all += 1
            per_slot.append(
                SlotReport(
                    slot,
                    values[0].decode("ascii", "replace") if values else None,
                    len(values),
                    len(set(values)) <= 1,
                    times[0] if times else None,
                    times[-1] if times else None,
                )
            )
        all_times.sort()
        return SimReport(
            self.cfg,
            self.safety_violations,
            by_all,
            percentile(all_times, 0.5),
            percentile(all_times, 0.99),
            self.messages,
            self.now,
            per_slot,
            validators=len(self.topology.validator_indexes),
            watchers=len(self.topology.watcher_indexes),
            threshold=self.topology.qsets[self.topology.validator_indexes[0]].threshold,
        )

    def trace_digest(self) -> str:
        return self._digest.hex()


def run_simulation(cfg: SimConfig) -> SimReport:
    """Raises: SimConfigError naming the bad option."""
    return Simulation(cfg).run()


__all__ = [
    "BYZANTINE_MODES",
    "TOPOLOGIES",
    "Crash",
    "NetworkSpec",
    "Partition",
    "SimConfig",
    "SimConfigError",
    "SimReport",
    "Simulation",
    "TimerKind",
    "build_quorum_sets",
    "build_topology",
    "node_id_of",
    "parse_crash",
    "parse_partition",
    "run_simulation",
]
