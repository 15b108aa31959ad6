"""Full traces of seeded ``tally sim`` scenarios, to prove that a speed-up changed no simulated outcome.

For every scenario (the simulator tests' configurations and the CLI examples) this hashes every
effect every node produces, in order, with the simulated time (statements sent, timers set and
cancelled, externalizations, quorum-set requests), plus the report. Run it before and after a
change and compare:

  python scripts/sim_traces.py > before.json   # on the old code
  python scripts/sim_traces.py > after.json    # on the new code
  diff before.json after.json && echo identical
"""

from __future__ import annotations

import json
import sys
from typing import Any

from consensus.sim import Crash, Partition, SimConfig, Simulation
from protocol.hashing import blake2b256

SCENARIOS: dict[str, SimConfig] = {
    "same-seed": SimConfig(nodes=5, byzantine=1, drop=0.05, jitter_ms=10, slots=5, seed=3),
    "p99-4": SimConfig(nodes=4, latency_ms=20, slots=30, seed=1),
    "partition-heal": SimConfig(
        nodes=4, partitions=(Partition((frozenset({0, 1}), frozenset({2, 3})), 0, 20_000),), slots=3, seed=2
    ),
    "crash-1-of-4": SimConfig(nodes=4, crashes=(Crash(3, 0),), slots=4, seed=1),
    "restart": SimConfig(nodes=4, crashes=(Crash(0, 150, 4_000),), slots=6, seed=3, drop=0.02),
    "fork-2-of-4": SimConfig(
        nodes=4,
        threshold=2,
        partitions=(Partition((frozenset({0, 1}), frozenset({2, 3})), 0, 10_000),),
        slots=2,
        seed=0,
    ),
    "cli-example": SimConfig(
        nodes=7,
        threshold=5,
        byzantine=2,
        byzantine_mode="equivocate",
        latency_ms=20,
        drop=0.05,
        slots=8,
        seed=7,
    ),
    "orgs-restart-garbage": SimConfig(
        nodes=8,
        topology="orgs",
        byzantine=2,
        byzantine_mode="garbage",
        latency_ms=51,
        jitter_ms=44,
        drop=0.02,
        duplicate=0.1,
        crashes=(Crash(2, 1571, 8201),),
        slots=4,
        seed=1337,
        max_sim_ms=20_000,
    ),
    "orgs-30": SimConfig(nodes=30, topology="orgs", latency_ms=100, drop=0.01, slots=2, seed=4),
    "tiered-12": SimConfig(nodes=12, topology="tiered", byzantine=1, slots=3, seed=5, jitter_ms=15),
}
for _mode in ("equivocate", "silent", "garbage", "lie-qset"):
    SCENARIOS[f"byz-{_mode}"] = SimConfig(
        nodes=7, threshold=5, byzantine=2, byzantine_mode=_mode, latency_ms=20, drop=0.05, slots=6, seed=1
    )


class TracingSimulation(Simulation):
    """Hashes every effect as the host executes it (the simulator itself is unchanged)."""

    def __init__(self, cfg: SimConfig) -> None:
        super().__init__(cfg)
        self.effect_digest = blake2b256(b"effects")
        self.effects = 0

    def _apply(self, n: Any, effects: list[Any]) -> None:
        for e in effects:
            self.effects += 1
            self.effect_digest = blake2b256(self.effect_digest + repr((self.now, n.index, e)).encode())
        super()._apply(n, effects)


def trace(cfg: SimConfig) -> dict[str, Any]:
    sim = TracingSimulation(cfg)
    report = sim.run()
    return {
        "effects": sim.effects,
        "effect_digest": sim.effect_digest.hex(),
        "trace_digest": sim.trace_digest(),
        "report": report.to_json(),
    }


def main() -> int:
    names = sys.argv[1:] or list(SCENARIOS)
    print(json.dumps({name: trace(SCENARIOS[name]) for name in names}, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
