"""Discovery on real libp2p hosts (one process, loopback): four validators whose configs only
chain their bootstrap peers (v1→v0, v2→v1, v3→v2) end up connected to each other, swap signed
records with /p2p/ addresses that dial, and close ledgers together."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
import trio
from realnet import InProcessNet, until_async

from node import testnet as tn
from node.setup import CONFIG_NAME

pytestmark = pytest.mark.slow

LIMIT_S = 90


def _chain_bootstraps(testnet: tn.Testnet) -> None:
    for previous, entry in zip([None, *testnet.nodes], testnet.nodes, strict=False):
        path = Path(entry.folder) / CONFIG_NAME
        peers = f'  "{previous.multiaddr}",\n' if previous is not None else ""
        text = re.sub(r"bootstrap = \[[^\]]*\]", f"bootstrap = [\n{peers}]", path.read_text(), count=1)
        path.write_text(text)


async def _all_know(net: InProcessNet, count: int) -> bool:
    for entry in net.validators:
        if (await net.get(entry, "/node"))["discovery"]["known_peers"] < count:
            return False
    return True


async def test_validators_that_bootstrap_in_a_chain_find_each_other(tmp_path: Path) -> None:
    testnet = tn.create(tmp_path / "net", validators=4, watchers=0, threshold=3, close_interval_ms=200)
    _chain_bootstraps(testnet)
    with trio.fail_after(LIMIT_S):
        async with httpx.AsyncClient(timeout=10) as client, trio.open_nursery() as nursery:
            net = InProcessNet(nursery, testnet, client)
            await net.start_all()  # returns once every validator sees the three others
            # records of peers two hops away arrive with the next exchange round, which may come
            # after the last connection (a round runs every 2 s while a quorum peer is missing)
            await until_async(lambda: _all_know(net, 3))
            for entry in net.validators:
                discovery = (await net.get(entry, "/node"))["discovery"]
                assert discovery["quorum_connected"] == discovery["quorum_peers"] == 3
                assert discovery["known_peers"] == 3
                assert discovery["announced"] == [f"/ip4/127.0.0.1/tcp/{entry.p2p_port}"]
            top = max([await net.seq(e) for e in net.validators]) + 2
            await net.until_all_reach(net.validators, top)
            await net.agree_at(net.validators, top)
            nursery.cancel_scope.cancel()
