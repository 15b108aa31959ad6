"""Peer-to-peer security defaults on real libp2p hosts (loopback): Noise only (a plaintext-only
peer is refused, a Noise peer is accepted), and misbehaving peers are scored down and banned."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import multiaddr
import pytest
import trio
from libp2p import new_host
from libp2p.crypto.x25519 import create_new_key_pair as new_x25519_key_pair
from libp2p.identity_utils import create_identity_from_seed
from libp2p.peer.peerinfo import info_from_p2p_addr
from libp2p.security.insecure.transport import PLAINTEXT_PROTOCOL_ID, InsecureTransport
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport

from node.errors import NetError, NodeError
from node.metrics import NodeMetrics
from node.net import GossipVerdict, NetConfig, P2PNetwork
from node.net.compat import close_swarm
from node.net.peerbook import BAN_SECONDS, SCORE_BAN, StreamKind

pytestmark = pytest.mark.slow  # real libp2p hosts

if TYPE_CHECKING:
    from trio_typing import TaskStatus

LIMIT = 60


def _seed(i: int) -> bytes:
    return hashlib.sha256(f"security-p2p-{i}".encode()).digest()


class Handlers:
    def __init__(self) -> None:
        self.requests = 0

    async def on_tx_batch(self, data: bytes, peer: str) -> GossipVerdict:
        return GossipVerdict.ACCEPT

    async def on_board_batch(self, data: bytes, peer: str) -> GossipVerdict:
        return GossipVerdict.IGNORE

    async def on_frame(self, data: bytes, peer: str) -> None:
        return None

    async def on_request(self, name: str, payload: bytes, peer: str) -> bytes:
        self.requests += 1
        if name == "echo":
            return payload
        raise NodeError("unknown")


async def _start(
    nursery: trio.Nursery,
    index: int,
    bootstrap: tuple[str, ...] = (),
    *,
    request_rate: float = 100.0,
    request_burst: float = 400.0,
) -> P2PNetwork:
    net = P2PNetwork(
        NetConfig(
            seed=_seed(index),
            bootstrap=bootstrap,
            topic="tally/txs/sec",
            request_rate=request_rate,
            request_burst=request_burst,
        ),
        NodeMetrics(),
    )

    async def run(task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await net.serve(Handlers(), task_status=task_status)

    await nursery.start(run)
    return net


async def test_a_plaintext_only_peer_is_refused_and_a_noise_peer_is_accepted() -> None:
    with trio.fail_after(LIMIT):
        async with trio.open_nursery() as nursery:
            listener = await _start(nursery, 1)
            addr = multiaddr.Multiaddr(listener.listen_addrs[0])
            info = info_from_p2p_addr(addr)

            key_pair = create_identity_from_seed(_seed(99))
            plaintext = new_host(
                key_pair=key_pair, sec_opt={PLAINTEXT_PROTOCOL_ID: InsecureTransport(key_pair)}
            )
            async with plaintext.run(listen_addrs=[multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")]):
                with pytest.raises(Exception):  # noqa: B017,PT011 - libp2p raises its own dial errors
                    with trio.fail_after(15):
                        await plaintext.connect(info)
                assert plaintext.get_network().connections.get(info.peer_id) in (None, [], {})
                assert listener.connected_peers() == []

                # control: a host that offers /plaintext/2.0.0 beside Noise, as py-libp2p's
                # default host does (its default list also has TLS and secio, which a node
                # process does not load: node/libp2p_trim.py), lets it in
                control_keys = create_identity_from_seed(_seed(98))
                default = new_host(
                    key_pair=control_keys,
                    sec_opt={
                        NOISE_PROTOCOL_ID: NoiseTransport(
                            control_keys, noise_privkey=new_x25519_key_pair().private_key
                        ),
                        PLAINTEXT_PROTOCOL_ID: InsecureTransport(control_keys),
                    },
                )
                async with default.run(listen_addrs=[multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")]):
                    target = info_from_p2p_addr(multiaddr.Multiaddr(str(default.get_addrs()[0])))
                    with trio.fail_after(15):
                        await plaintext.connect(target)
                    assert plaintext.get_network().connections.get(target.peer_id)
                    await close_swarm(default)  # as a node does: py-libp2p leaves its sockets open
                await close_swarm(plaintext)

            # the same listener accepts a Noise peer (so the refusal above was about security)
            noise_peer = await _start(nursery, 2, bootstrap=(listener.listen_addrs[0],))
            await noise_peer.wait_ready([listener.peer_id], timeout_s=LIMIT)
            assert await noise_peer.request(listener.peer_id, "echo", b"hi", max_response=100) == b"hi"
            nursery.cancel_scope.cancel()


async def test_repeated_bad_input_bans_a_peer_and_drops_its_traffic() -> None:
    with trio.fail_after(LIMIT):
        async with trio.open_nursery() as nursery:
            a = await _start(nursery, 3)
            b = await _start(nursery, 4, bootstrap=(a.listen_addrs[0],))
            await b.wait_ready([a.peer_id], timeout_s=LIMIT)
            for _ in range(int(-SCORE_BAN // 10) + 2):  # scores recover a little between penalties
                a.penalize(b.peer_id, "bad_frame")
            info = {p["peer_id"]: p for p in a.peers_info()}[b.peer_id]
            assert info["banned_for_s"] > BAN_SECONDS - 5
            assert b.peer_id not in a.connected_peers()
            with pytest.raises(NodeError):
                await a.request(b.peer_id, "echo", b"x", max_response=100)
            nursery.cancel_scope.cancel()


async def test_requests_are_rate_limited_per_peer() -> None:
    """A peer flooding valid requests is answered "rate limited" once over its budget; another
    peer is still served."""
    with trio.fail_after(LIMIT):
        async with trio.open_nursery() as nursery:
            server = await _start(nursery, 5, request_rate=0.01, request_burst=5)
            flooder = await _start(nursery, 6, bootstrap=(server.listen_addrs[0],))
            other = await _start(nursery, 7, bootstrap=(server.listen_addrs[0],))
            await flooder.wait_ready([server.peer_id], timeout_s=LIMIT)
            await other.wait_ready([server.peer_id], timeout_s=LIMIT)
            for _ in range(5):
                assert await flooder.request(server.peer_id, "echo", b"x", max_response=100) == b"x"
            with pytest.raises(NetError) as refused:
                await flooder.request(server.peer_id, "echo", b"x", max_response=100)
            assert refused.value.reason == "remote"
            assert "rate limited" in refused.value.detail
            assert await other.request(server.peer_id, "echo", b"y", max_response=100) == b"y"
            assert server.peer_id in flooder.connected_peers(), "rate limiting is not a ban"
            nursery.cancel_scope.cancel()


async def test_inbound_streams_per_peer_are_capped_and_request_frames_are_small() -> None:
    """Regression: yamux has no stream limit and each stream may buffer a frame up to its cap, so
    a peer opening many streams with huge half-sent frames could pin unbounded memory."""
    from libp2p.peer.id import ID

    from node.net import REQUEST_PROTOCOL
    from node.net.framing import LENGTH
    from node.net.peerbook import MAX_INBOUND_REQUEST_STREAMS

    with trio.fail_after(LIMIT):
        async with trio.open_nursery() as nursery:
            metrics = NodeMetrics()
            server = P2PNetwork(NetConfig(seed=_seed(8), topic="tally/txs/sec", max_request=4096), metrics)
            await nursery.start(server.serve, Handlers())
            client = await _start(nursery, 9, bootstrap=(server.listen_addrs[0],))
            await client.wait_ready([server.peer_id], timeout_s=LIMIT)
            host = client.host
            streams = []
            for _ in range(MAX_INBOUND_REQUEST_STREAMS + 8):  # half-sent frames, never finished
                try:
                    stream = await host.new_stream(ID.from_base58(server.peer_id), [REQUEST_PROTOCOL])
                    await stream.write(LENGTH.pack(3000) + b"x" * 100)
                    streams.append(stream)
                except Exception:  # the server resets the streams over its limit
                    continue
            book = server.guard.book

            def dropped() -> float:
                sample = metrics.registry.get_sample_value(
                    "tally_net_messages_dropped_total", {"type": "request", "reason": "too_many_streams"}
                )
                return sample or 0.0

            # until the server has taken or refused every stream (no sleep to see nothing more come)
            while (  # noqa: ASYNC110
                book.open_streams(client.peer_id, StreamKind.REQUEST) < MAX_INBOUND_REQUEST_STREAMS
                or dropped() < 8
            ):
                await trio.sleep(0.01)
            assert book.open_streams(client.peer_id, StreamKind.REQUEST) == MAX_INBOUND_REQUEST_STREAMS
            # a request frame over max_request is refused (and penalized) before it is buffered
            for stream in streams:
                await stream.reset()
            while book.open_streams(client.peer_id, StreamKind.REQUEST):  # noqa: ASYNC110
                await trio.sleep(0.01)
            big = await host.new_stream(ID.from_base58(server.peer_id), [REQUEST_PROTOCOL])
            await big.write(LENGTH.pack(5000) + b"x" * 10)
            while {p["peer_id"]: p["score"] for p in server.peers_info()}.get(client.peer_id, 0) >= 0:  # noqa: ASYNC110
                await trio.sleep(0.01)
            # and an honest request still works afterwards
            assert await client.request(server.peer_id, "echo", b"ok", max_response=100) == b"ok"
            nursery.cancel_scope.cancel()
