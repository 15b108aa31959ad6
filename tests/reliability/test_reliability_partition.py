"""Partitions of real validator processes (4 validators, threshold 3), cut with the test-network
admin action ``peer-filter``: the side without a quorum closes nothing (safety); after the heal
every node converges by itself (liveness) and all agree on every ledger."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from reliability_net import ProcNet

from node.testnet import NodeEntry

pytestmark = pytest.mark.slow

SETTLE_S = 1.0  # a slot already externalizing when the cut lands may still close
STILL_S = 3.0  # several close intervals (heartbeat 0.4 s)


async def _split(net: ProcNet, sides: list[list[NodeEntry]]) -> None:
    for side in sides:
        others = [n for n in net.nodes if n not in side]
        for entry in side:
            await net.block(entry, others)


async def _heal(net: ProcNet) -> None:
    for entry in net.nodes:
        await net.block(entry, [])


async def _check_split_and_heal(net: ProcNet, sides: list[list[NodeEntry]], quorate: list[NodeEntry]) -> None:
    await _split(net, sides)
    await trio.sleep(SETTLE_S)
    stuck = [n for n in net.nodes if n not in quorate]
    frozen = {n.name: await net.seq(n) for n in stuck}
    moving = {n.name: await net.seq(n) for n in quorate}
    await trio.sleep(STILL_S)
    assert {n.name: await net.seq(n) for n in stuck} == frozen  # no quorum: nothing closes
    if quorate:
        await net.until_all_reach(quorate, max(moving.values()) + 3)
    await _heal(net)
    top = max([await net.seq(n) for n in net.nodes])
    await net.until_all_reach(net.nodes, top + 3)
    await net.agree_up_to(net.nodes, min([await net.seq(n) for n in net.nodes]))


async def test_two_two_split_halts_both_sides_and_heals(tmp_path: Path) -> None:
    net = ProcNet(tmp_path)
    v0, v1, v2, v3 = net.nodes
    try:
        with trio.fail_after(90):
            await net.start()
            await net.until_all_reach(net.nodes, 3)
            await _check_split_and_heal(net, [[v0, v1], [v2, v3]], quorate=[])
    finally:
        await net.close()


async def test_three_one_split_keeps_the_three_going_and_heals(tmp_path: Path) -> None:
    net = ProcNet(tmp_path)
    v0, v1, v2, v3 = net.nodes
    try:
        with trio.fail_after(90):
            await net.start()
            await net.until_all_reach(net.nodes, 3)
            await _check_split_and_heal(net, [[v0, v1, v2], [v3]], quorate=[v0, v1, v2])
            response = await net.admin(v0, "peer-filter", {"block": "everyone"})
            assert response.status_code == 400
    finally:
        await net.close()
