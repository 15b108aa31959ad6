"""node.net.P2PNetwork: several networks in one process on loopback (port 0), real libp2p hosts."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import multiaddr
import psutil
import pytest
import trio
from libp2p.peer.id import ID
from libp2p.stream_muxer.yamux.yamux import TYPE_WINDOW_UPDATE, Yamux

from node.errors import ConfigError, NetError, NodeError
from node.metrics import NodeMetrics
from node.net import FRAME_PROTOCOL, REQUEST_PROTOCOL, GossipVerdict, NetConfig, P2PNetwork, peer_id_for
from node.net.framing import encode_frame, encode_request
from protocol.keys import Keypair
from protocol.listings import MAX_BATCH_BYTES as MAX_BOARD_BATCH_BYTES

if TYPE_CHECKING:
    from trio_typing import TaskStatus

pytestmark = pytest.mark.slow  # real libp2p hosts on loopback

TOPIC = "tally/txs/test"
LIMIT = 60  # seconds: generous, the machine may be loaded


def seed(i: int) -> bytes:
    return hashlib.sha256(f"net-test-{i}".encode()).digest()


class Recorder:
    """NetHandlers that records everything and lets a test wait for a condition."""

    def __init__(self) -> None:
        self.batches: list[tuple[bytes, str]] = []
        self.board_batches: list[tuple[bytes, str]] = []
        self.frames: list[tuple[bytes, str]] = []
        self.requests: list[tuple[str, bytes, str]] = []
        self._changed = trio.Event()
        self.unblock = trio.Event()

    def _record(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def wait(self, predicate: Callable[[], bool]) -> None:
        while not predicate():
            await self._changed.wait()

    async def on_tx_batch(self, data: bytes, peer: str) -> GossipVerdict:
        self.batches.append((data, peer))
        self._record()
        if data.startswith(b"BAD"):
            return GossipVerdict.REJECT
        if data.startswith(b"SKIP"):
            return GossipVerdict.IGNORE
        return GossipVerdict.ACCEPT

    async def on_board_batch(self, data: bytes, peer: str) -> GossipVerdict:
        self.board_batches.append((data, peer))
        self._record()
        return GossipVerdict.REJECT if data.startswith(b"BAD") else GossipVerdict.ACCEPT

    async def on_frame(self, data: bytes, peer: str) -> None:
        self.frames.append((data, peer))
        self._record()
        if data == b"block":
            await self.unblock.wait()

    async def on_request(self, name: str, payload: bytes, peer: str) -> bytes:
        self.requests.append((name, payload, peer))
        self._record()
        if name == "echo":
            return b"echo:" + payload
        if name == "big":
            return b"x" * int(payload)
        if name == "slow":
            await trio.sleep_forever()
        if name == "fail":
            raise NodeError("no such ledger")
        raise RuntimeError("boom")  # a bug in the handler


class Node:
    def __init__(
        self, index: int, net: P2PNetwork, rec: Recorder, scope: trio.CancelScope, metrics: NodeMetrics
    ) -> None:
        self.metrics = metrics
        self.index = index
        self.net = net
        self.rec = rec
        self.scope = scope
        self.stopped = trio.Event()

    @property
    def peer(self) -> str:
        return self.net.peer_id

    def batches(self) -> list[bytes]:
        return [data for data, _ in self.rec.batches]

    def frames_from(self, peer: str) -> list[bytes]:
        return [data for data, p in self.rec.frames if p == peer]

    def dropped(self, kind: str, reason: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "tally_net_messages_dropped_total", {"type": kind, "reason": reason}
        )
        return value or 0.0

    def has_batch(self, data: bytes) -> Callable[[], bool]:
        return lambda: data in self.batches()

    def has_frames(self, peer: str, count: int) -> Callable[[], bool]:
        return lambda: len(self.frames_from(peer)) >= count

    def has_frame(self, peer: str, data: bytes) -> Callable[[], bool]:
        return lambda: data in self.frames_from(peer)


async def start_node(
    nursery: trio.Nursery, index: int, bootstrap: tuple[str, ...] = (), listen: str = "/ip4/127.0.0.1/tcp/0"
) -> Node:
    rec = Recorder()
    metrics = NodeMetrics()
    net = P2PNetwork(NetConfig(seed=seed(index), listen=listen, bootstrap=bootstrap, topic=TOPIC), metrics)
    node = Node(index, net, rec, trio.CancelScope(), metrics)

    async def run(task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        try:
            with node.scope:
                await net.serve(rec, task_status=task_status)
        finally:
            node.stopped.set()

    await nursery.start(run)
    return node


async def wait_until(predicate: Callable[[], bool]) -> None:
    """For states with no event to wait on (e.g. a ban decided inside the peer's stream handler)."""
    while not predicate():  # noqa: ASYNC110 - no event exists for these states
        await trio.sleep(0.01)


@asynccontextmanager
async def cluster(n: int) -> AsyncIterator[list[Node]]:
    """n nodes, node i bootstraps to every node before it (a full mesh), all gossip-ready."""
    async with trio.open_nursery() as nursery:
        nodes: list[Node] = []
        for i in range(n):
            boot = tuple(node.net.listen_addrs[0] for node in nodes)
            nodes.append(await start_node(nursery, i, boot))
        for node in nodes:
            await node.net.wait_ready([o.peer for o in nodes if o is not node], timeout_s=LIMIT)
        yield nodes
        nursery.cancel_scope.cancel()


async def test_gossip_batch_reaches_all_and_invalid_batch_is_not_relayed() -> None:
    with trio.fail_after(LIMIT):
        async with cluster(4) as nodes:
            nodes[1].net.publish(b"batch-one")
            for node in nodes:
                if node is not nodes[1]:
                    await node.rec.wait(node.has_batch(b"batch-one"))
            assert b"batch-one" not in nodes[1].batches()  # own publishes are not handed back
            # an invalid batch: every receiver rejects it, the sender is penalized by each
            nodes[2].net.publish(b"BAD-batch")
            nodes[2].net.publish(b"batch-two")
            for node in nodes:
                if node is not nodes[2]:
                    await node.rec.wait(node.has_batch(b"batch-two"))
            for node in nodes:
                if node is not nodes[2]:
                    await node.rec.wait(node.has_batch(b"BAD-batch"))
                    info = {p["peer_id"]: p for p in node.net.peers_info()}
                    assert info[nodes[2].peer]["score"] < 0
            # nobody relayed the bad batch: each receiver saw it from node 2 only
            for node in nodes:
                assert {p for d, p in node.rec.batches if d == b"BAD-batch"} <= {nodes[2].peer}
            # an ignored batch: handed to every receiver, relayed by none, its sender not penalized
            nodes[3].net.publish(b"SKIP-batch")
            nodes[3].net.publish(b"batch-three")
            for node in nodes[:3]:
                await node.rec.wait(node.has_batch(b"batch-three"))
                await node.rec.wait(node.has_batch(b"SKIP-batch"))
                assert {p for d, p in node.rec.batches if d == b"SKIP-batch"} == {nodes[3].peer}
                info = {p["peer_id"]: p for p in node.net.peers_info()}
                assert info[nodes[3].peer]["score"] == 0
            # larger than py-libp2p's silent 1 MiB default limits
            big = b"B" * (3 * 1024 * 1024)
            nodes[3].net.publish(big)
            for node in nodes[:3]:
                await node.rec.wait(node.has_batch(big))


async def test_board_batches_travel_on_their_own_topic() -> None:
    with trio.fail_after(LIMIT):
        async with cluster(3) as nodes:
            nodes[0].net.publish_board(b"listing-one")
            nodes[0].net.publish_board(b"BAD-listing")
            nodes[0].net.publish_board(b"listing-two")
            sent = {b"listing-one", b"BAD-listing", b"listing-two"}
            for node in nodes[1:]:
                await node.rec.wait(lambda node=node: {d for d, _ in node.rec.board_batches} == sent)  # type: ignore[misc]
                assert node.batches() == []  # nothing arrived on the transactions' topic
                info = {p["peer_id"]: p for p in node.net.peers_info()}
                assert info[nodes[0].peer]["score"] < 0  # the bad one cost its sender
            for node in nodes:  # the bad batch was relayed by nobody
                assert {p for d, p in node.rec.board_batches if d == b"BAD-listing"} <= {nodes[0].peer}
            before = nodes[1].dropped("board", "oversize")
            nodes[1].net.publish_board(b"x" * (MAX_BOARD_BATCH_BYTES + 1))
            assert nodes[1].dropped("board", "oversize") == before + 1


async def test_broadcast_frames_reach_every_peer_in_order() -> None:
    with trio.fail_after(LIMIT):
        async with cluster(3) as nodes:
            sender = nodes[0]
            frames = [f"frame-{i:04d}".encode() * 10 for i in range(300)]
            for frame in frames:
                sender.net.broadcast(frame)
            for node in nodes[1:]:
                await node.rec.wait(node.has_frames(sender.peer, len(frames)))
                assert node.frames_from(sender.peer) == frames
            assert sender.rec.frames == []
            # exclude and send
            sender.net.broadcast(b"not-for-2", exclude=[nodes[2].peer])
            sender.net.send(nodes[2].peer, b"only-for-2")
            await nodes[2].rec.wait(lambda: b"only-for-2" in nodes[2].frames_from(sender.peer))
            await nodes[1].rec.wait(lambda: b"not-for-2" in nodes[1].frames_from(sender.peer))
            assert b"not-for-2" not in nodes[2].frames_from(sender.peer)
            assert b"only-for-2" not in nodes[1].frames_from(sender.peer)


async def test_a_stalled_peer_does_not_hold_up_the_others() -> None:
    with trio.fail_after(LIMIT):
        async with cluster(3) as (a, b, c):
            a.net.send(b.peer, b"block")  # b's frame handler hangs on this one
            await b.rec.wait(b.has_frame(a.peer, b"block"))
            frames = [
                b"%06d" % i + b"." * 12_000 for i in range(2000)
            ]  # 24 MB, past yamux's 16 MB max window
            for i in range(0, len(frames), 250):  # paced by c (a's queue per peer is bounded)
                for frame in frames[i : i + 250]:
                    a.net.broadcast(frame)
                await c.rec.wait(c.has_frames(a.peer, i + 250))
            assert c.frames_from(a.peer) == frames
            assert a.dropped("frame", "queue_full") > 0  # a's queue for b overflowed, c's did not
            # b still answers requests (its own stream) and hears from c
            assert await a.net.request(b.peer, "echo", b"alive", max_response=100) == b"echo:alive"
            c.net.send(b.peer, b"from-c")
            await b.rec.wait(b.has_frame(c.peer, b"from-c"))
            # while b was stuck a's queue for b filled up, and every later frame for b was dropped;
            # once b catches up, it has the accepted prefix in order, and new frames flow again
            accepted = len(frames) - int(a.dropped("frame", "queue_full"))
            b.rec.unblock.set()
            await b.rec.wait(b.has_frame(a.peer, frames[accepted - 1]))
            a.net.broadcast(b"after")
            await b.rec.wait(b.has_frame(a.peer, b"after"))
            assert b.frames_from(a.peer) == [b"block", *frames[:accepted], b"after"]


async def test_request_response_and_its_failures() -> None:
    with trio.fail_after(LIMIT):
        async with cluster(2) as (a, b):
            assert await a.net.request(b.peer, "echo", b"hi", max_response=100) == b"echo:hi"
            assert b.rec.requests[-1] == ("echo", b"hi", a.peer)
            # a large response within the cap
            assert len(await a.net.request(b.peer, "big", b"3000000", max_response=4_000_000)) == 3_000_000
            # oversize response refused by the client
            with pytest.raises(NetError) as err:
                await a.net.request(b.peer, "big", b"5000", max_response=1000)
            assert err.value.reason == "oversize"
            assert err.value.peer == b.peer
            # timeout
            with pytest.raises(NetError) as err:
                await a.net.request(b.peer, "slow", b"", max_response=100, timeout_s=0.5)
            assert err.value.reason == "timeout"
            # remote handler error: its message comes back
            with pytest.raises(NetError) as err:
                await a.net.request(b.peer, "fail", b"", max_response=100)
            assert err.value.reason == "remote"
            assert "no such ledger" in err.value.detail
            # a bug in the remote handler: internal error, the node keeps serving
            with pytest.raises(NetError) as err:
                await a.net.request(b.peer, "unknown", b"", max_response=100)
            assert err.value.reason == "remote"
            assert err.value.detail == "internal error"
            assert await a.net.request(b.peer, "echo", b"again", max_response=100) == b"echo:again"
            # large payloads both ways (several MiB: partial reads must be looped)
            assert (
                await a.net.request(b.peer, "echo", b"q" * 6_000_000, max_response=7_000_000)
                == b"echo:" + b"q" * 6_000_000
            )
            a.net.send(b.peer, b"F" * 7_000_000)
            await b.rec.wait(b.has_frame(a.peer, b"F" * 7_000_000))
            with pytest.raises(NetError) as err:  # refused before sending
                await a.net.request(b.peer, "echo", b"z" * (8 * 1024 * 1024), max_response=100)
            assert err.value.reason == "oversize"
            # an unknown peer
            stranger = peer_id_for(Keypair(seed(99)).public_key)
            with pytest.raises(NetError) as err:
                await a.net.request(stranger, "echo", b"", max_response=100, timeout_s=5)
            assert err.value.peer == stranger


async def test_reconnects_after_a_node_restarts() -> None:
    with trio.fail_after(LIMIT):
        async with trio.open_nursery() as nursery:
            hub = await start_node(nursery, 0)
            hub_addr = hub.net.listen_addrs[0]
            port = multiaddr.Multiaddr(hub_addr).value_for_protocol("tcp")
            others = [await start_node(nursery, i, (hub_addr,)) for i in (1, 2)]
            for o in others:
                await o.net.wait_ready([hub.peer], timeout_s=LIMIT)
            hub.scope.cancel()
            await hub.stopped.wait()
            # restart the hub on the same address: the others must dial it again by themselves
            hub = await start_node(nursery, 0, listen=f"/ip4/127.0.0.1/tcp/{port}")
            await hub.net.wait_ready([o.peer for o in others], timeout_s=LIMIT)
            hub.net.broadcast(b"after-restart")
            for o in others:
                await o.rec.wait(o.has_frame(hub.peer, b"after-restart"))
            others[0].net.publish(b"gossip-after-restart")
            await hub.rec.wait(lambda: b"gossip-after-restart" in hub.batches())
            await others[1].rec.wait(lambda: b"gossip-after-restart" in others[1].batches())
            nursery.cancel_scope.cancel()


async def test_garbage_on_raw_streams_does_not_crash_the_receiver() -> None:
    with trio.fail_after(LIMIT):
        async with cluster(3) as (a, b, c):
            host = a.net.host  # raw libp2p streams, bypassing P2PNetwork's framing
            b_id = ID.from_base58(b.peer)
            junk = [
                b"\x00\x00\x00\x10abc",  # truncated, then EOF (no penalty)
                encode_frame(b"\xc1\xc1 not msgpack"),  # junk body
                encode_frame(encode_request("echo", b"x")[:-1]),
                encode_frame(b"\x93\x01\x02\x03"),  # wrong shape
                b"\x00\x00\x00\x00",  # empty frame
                b"\xff\xff\xff\xff" + b"junk" * 10,  # absurd length
            ]
            for protocol in (FRAME_PROTOCOL, REQUEST_PROTOCOL):
                for data in junk:
                    try:
                        stream = await host.new_stream(b_id, [protocol])
                        await stream.write(data)
                        await stream.close()
                    except Exception:
                        pass  # b may already have banned a and dropped the connection
            # junk framing got a penalized and then banned (the junk *bodies* on the frame
            # protocol are the node's to decode, so they were handed over)
            await wait_until(
                lambda: {p["peer_id"]: p for p in b.net.peers_info()}[a.peer]["banned_for_s"] > 0
            )
            assert [d for d, p in b.rec.frames if p == a.peer] == [junk[i][4:] for i in (1, 2, 3)]
            with pytest.raises(NetError):
                await a.net.request(b.peer, "echo", b"x", max_response=100, timeout_s=10)
            assert a.peer not in b.net.connected_peers()
            # b is still fine and serves everyone else
            assert await c.net.request(b.peer, "echo", b"ok", max_response=100) == b"echo:ok"
            c.net.broadcast(b"still-here")
            await b.rec.wait(lambda: b"still-here" in b.frames_from(c.peer))
            c.net.publish(b"gossip-still-here")
            await b.rec.wait(lambda: b"gossip-still-here" in b.batches())


async def test_listen_failure_is_reported() -> None:
    with trio.fail_after(LIMIT):
        async with trio.open_nursery() as nursery:
            first = await start_node(nursery, 0)
            port = multiaddr.Multiaddr(first.net.listen_addrs[0]).value_for_protocol("tcp")
            with pytest.raises(ConfigError, match="listen"):
                await start_node(nursery, 1, listen=f"/ip4/127.0.0.1/tcp/{port}")
            nursery.cancel_scope.cancel()


async def test_a_stopped_network_closes_every_tcp_connection_it_had() -> None:
    """py-libp2p 0.8.1 left a cancelled host's sockets open until garbage collection
    (node.net.compat.close_swarm closes them): once both nodes stop, neither the dialled nor the
    accepted side of their connection is open in this process any more."""
    with trio.fail_after(LIMIT):
        async with cluster(2) as (a, b):
            assert await a.net.request(b.peer, "echo", b"hi", max_response=100) == b"echo:hi"
            ports = {
                int(multiaddr.Multiaddr(n.net.listen_addrs[0]).value_for_protocol("tcp")) for n in (a, b)
            }
            assert _tcp_connections(ports), "connected while running"
    assert _tcp_connections(ports) == []


def _tcp_connections(ports: set[int]) -> list[object]:
    """This process's TCP sockets from or to one of ``ports`` (in any state but listening)."""
    return [
        c
        for c in psutil.Process().net_connections(kind="tcp")
        if c.status != psutil.CONN_LISTEN and ({c.laddr.port, c.raddr.port if c.raddr else 0} & ports)
    ]


def test_bad_config_is_rejected() -> None:
    with pytest.raises(ConfigError, match="seed"):
        P2PNetwork(NetConfig(seed=b"short", topic=TOPIC))
    with pytest.raises(ConfigError, match="bootstrap"):
        P2PNetwork(NetConfig(seed=seed(0), bootstrap=("/ip4/127.0.0.1/tcp/1",), topic=TOPIC))


async def test_requests_to_a_peer_reuse_one_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening a stream costs py-libp2p 3-8 ms: consecutive requests share one (issue 18)."""
    with trio.fail_after(LIMIT):
        async with cluster(2) as (a, b):
            opened: list[str] = []
            real_new_stream = a.net.host.new_stream

            async def counting(*args: object, **kwargs: object) -> object:
                opened.append("stream")
                return await real_new_stream(*args, **kwargs)  # type: ignore[arg-type]

            monkeypatch.setattr(a.net.host, "new_stream", counting)
            for i in range(5):
                assert await a.net.request(b.peer, "echo", b"%d" % i, max_response=100) == b"echo:%d" % i
            assert len(opened) == 1
            # a stream whose exchange failed is never reused: the next request opens a new one
            with pytest.raises(NetError):
                await a.net.request(b.peer, "slow", b"", max_response=100, timeout_s=0.5)
            assert await a.net.request(b.peer, "echo", b"x", max_response=100) == b"echo:x"
            assert await a.net.request(b.peer, "echo", b"y", max_response=100) == b"echo:y"
            assert len(opened) == 2
            assert [r[1] for r in b.rec.requests if r[0] == "echo"][-2:] == [b"x", b"y"]


async def test_frames_read_one_by_one_are_not_each_answered_with_a_window_update(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Yamux credit goes back once half a window is consumed (node.net.compat.window): 300 frames
    of 3 KB, each read on its own, used to cost ~200 WINDOW_UPDATE frames back (issue 18)."""
    window_updates: list[int] = []
    real_write_frame = Yamux._write_frame

    async def counting(self: Yamux, frame: bytes, *args: object, **kwargs: object) -> None:
        if frame[1] == TYPE_WINDOW_UPDATE and not frame[2:4].strip(b"\0"):  # no flags: credit only
            window_updates.append(len(frame))
        await real_write_frame(self, frame, *args, **kwargs)

    monkeypatch.setattr(Yamux, "_write_frame", counting)
    with trio.fail_after(LIMIT):
        async with cluster(2) as (a, b):
            window_updates.clear()
            for i in range(300):
                a.net.send(b.peer, b"%04d" % i + b"x" * 3000)
                await trio.sleep(0.001)  # one frame per write, one read each
            await b.rec.wait(b.has_frames(a.peer, 300))
            assert len(window_updates) <= 10  # 900 KB consumed: ~7 half-windows of 128 KiB
