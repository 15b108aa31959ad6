"""``scripts/netlab run --scenario lose-bootstrap``: the last node loses its only bootstrap peer.

After the load, the node(s) the last node bootstraps from are stopped, then the last node itself is
restarted: its config names only peers that are down, so it can come back only through the peers it
discovered before (their signed records, kept in its database). The scenario reports whether it
reconnected, how long it took, its peers and whether it caught up with the ledger the others closed
meanwhile (they keep a quorum: with 4 validators and threshold 3, one may be down).
"""

from __future__ import annotations

import time
from typing import Any

import netlab

RECONNECT_TIMEOUT_S = 90.0
SCENARIOS = ("none", "lose-bootstrap")


def lose_bootstrap(state: netlab.LabState) -> dict[str, Any]:
    victim = state.nodes[-1]
    gone = [n for n in state.nodes if n.p2p in victim.bootstrap]
    for node in gone:
        netlab.stop_node(state, node)
    netlab.stop_node(state, victim)
    netlab.start_node(state, victim)
    started = time.monotonic()
    result: dict[str, Any] = {
        "name": "lose-bootstrap",
        "node": victim.name,
        "stopped_bootstrap": [n.name for n in gone],
        "reconnected": False,
    }
    while time.monotonic() - started < RECONNECT_TIMEOUT_S:
        rows = {row["name"]: row for row in netlab.inside(state, "status")["nodes"]}
        mine = rows.get(victim.name, {})
        others = [r["ledger"] for name, r in rows.items() if name != victim.name and "ledger" in r]
        if mine.get("peers", 0) >= 1 and others and mine.get("ledger", 0) >= max(others):
            result |= {
                "reconnected": True,
                "seconds": round(time.monotonic() - started, 1),
                "peers": mine["peers"],
                "ledger": mine["ledger"],
                "others_ledger": max(others),
            }
            break
        time.sleep(1.0)
    return result
