"""What ``tally sim`` reports: per-slot rows and the run's summary (latency percentiles, messages)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from consensus.sim_config import SimConfig


@dataclass
class SlotReport:
    slot: int
    value: str | None
    honest_externalized: int
    agree: bool
    first_ms: int | None
    last_ms: int | None


@dataclass
class SimReport:
    config: SimConfig
    safety_violations: int
    slots_externalized_by_all_honest: int
    externalize_ms_p50: int | None
    externalize_ms_p99: int | None
    messages: int
    sim_time_ms: int
    per_slot: list[SlotReport]
    validators: int = 0
    watchers: int = 0
    threshold: int = 0  # the first validator's top-level threshold

    @property
    def messages_per_slot(self) -> float:
        return round(self.messages / self.config.slots, 1)

    def to_json(self) -> dict[str, Any]:
        c = self.config
        return {
            "slots": c.slots,
            "nodes": self.validators,
            "threshold": self.threshold,
            "topology": c.topology,
            "watchers": self.watchers,
            "byzantine": c.byzantine,
            "byzantine_mode": c.byzantine_mode if c.byzantine else None,
            "safety_violations": self.safety_violations,
            "slots_externalized_by_all_honest": self.slots_externalized_by_all_honest,
            "externalize_ms_p50": self.externalize_ms_p50,
            "externalize_ms_p99": self.externalize_ms_p99,
            "messages_per_slot": self.messages_per_slot,
            "sim_time_ms": self.sim_time_ms,
            "seed": c.seed,
        }


def percentile(sorted_values: list[int], q: float) -> int | None:
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))  # nearest rank
    return sorted_values[k]
