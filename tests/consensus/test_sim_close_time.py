"""Close times under a byzantine clock, in the simulator: validators running the real SCP and the
real close-value rules (protocol.close_values), honest clocks agreeing, a minority of validators
whose clocks run ahead. The old rules (a nominated time may lead by 60 s, candidates combine to
the latest time) let that minority push ledgers a minute into the future; the new ones (5 s, the
median) keep every ledger within the drift of the honest clocks."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from consensus import Driver, QuorumSet, Validity, organisation_weight
from consensus.sim import SimConfig, Simulation
from protocol.close_values import (
    MAX_CLOSE_TIME_DRIFT_MS,
    UpgradeWishes,
    close_value_problem,
    combine_close_values,
)
from protocol.errors import DecodeError
from protocol.hashing import blake2b256
from protocol.ledger import CloseValue, LedgerHeader, LedgerParams, decode_close_value

BASE_MS = 1_800_000_000_000
OLD_DRIFT_MS = 60_000
NODES = 7
SLOTS = 25


class LedgerValues:
    """Each node nominates {H(slot), its clock}; byzantine nodes' clocks lead by ``lead_ms``."""

    def __init__(self, lead_ms: int, liars: set[int], *, new_rules: bool) -> None:
        self.lead_ms = lead_ms
        self.liars = liars
        self.new_rules = new_rules
        self.previous_close: dict[tuple[int, int], int] = {}  # (node, slot) -> last ledger's close time

    def clock(self, node: int, now_ms: int) -> int:
        return BASE_MS + now_ms + (self.lead_ms if node in self.liars else 0)

    def driver(self, node: int, clock: Callable[[], int]) -> Driver:
        return _LedgerDriver(self, node, clock)

    def value(self, node: int, slot: int, previous: bytes, now_ms: int) -> bytes:
        last = decode_close_value(previous).close_time_ms if previous else BASE_MS - 1
        self.previous_close[(node, slot)] = last
        close_time = max(self.clock(node, now_ms), last + 1)
        return CloseValue(blake2b256(b"%d" % slot), close_time).encode()


class _LedgerDriver:
    def __init__(self, values: LedgerValues, node: int, clock: Callable[[], int]) -> None:
        self.values, self.node, self.now = values, node, clock

    def validate_value(self, slot: int, value: bytes, nomination: bool) -> Validity:
        try:
            candidate = decode_close_value(value)
        except DecodeError:
            return Validity.INVALID
        last_close = self.values.previous_close.get((self.node, slot))
        if last_close is None or candidate.tx_set_hash != blake2b256(b"%d" % slot):
            return Validity.MAYBE_VALID
        now = self.values.clock(self.node, self.now())
        if not self.values.new_rules:  # the rules before issue 14
            ok = candidate.close_time_ms > last_close and (
                not nomination or candidate.close_time_ms <= now + OLD_DRIFT_MS
            )
            return Validity.FULLY_VALID if ok else Validity.INVALID
        last = LedgerHeader(
            1, slot - 1, bytes(32), last_close, bytes(32), bytes(32), bytes(32), LedgerParams()
        )
        problem = close_value_problem(candidate, last, now, UpgradeWishes(), nomination=nomination)
        return Validity.FULLY_VALID if problem is None else Validity.INVALID

    def extract_valid_value(self, slot: int, value: bytes) -> bytes | None:
        return None

    def combine_candidates(self, slot: int, values: Sequence[bytes]) -> bytes:
        decoded = [decode_close_value(v) for v in values]
        if not self.values.new_rules:
            return max(decoded, key=lambda c: c.close_time_ms).encode()
        return combine_close_values(decoded, lambda _hash: 0).encode()

    def compute_timeout_ms(self, round: int, is_nomination: bool) -> int:
        return 1000 * max(1, round)

    def node_weight(self, node: bytes, qset: QuorumSet, is_local: bool) -> int:
        return organisation_weight(node, qset, is_local)


def _worst_lead(lead_ms: int, liars: set[int], *, new_rules: bool, seed: int) -> int:
    """How far the externalized close times ran ahead of the honest clocks (ms, the worst slot)."""
    values = LedgerValues(lead_ms, liars, new_rules=new_rules)
    sim = Simulation(SimConfig(nodes=NODES, slots=SLOTS, seed=seed, latency_ms=30, jitter_ms=20), values)
    report = sim.run()
    assert report.to_json()["safety_violations"] == 0
    worst = 0
    honest = [n for n in sim.nodes if n.index not in liars]
    for slot in range(1, SLOTS + 1):
        for node in honest:
            decided = node.externalized.get(slot)
            assert decided is not None, f"node {node.index} never decided slot {slot}"
            at = sim.slot_start[slot] + sim.ext_times[slot][node.index]
            worst = max(worst, decode_close_value(decided).close_time_ms - values.clock(node.index, at))
    return worst


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_minority_with_fast_clocks_cannot_push_ledgers_ahead(seed: int) -> None:
    liars = {5, 6}  # 2 of 7: a minority of every quorum (threshold 5)
    old = _worst_lead(58_000, liars, new_rules=False, seed=seed)
    far = _worst_lead(58_000, liars, new_rules=True, seed=seed)
    sly = _worst_lead(MAX_CLOSE_TIME_DRIFT_MS - 1, liars, new_rules=True, seed=seed)
    assert old > 50_000, "the old rules should show the attack (otherwise this test proves nothing)"
    assert far <= 0, "a time past the drift is never voted for: ledgers follow honest clocks"
    assert sly < MAX_CLOSE_TIME_DRIFT_MS, "just inside the drift: never more than the drift ahead"
