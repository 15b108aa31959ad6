"""Inbound connections on real libp2p hosts (loopback): banned peers refused in the handshake with a
short log, caps on inbound connections in total and per address, and slots given back on close."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import multiaddr
import pytest
import trio
from libp2p.abc import IHost
from libp2p.network.config import RetryConfig
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import info_from_p2p_addr

from node.metrics import NodeMetrics
from node.net import GossipVerdict, NetConfig, P2PNetwork, compat
from node.net.peerbook import MAX_INBOUND_CONNECTIONS, MAX_INBOUND_PER_IP, SCORE_BAN

pytestmark = pytest.mark.slow

LIMIT = 60  # seconds: generous, the machine may be loaded
TOPIC = "tally/txs/inbound"


def _seed(name: str) -> bytes:
    return hashlib.sha256(f"net-inbound-{name}".encode()).digest()


class Handlers:
    async def on_tx_batch(self, data: bytes, peer: str) -> GossipVerdict:
        return GossipVerdict.ACCEPT

    async def on_board_batch(self, data: bytes, peer: str) -> GossipVerdict:
        return GossipVerdict.IGNORE

    async def on_frame(self, data: bytes, peer: str) -> None:
        return None

    async def on_request(self, name: str, payload: bytes, peer: str) -> bytes:
        return b"echo:" + payload


async def _serve(
    nursery: trio.Nursery,
    name: str,
    *,
    max_inbound: int = MAX_INBOUND_CONNECTIONS,
    max_inbound_per_ip: int = MAX_INBOUND_PER_IP,
) -> tuple[P2PNetwork, NodeMetrics]:
    metrics = NodeMetrics()
    config = NetConfig(
        seed=_seed(name), topic=TOPIC, max_inbound=max_inbound, max_inbound_per_ip=max_inbound_per_ip
    )
    net = P2PNetwork(config, metrics)
    await nursery.start(net.serve, Handlers())
    return net, metrics


@asynccontextmanager
async def _raw_host(name: str) -> AsyncIterator[IHost]:
    """A bare libp2p host with Tally's settings: it dials exactly when the test says so, once."""
    host = compat.new_tally_host(_seed(name))
    swarm: Any = host.get_network()
    swarm.retry_config = RetryConfig(max_retries=0)  # the dialler's own retries
    async with host.run(listen_addrs=[multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")]):
        try:
            yield host
        finally:
            await compat.close_swarm(host)


async def _dial(host: IHost, target: P2PNetwork) -> bool:
    """One dial from ``host`` to ``target``; whether a connection came out of it."""
    info = info_from_p2p_addr(multiaddr.Multiaddr(target.listen_addrs[0]))
    compat.forget_failed_dial(host, info.peer_id)  # else a failed dial blocks the next ones for 60 s
    try:
        with trio.fail_after(10):
            await host.connect(info)
    except Exception:
        return False
    return compat.is_connected(host, info.peer_id)


async def _wait_until(predicate: Callable[[], bool]) -> None:
    """For states with no event to wait on (a connection being torn down inside libp2p)."""
    while not predicate():  # noqa: ASYNC110 - no event exists for these states
        await trio.sleep(0.01)


def _refused(metrics: NodeMetrics, reason: str) -> float:
    value = metrics.registry.get_sample_value("tally_net_connections_refused_total", {"reason": reason})
    return value or 0.0


async def test_a_banned_peer_redialling_in_a_loop_is_refused_in_the_handshake(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="tally.net")
    with trio.fail_after(LIMIT):
        async with trio.open_nursery() as nursery:
            node, metrics = await _serve(nursery, "node")
            async with _raw_host("banned") as banned:
                banned_peer = banned.get_id().to_base58()
                assert await _dial(banned, node)
                while not node.guard.banned(banned_peer):
                    node.penalize(banned_peer, "frame_oversize")
                await _wait_until(lambda: not compat.is_connected(node.host, banned.get_id()))
                await _wait_until(lambda: not compat.is_connected(banned, node.host.get_id()))
                caplog.clear()

                attempts = 200
                outcomes = [await _dial(banned, node) for _ in range(attempts)]

                assert not any(outcomes)
                assert _refused(metrics, "banned") == attempts
                assert banned_peer not in node.connected_peers()
                assert not compat.is_connected(node.host, banned.get_id())
                # refused before the swarm registered a connection: no connection event at all
                assert not [r for r in caplog.records if r.getMessage() == "peer connected"]
                # (libp2p's own records, the dialler's among them, never reach the node's log)
                notices = [
                    r for r in caplog.records if r.name.startswith("tally") and r.levelno >= logging.INFO
                ]
                assert [r.getMessage() for r in notices] == ["refusing banned peer"]
                assert getattr(notices[0], "fields", {})["attempts"] == 1
                info = {p["peer_id"]: p for p in node.peers_info()}[banned_peer]
                assert info["banned_for_s"] > 0
                assert info["score"] > SCORE_BAN  # refusals are not offences

            # every refused connection gave its slot back, and the node still serves others
            await _wait_until(lambda: node.guard.slots.open == 0)
            honest, _ = await _serve(nursery, "honest")
            async with _raw_host("probe") as probe:
                assert await _dial(probe, node)
            other = P2PNetwork(NetConfig(seed=_seed("other"), topic=TOPIC, bootstrap=(node.listen_addrs[0],)))
            await nursery.start(other.serve, Handlers())
            await other.wait_ready([node.peer_id], timeout_s=LIMIT)
            assert await other.request(node.peer_id, "echo", b"hi", max_response=100) == b"echo:hi"
            assert honest.peer_id not in node.connected_peers()  # nobody dialled it: no stray dials
            nursery.cancel_scope.cancel()


async def test_inbound_connections_are_capped_per_address_and_slots_come_back_on_close() -> None:
    with trio.fail_after(LIMIT):
        async with trio.open_nursery() as nursery:
            node, metrics = await _serve(nursery, "capped", max_inbound=3, max_inbound_per_ip=2)
            async with _raw_host("a") as a, _raw_host("b") as b, _raw_host("c") as c:
                assert await _dial(a, node)
                assert await _dial(b, node)
                assert not await _dial(c, node)  # a third from 127.0.0.1
                assert _refused(metrics, "ip_cap") >= 1
                await a.disconnect(node.host.get_id())
                await _wait_until(lambda: node.guard.slots.open == 1)
                assert await _dial(c, node)
                # py-libp2p 0.8.1 kept each inbound slot until the swarm stopped, so a node
                # refused every peer after max_connections connections in its life
                for _ in range(3 * node.config.max_inbound):
                    await c.disconnect(node.host.get_id())
                    await _wait_until(lambda: node.guard.slots.open == 1)
                    assert await _dial(c, node)
            await _wait_until(lambda: node.guard.slots.open == 0)
            nursery.cancel_scope.cancel()


async def test_inbound_connections_are_capped_in_total() -> None:
    with trio.fail_after(LIMIT):
        async with trio.open_nursery() as nursery:
            node, metrics = await _serve(nursery, "full", max_inbound=2)
            async with _raw_host("x") as x, _raw_host("y") as y, _raw_host("z") as z:
                assert await _dial(x, node)
                assert await _dial(y, node)
                assert not await _dial(z, node)
                assert _refused(metrics, "inbound_cap") >= 1
                assert sorted(node.connected_peers()) == sorted(h.get_id().to_base58() for h in (x, y))
                assert ID.from_base58(node.peer_id) == node.host.get_id()
            nursery.cancel_scope.cancel()
