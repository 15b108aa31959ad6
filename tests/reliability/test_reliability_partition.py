"""Partitions of real validator processes (4 validators, threshold 3), cut with the test-network
admin action ``peer-filter``: the side without a quorum closes nothing (safety); after the heal
every node converges by itself (liveness) and all agree on every ledger.

No fixed sleeps: how long a cut side was watched is measured by events. With a quorate side, it
is the three ledgers that side closes meanwhile; without one, it is each node's own "stuck" alarm
(``node.herder.STUCK_AFTER_MS`` without a ledger: it then pulls its peers' SCP state, seen in the
request metrics). The same properties on trio's virtual clock, with far longer cuts, are in
tests/node/test_node_consensus.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from reliability_net import ProcNet, until

from node.testnet import NodeEntry

pytestmark = pytest.mark.slow


async def _split(net: ProcNet, sides: list[list[NodeEntry]]) -> None:
    for side in sides:
        others = [n for n in net.nodes if n not in side]
        for entry in side:
            await net.block(entry, others)


async def _heal_and_converge(net: ProcNet) -> None:
    for entry in net.nodes:
        await net.block(entry, [])
    top = max([await net.seq(n) for n in net.nodes])
    await net.until_all_reach(net.nodes, top + 3)
    await net.agree_up_to(net.nodes, min([await net.seq(n) for n in net.nodes]))


async def _stuck_alarms(net: ProcNet, entry: NodeEntry) -> float:
    """How often ``entry`` pulled a peer's SCP state: once per stuck alarm and connected peer."""
    return await net.metric(entry, "tally_net_request_seconds_count", {"name": "scpstate"})


async def _stuck_once_more(net: ProcNet, entries: list[NodeEntry]) -> None:
    """Until every one of ``entries`` raised its stuck alarm again (a slot open that long)."""
    before = {n.name: await _stuck_alarms(net, n) for n in entries}

    async def alarmed() -> bool:
        return all([await _stuck_alarms(net, n) > before[n.name] for n in entries])

    await until(alarmed)


async def test_a_side_without_a_quorum_closes_nothing_and_every_split_heals(tmp_path: Path) -> None:
    net = ProcNet(tmp_path)
    v0, v1, v2, v3 = net.nodes
    try:
        with trio.fail_after(120):
            await net.start()
            await net.until_all_reach(net.nodes, 3)

            # 3-1: the three keep closing, v3 closes nothing meanwhile.
            await _split(net, [[v0, v1, v2], [v3]])
            quorate = [v0, v1, v2]
            await net.until_all_reach(quorate, max([await net.seq(n) for n in quorate]) + 1)
            cut_at = await net.seq(v3)  # a ledger v3 was writing when the cut landed is done by now
            await net.until_all_reach(quorate, max([await net.seq(n) for n in quorate]) + 3)
            assert await net.seq(v3) == cut_at, "v3 closed a ledger without a quorum"
            response = await net.admin(v0, "peer-filter", {"block": "everyone"})
            assert response.status_code == 400
            await _heal_and_converge(net)

            # 2-2: neither side has 3 of 4, so nothing closes anywhere.
            await _split(net, [[v0, v1], [v2, v3]])
            await _stuck_once_more(net, net.nodes)  # by now no slot of before the cut is still closing
            frozen = [await net.seq(n) for n in net.nodes]
            await _stuck_once_more(net, net.nodes)
            assert [await net.seq(n) for n in net.nodes] == frozen, "a side without a quorum closed a ledger"
            await _heal_and_converge(net)
    finally:
        await net.close()
