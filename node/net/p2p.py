"""The node's peer-to-peer network on py-libp2p 0.8.1 (pinned) and trio.

Three channels, chosen by what each kind of traffic needs (see ../shared/research/libp2p.md):

* **GossipSub** on one per-network topic carries transaction *batches* (best effort; one gossip
  message costs ~15 ms of CPU across a 4-node mesh, so many transactions share one message).
  The node's ``on_tx_batch`` is the topic validator: a batch is checked before it is relayed.
* **Direct frames** (``/tally/frame/1.0.0``): one long-lived stream per peer and direction, a
  per-peer bounded send queue drained by its own task, frames length-prefixed. SCP envelopes and
  ledger-closed announcements go here: a direct frame costs far less CPU than a gossip message.
* **Requests** (``/tally/req/1.0.0``): one stream per request, ``[name, payload]`` in and
  ``[ok, payload | error text]`` out, each frame length-prefixed and capped. This is the pull path
  for anything that must arrive (tx sets, missed ledgers).

Nothing a peer sends can crash the node: every stream handler catches everything, logs, counts
and penalizes. Peers whose score falls below a threshold are disconnected and banned for a while.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import socket
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import multiaddr
import trio
from libp2p import new_host
from libp2p.abc import IHost, INetConn, INetStream, INetwork, INotifee
from libp2p.crypto.x25519 import create_new_key_pair as new_x25519_key_pair
from libp2p.custom_types import TProtocol
from libp2p.identity_utils import create_identity_from_seed
from libp2p.network.config import ConnectionConfig
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo, info_from_p2p_addr
from libp2p.pubsub import pubsub as pubsub_module
from libp2p.pubsub.gossipsub import PROTOCOL_ID as MESHSUB_V10
from libp2p.pubsub.gossipsub import PROTOCOL_ID_V11 as MESHSUB_V11
from libp2p.pubsub.gossipsub import GossipSub
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.pubsub import Pubsub
from libp2p.pubsub.rpc_queue import RpcQueue
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.tools.anyio_service import background_trio_service

from node.errors import ConfigError, NetError, NodeError
from node.logs import log
from node.metrics import NodeMetrics
from node.net.framing import (
    FrameError,
    FrameReader,
    FrameTooLarge,
    decode_request,
    decode_response,
    encode_frame,
    encode_request,
    encode_response,
)
from node.net.handlers import GossipVerdict, NetHandlers
from node.net.netmetrics import NetMetrics
from node.ratelimit import RateLimiter
from protocol.errors import ProtocolError

if TYPE_CHECKING:
    # libp2p pulls in trio-typing, whose trio-stubs shadow trio's own annotations and do not
    # export trio.TaskStatus.
    from trio_typing import TaskStatus

logger = logging.getLogger("tally.net")

FRAME_PROTOCOL = TProtocol("/tally/frame/1.0.0")
REQUEST_PROTOCOL = TProtocol("/tally/req/1.0.0")

MAX_FRAME_DEFAULT = 8 * 1024 * 1024
RESPONSE_OVERHEAD = 16  # msgpack [true, bin32 header] around a response payload

RECONNECT_INTERVAL = 2.0  # seconds between dials to a bootstrap peer that is not connected
DIAL_TIMEOUT = 5.0
STREAM_OPEN_TIMEOUT = 10.0
FRAME_WRITE_TIMEOUT = 10.0  # a write stuck this long (peer not reading) resets the stream
PEER_SEND_QUEUE = 1024  # frames waiting for one peer; more are dropped (never blocks)
WRITE_BATCH_BYTES = 256 * 1024  # queued frames for one peer are coalesced into one write
PUBLISH_QUEUE = 1024  # tx batches waiting to be published on gossip
GOSSIP_PACE_HIGH = 256  # wait before publishing while a peer's gossip queue is this long
GOSSIP_PACE_MAX_WAIT = 2.0  # ... but never longer than this (a dead peer must not stall us)

# GossipSub queue sizes (process-wide: py-libp2p creates these objects internally).
RPC_QUEUE_SIZE = 4096  # default 32 RPCs per peer, dropped silently when full
SUBSCRIPTION_CHANNEL_SIZE = 1024  # default 32 messages, dropped with a raw stderr warning

SCORE_START = 0.0
SCORE_BAN = -100.0  # at or below: disconnect and ban
SCORE_RECOVERY_PER_S = 0.5  # penalties fade: a peer is forgiven 100 points in 200 s
BAN_SECONDS = 300.0
PENALTY_DEFAULT = 10.0
REQUEST_RATE_PER_S = 100.0  # requests one peer may make per second (sustained) ...
REQUEST_BURST = 400.0  # ... and in a burst; beyond that it is answered "rate limited"
# Concurrent inbound streams per peer: each may buffer a frame up to its cap while it arrives, and
# py-libp2p's yamux has no stream limit, so without these a peer could pin memory without bound.
MAX_INBOUND_FRAME_STREAMS = 4  # an honest peer keeps one (reopened after a failure)
MAX_INBOUND_REQUEST_STREAMS = 16
PENALTIES = {  # by reason; anything else costs PENALTY_DEFAULT
    "frame_oversize": 50.0,
    "request_oversize": 50.0,
    "response_oversize": 25.0,
    "replay": 2.0,  # a restarted peer legitimately re-sends a few old envelopes
}


@dataclass(frozen=True)
class NetConfig:
    seed: bytes  # 32-byte Ed25519 seed: the validator key is the peer identity
    listen: str = "/ip4/127.0.0.1/tcp/0"
    bootstrap: tuple[str, ...] = ()  # full multiaddrs ending in /p2p/<peer id>
    topic: str = "tally/txs"  # the caller passes tally/txs/<network hex prefix>
    max_frame: int = MAX_FRAME_DEFAULT
    request_rate: float = REQUEST_RATE_PER_S  # per-peer request limit (token bucket)
    request_burst: float = REQUEST_BURST
    max_request: int = MAX_FRAME_DEFAULT  # cap on an inbound request frame (the node's are tiny)


def _content_message_id(msg: rpc_pb2.Message) -> bytes:
    # Dedupe by content: the same batch published by two nodes is delivered once (the default id,
    # from_id + seqno, would deliver it twice). Note: identical content re-published within
    # Pubsub.seen_ttl (120 s) is dropped as already seen.
    return hashlib.sha256(msg.data).digest()


_tuned_max_message = 0


def _tune_pubsub_globals(max_frame: int) -> None:
    """py-libp2p builds each peer's outbound RpcQueue and each subscription channel itself, from
    module globals, so their sizes can only be changed there (process-wide, idempotent).

    * RpcQueue(max_size=32) drops RPCs silently when a peer's queue is full: at ~50 msg/s a burst
      of batches would vanish. 4096 plus pacing in our publisher (GOSSIP_PACE_HIGH) avoids that.
    * RpcQueue.max_message_size=1 MiB drops larger messages on the *sender*, silently; a tx batch
      may be up to max_frame.
    * The subscription channel (32) drops with a stderr warning while our drain task is busy.
    """
    global _tuned_max_message
    limit = max(max_frame + 64 * 1024, _tuned_max_message)
    if limit != _tuned_max_message:
        tuned_queue = functools.partial(RpcQueue, max_size=RPC_QUEUE_SIZE, max_message_size=limit)
        setattr(pubsub_module, "RpcQueue", tuned_queue)  # noqa: B010 - patching a module global on purpose
        _tuned_max_message = limit
    setattr(pubsub_module, "SUBSCRIPTION_CHANNEL_SIZE", SUBSCRIPTION_CHANNEL_SIZE)  # noqa: B010


def _quiet_libp2p() -> None:
    # libp2p's import-time logging setup leaves logger "libp2p" without handlers and with
    # propagate=False, so its warnings are printed raw through logging.lastResort.
    lg = logging.getLogger("libp2p")
    if not lg.handlers:
        lg.addHandler(logging.NullHandler())
    if lg.level < logging.ERROR:
        lg.setLevel(logging.ERROR)


class _Link:
    """Outbound direct frames to one peer: a bounded queue and the lazily opened stream."""

    __slots__ = ("peer", "peer_id", "receive", "send", "stream")

    def __init__(self, peer_id: ID, peer: str) -> None:
        self.peer_id = peer_id
        self.peer = peer
        self.send, self.receive = trio.open_memory_channel[bytes](PEER_SEND_QUEUE)
        self.stream: INetStream | None = None


class _PeerState:
    __slots__ = ("addrs", "banned_until", "direction", "score", "score_at")

    def __init__(self) -> None:
        self.score = SCORE_START
        self.score_at = trio.current_time()
        self.banned_until = 0.0
        self.direction = ""
        self.addrs: list[str] = []


class _Notifee(INotifee):
    def __init__(self, net: P2PNetwork) -> None:
        self._net = net

    async def opened_stream(self, network: INetwork, stream: INetStream) -> None:
        pass

    async def closed_stream(self, network: INetwork, stream: INetStream) -> None:
        pass

    async def connected(self, network: INetwork, conn: INetConn) -> None:
        self._net._on_connected(conn)

    async def disconnected(self, network: INetwork, conn: INetConn) -> None:
        self._net._on_disconnected(conn)

    async def listen(self, network: INetwork, multiaddr: multiaddr.Multiaddr) -> None:
        pass

    async def listen_close(self, network: INetwork, multiaddr: multiaddr.Multiaddr) -> None:
        pass


class P2PNetwork:
    _handlers: NetHandlers  # given to serve(): the node's handlers need this network to exist first

    def __init__(self, config: NetConfig, metrics: NodeMetrics | None = None) -> None:
        if len(config.seed) != 32:
            raise ConfigError("seed: the network identity needs a 32-byte Ed25519 seed")
        if config.max_frame < 1024:
            raise ConfigError("max_frame: must be at least 1024 bytes")
        try:
            self._listen = multiaddr.Multiaddr(config.listen)
        except Exception as exc:
            raise ConfigError(f"listen: not a multiaddr: {config.listen!r} ({exc})") from None
        self._bootstrap: list[PeerInfo] = []
        for addr in config.bootstrap:
            try:
                self._bootstrap.append(info_from_p2p_addr(multiaddr.Multiaddr(addr)))
            except Exception as exc:
                raise ConfigError(
                    f"bootstrap: {addr!r} is not a multiaddr ending in /p2p/<peer id> ({exc})"
                ) from None
        _quiet_libp2p()
        _tune_pubsub_globals(config.max_frame)
        self._config = config
        self._m = NetMetrics(metrics)

        key_pair = create_identity_from_seed(config.seed)
        self._host: IHost = new_host(
            key_pair=key_pair,
            # Noise only: the default list also offers TLS, secio and /plaintext/2.0.0, and a
            # default host accepts a peer that offers only plaintext.
            sec_opt={
                NOISE_PROTOCOL_ID: NoiseTransport(key_pair, noise_privkey=new_x25519_key_pair().private_key)
            },
            # yamux: 4-6x the stream throughput of mplex here (mplex is only the fallback).
            muxer_preference="YAMUX",
            connection_config=ConnectionConfig(
                # The default (3) makes every dial wait out the Swarm's 250 ms happy-eyeballs timer;
                # with 1 a loopback connect takes ~10 ms.
                max_connections_per_peer=1,
                # See the AutoConnector below.
                min_connections=0,
                low_watermark=0,
                auto_connect_interval=3600.0,
            ),
        )
        # The Swarm's AutoConnector dials every peerstore peer that has addresses whenever the
        # connection count is below (low + high watermark) / 2 = 150: it would redial banned peers
        # and peers we only heard of. We dial our bootstrap peers ourselves (_keep_connected).
        connector = getattr(self._host.get_network(), "auto_connector", None)
        if connector is not None:

            async def _no_auto_connect() -> None:
                return None

            setattr(connector, "maybe_connect", _no_auto_connect)  # noqa: B010
        self._my_id = self._host.get_id()
        self.peer_id: str = self._my_id.to_base58()
        self.listen_addrs: list[str] = []

        self._router = GossipSub(
            # meshsub 1.2 sends an IDONTWANT RPC per message to every mesh peer with no size
            # threshold: 2.5-3x the CPU. 1.1 is what we measured as usable.
            protocols=[MESHSUB_V11, MESHSUB_V10],
            degree=6,
            degree_low=4,
            degree_high=12,
            # Default 120 s: mesh repair and IHAVE gossip would take minutes.
            heartbeat_interval=1,
            heartbeat_initial_delay=0.1,
            # Default on: forwards at most 10 msg/s per peer per topic, silently dropping the rest.
            # Invalid batches are handled by our validator and peer scoring instead.
            spam_protection_enabled=False,
            # Default on: after 30 s on a small network it silently raises the heartbeat to 30-60 s.
            adaptive_gossip_enabled=False,
            # Default on: wants >= 3 distinct IPs in the mesh; validators may share few hosts
            # (and tests run on loopback), so it would only churn the mesh.
            eclipse_protection_enabled=False,
        )
        self._pubsub = Pubsub(
            self._host,
            self._router,
            msg_id_constructor=_content_message_id,
            # Kept on although transactions carry their own signatures: pubsub marks a message seen
            # *before* dropping one that claims to come from us, so without origin signatures a peer
            # could censor a batch to us by first relaying it with our id forged as its origin.
            strict_signing=True,
            # Rejections are cached per message id; with content ids a batch rejected once (e.g. it
            # arrived before its parent txs) would stay rejected for the default 300 s.
            validation_cache_ttl=5,
            # Under CPU saturation a validator timing out turns into a silent rejection; checking a
            # large batch of signatures may take a while on a loaded machine.
            validation_timeout=30.0,
            # Default 1 MiB: larger batches would be dropped on receive.
            max_inbound_rpc_size=config.max_frame + 64 * 1024,
        )
        self._pubsub.set_topic_validator(config.topic, self._validate_gossip, True)
        # py-libp2p's pubsub stream handler lets a protobuf DecodeError (an RPC that is not
        # protobuf) escape, which takes the whole host down: any peer could crash the node.
        for protocol in self._router.get_protocols():
            self._host.set_stream_handler(protocol, self._guarded_pubsub_stream)
        self._install_gossip_filter()
        self._host.set_stream_handler(FRAME_PROTOCOL, self._handle_frame_stream)
        self._host.set_stream_handler(REQUEST_PROTOCOL, self._handle_request_stream)
        self._host.get_network().register_notifee(_Notifee(self))

        self._nursery: trio.Nursery | None = None
        self._links: dict[ID, _Link] = {}
        self._peers: dict[str, _PeerState] = {}
        self._filter: Callable[[str], bool] | None = None
        self._request_limiter = RateLimiter(config.request_rate, config.request_burst, max_clients=4096)
        self._inbound_streams: dict[tuple[str, str], int] = {}
        self._inflight: dict[bytes, tuple[trio.Event, list[GossipVerdict]]] = {}
        self._publish_send, self._publish_receive = trio.open_memory_channel[bytes](PUBLISH_QUEUE)
        self._topology_changed = trio.Event()

    # ------------------------------------------------------------------ lifecycle

    @property
    def host(self) -> IHost:
        """The libp2p host, for node.faults only (raw misbehaviour on a test network)."""
        return self._host

    @property
    def config(self) -> NetConfig:
        """The settings this network runs with (node.faults reads the frame cap)."""
        return self._config

    async def serve(
        self, handlers: NetHandlers, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Listen, join the gossip topic, dial and keep dialing the bootstrap peers, and hand what
        peers send to ``handlers``; runs until cancelled. ``task_status.started()`` once listening
        (``listen_addrs`` is then valid). A P2PNetwork serves once: to restart, make a new one
        (with the same seed). The handlers come here, not to the constructor, so the node that
        handles peers' messages can be built on this network (its transport) first."""
        self._handlers = handlers
        # The pubsub services are started OUTSIDE host.run(): on exit the connections close first.
        # The other nesting intermittently raised "RuntimeError: Nursery is closed to new arrivals"
        # when peers still had gossip in flight (3 of 10 runs in the research).
        _check_port_free(self._listen)
        async with (
            background_trio_service(self._pubsub),
            background_trio_service(self._router),
            self._host.run(listen_addrs=[self._listen]),
        ):
            await self._pubsub.wait_until_ready()
            subscription = await self._pubsub.subscribe(self._config.topic)
            self.listen_addrs = [str(a) for a in self._host.get_addrs()]
            if not self.listen_addrs:
                # host.run() logs a failed listen (port in use, address not local) and carries on.
                raise ConfigError(
                    f"listen: cannot listen on {self._config.listen} (address in use or not local)"
                )
            try:
                async with trio.open_nursery() as nursery:
                    self._nursery = nursery
                    nursery.start_soon(self._drain_subscription, subscription)
                    nursery.start_soon(self._publisher)
                    for info in self._bootstrap:
                        if info.peer_id != self._my_id:
                            nursery.start_soon(self._keep_connected, info)
                    log(
                        logger,
                        logging.INFO,
                        "p2p network listening",
                        peer_id=self.peer_id,
                        addrs=",".join(self.listen_addrs),
                        topic=self._config.topic,
                    )
                    task_status.started()
                    await trio.sleep_forever()
            finally:
                self._nursery = None
                for link in list(self._links.values()):
                    link.send.close()
                self._links.clear()
                await self._close_swarm()

    async def _close_swarm(self) -> None:
        """The Swarm closes its connections and listeners while being cancelled, so its awaits
        are cut short and the TCP listener (a trio system task) stays open after host.run()
        returns: a node restarted in the same process would share the port with the zombie
        (SO_REUSEPORT). Close it ourselves, shielded, before leaving host.run()."""
        network: Any = self._host.get_network()
        close = getattr(network, "close", None)
        if close is None:
            return
        with trio.CancelScope(shield=True), trio.move_on_after(5):
            try:
                await close()
            except Exception as exc:
                log(logger, logging.DEBUG, "closing the swarm failed", error=repr(exc))

    async def _keep_connected(self, info: PeerInfo) -> None:
        peer = info.peer_id.to_base58()
        network: Any = self._host.get_network()
        while True:
            if not self._is_connected(info.peer_id) and self._dialable(peer):
                # A failed dial puts the peer in a 60 s negative cache in which every dial fails
                # instantly; we pace our own retries, so clear it.
                unblock = getattr(network, "unblock_peer", None)
                if unblock is not None:
                    unblock(info.peer_id)
                try:
                    with trio.fail_after(DIAL_TIMEOUT):
                        await self._host.connect(info)
                    self._m.dials.labels(outcome="ok").inc()
                    log(logger, logging.DEBUG, "dialed bootstrap peer", peer=peer)
                except Exception as exc:
                    self._m.dials.labels(outcome="failed").inc()
                    log(logger, logging.DEBUG, "dial failed", peer=peer, error=repr(exc))
            # retry promptly after a disconnect, otherwise every RECONNECT_INTERVAL
            with trio.move_on_after(RECONNECT_INTERVAL):
                await self._topology_changed.wait()

    # ------------------------------------------------------------------ connections, scores

    def _is_connected(self, peer_id: ID) -> bool:
        connections: Any = getattr(self._host.get_network(), "connections", {})
        return bool(connections.get(peer_id))

    def _state(self, peer: str) -> _PeerState:
        state = self._peers.get(peer)
        if state is None:
            state = self._peers[peer] = _PeerState()
        return state

    def _score(self, state: _PeerState) -> float:
        now = trio.current_time()
        if state.score < 0:
            state.score = min(0.0, state.score + (now - state.score_at) * SCORE_RECOVERY_PER_S)
        state.score_at = now
        return state.score

    def _banned(self, peer: str) -> bool:
        state = self._peers.get(peer)
        return state is not None and state.banned_until > trio.current_time()

    def _allowed(self, peer: str) -> bool:
        if self._banned(peer):
            return False
        allow = self._filter
        return allow is None or bool(allow(peer))

    def _dialable(self, peer: str) -> bool:
        return not self._banned(peer)

    def _on_connected(self, conn: INetConn) -> None:
        peer_id = conn.muxed_conn.peer_id
        peer = peer_id.to_base58()
        state = self._state(peer)
        direction = getattr(conn, "direction", None)
        state.direction = getattr(direction, "name", str(direction or "")).lower()
        try:
            state.addrs = [str(a) for a in self._host.get_peerstore().addrs(peer_id)]
        except Exception:
            state.addrs = []
        self._m.peers.set(len(self._host.get_connected_peers()))
        if self._banned(peer):
            log(logger, logging.INFO, "refusing banned peer", peer=peer)
            self._spawn(self._disconnect, peer_id)
        else:
            log(logger, logging.DEBUG, "peer connected", peer=peer, direction=state.direction)
        self._signal_topology()

    def _signal_topology(self) -> None:
        self._topology_changed.set()
        self._topology_changed = trio.Event()

    def _on_disconnected(self, conn: INetConn) -> None:
        peer_id = conn.muxed_conn.peer_id
        if not self._is_connected(peer_id):
            link = self._links.pop(peer_id, None)
            if link is not None:
                link.send.close()
            log(logger, logging.DEBUG, "peer disconnected", peer=peer_id.to_base58())
            state = self._peers.get(peer_id.to_base58())
            if state is not None and state.score >= 0 and not self._banned(peer_id.to_base58()):
                del self._peers[peer_id.to_base58()]  # nothing worth remembering
        self._m.peers.set(len(self._host.get_connected_peers()))
        self._signal_topology()

    def _spawn(self, fn: Callable[..., Any], *args: Any) -> None:
        if self._nursery is not None:
            self._nursery.start_soon(fn, *args)

    async def _disconnect(self, peer_id: ID) -> None:
        try:
            with trio.move_on_after(5):
                await self._host.disconnect(peer_id)
        except Exception as exc:
            log(logger, logging.DEBUG, "disconnect failed", peer=peer_id.to_base58(), error=repr(exc))

    def penalize(self, peer: str, reason: str) -> None:
        """Score a peer down; at SCORE_BAN it is disconnected and banned for BAN_SECONDS."""
        if peer == self.peer_id:
            return
        state = self._state(peer)
        score = self._score(state) - PENALTIES.get(reason, PENALTY_DEFAULT)
        state.score = score
        self._m.penalties.labels(reason=reason).inc()
        log(logger, logging.INFO, "peer penalized", peer=peer, reason=reason, score=round(score, 1))
        if score <= SCORE_BAN and not self._banned(peer):
            state.banned_until = trio.current_time() + BAN_SECONDS
            state.score = SCORE_BAN / 2  # on return after the ban it starts on probation
            self._m.bans.inc()
            log(logger, logging.WARNING, "peer banned", peer=peer, reason=reason, seconds=BAN_SECONDS)
            try:
                peer_id = ID.from_base58(peer)
            except Exception:
                return
            link = self._links.pop(peer_id, None)
            if link is not None:
                link.send.close()
            self._spawn(self._disconnect, peer_id)

    async def wait_ready(self, peers: Collection[str], *, timeout_s: float = 30.0) -> None:
        """Wait until every one of ``peers`` is connected and in our gossip mesh (tests, startup).
        Raises NetError(reason="timeout") naming the first peer still missing."""
        waiting = ""
        try:
            with trio.fail_after(timeout_s):
                for peer in peers:
                    if peer == self.peer_id:
                        continue
                    waiting = peer
                    peer_id = ID.from_base58(peer)
                    while not self._is_connected(peer_id):
                        await self._topology_changed.wait()
                    await self._pubsub.wait_for_mesh(peer_id, self._config.topic, timeout=timeout_s)
        except trio.TooSlowError:
            raise NetError(waiting, "timeout", "not connected or not in the gossip mesh") from None

    def set_peer_filter(self, allow: Callable[[str], bool] | None) -> None:
        """Test hook for partitions: frames, gossip and requests to or from peers for which
        ``allow(peer)`` is false are dropped both ways (connections stay up)."""
        self._filter = allow

    def connected_peers(self) -> list[str]:
        """Connected peers this node talks to (banned and filtered-out peers are left out)."""
        peers = (p.to_base58() for p in self._host.get_connected_peers())
        return sorted(p for p in peers if self._allowed(p))

    def peers_info(self) -> list[dict[str, Any]]:
        connected = {p.to_base58() for p in self._host.get_connected_peers()}
        bootstrap = {i.peer_id.to_base58() for i in self._bootstrap}
        now = trio.current_time()
        out = []
        for peer in sorted(connected | bootstrap | set(self._peers)):
            state = self._peers.get(peer)
            out.append(
                {
                    "peer_id": peer,
                    "addrs": list(state.addrs) if state else [],
                    "direction": (state.direction if state else "") if peer in connected else "",
                    "score": round(self._score(state), 2) if state else SCORE_START,
                    "connected": peer in connected,
                    "bootstrap": peer in bootstrap,
                    "banned_for_s": round(max(0.0, state.banned_until - now), 1) if state else 0.0,
                    "allowed": self._allowed(peer),
                }
            )
        return out

    # ------------------------------------------------------------------ gossip

    def _install_gossip_filter(self) -> None:
        """Apply the peer filter / bans to gossip: drop inbound messages forwarded by a disallowed
        peer before pubsub marks them seen or validates them (so the same message can still arrive
        through an allowed peer), and never send to a disallowed peer."""
        original_push = self._pubsub.push_msg
        original_peers = self._router._get_peers_to_send

        async def push_msg(msg_forwarder: ID, msg: rpc_pb2.Message) -> None:
            if msg_forwarder != self._my_id and not self._allowed(msg_forwarder.to_base58()):
                self._m.dropped.labels(type="gossip", reason="filtered_in").inc()
                return
            await original_push(msg_forwarder, msg)

        def get_peers_to_send(*args: Any, **kwargs: Any) -> Iterable[ID]:
            return [p for p in original_peers(*args, **kwargs) if self._allowed(p.to_base58())]

        setattr(self._pubsub, "push_msg", push_msg)  # noqa: B010
        setattr(self._router, "_get_peers_to_send", get_peers_to_send)  # noqa: B010

    async def _validate_gossip(self, forwarder: ID, msg: rpc_pb2.Message) -> bool:
        if forwarder == self._my_id:
            return True  # our own publish: the node made this batch
        peer = forwarder.to_base58()
        data = bytes(msg.data)
        key = hashlib.sha256(data).digest()
        pending = self._inflight.get(key)
        if pending is not None:
            # The same batch from a second peer while the first copy is being checked.
            await pending[0].wait()
            return pending[1][0].relay if pending[1] else False
        done = trio.Event()
        result: list[GossipVerdict] = []
        self._inflight[key] = (done, result)
        try:
            self._m.messages_in.labels(type="gossip").inc()
            self._m.bytes_in.labels(type="gossip").inc(len(data))
            try:
                verdict = GossipVerdict(await self._handlers.on_tx_batch(data, peer))
            except Exception as exc:  # the node's bug, not the peer's fault
                log(logger, logging.ERROR, "tx batch handler failed", peer=peer, error=repr(exc))
                verdict = GossipVerdict.IGNORE
            if verdict is GossipVerdict.REJECT:
                self._m.invalid("invalid_tx_batch")
                self.penalize(peer, "invalid_tx_batch")
            result.append(verdict)
            return verdict.relay
        finally:
            del self._inflight[key]
            done.set()

    async def _drain_subscription(self, subscription: Any) -> None:
        # Batches are handed to the node by the validator (before relay); the subscription only
        # keeps us in the topic mesh, and must be read or pubsub warns and drops.
        async for _ in subscription:
            pass

    def publish(self, data: bytes) -> None:
        """Queue a tx batch for GossipSub (never blocks; dropped with a metric if the queue is full)."""
        if len(data) > self._config.max_frame:
            self._m.dropped.labels(type="gossip", reason="oversize").inc()
            log(logger, logging.WARNING, "tx batch too large to gossip", size=len(data))
            return
        try:
            self._publish_send.send_nowait(data)
        except trio.WouldBlock:
            self._m.dropped.labels(type="gossip", reason="queue_full").inc()

    def _gossip_backlog(self) -> int:
        return max((len(q) for q in self._pubsub.peer_queues.values()), default=0)

    async def _publisher(self) -> None:
        async for data in self._publish_receive:
            # publish() never blocks and the per-peer RPC queues drop when full: pace ourselves.
            # (py-libp2p offers no event for "queue drained", so this polls, bounded.)
            with trio.move_on_after(GOSSIP_PACE_MAX_WAIT):
                while self._gossip_backlog() >= GOSSIP_PACE_HIGH:  # noqa: ASYNC110 - nothing to wait on
                    await trio.sleep(0.002)
            try:
                await self._pubsub.publish(self._config.topic, data)
            except Exception as exc:
                self._m.dropped.labels(type="gossip", reason="publish_failed").inc()
                log(logger, logging.WARNING, "gossip publish failed", error=repr(exc))
            else:
                self._m.messages_out.labels(type="gossip").inc()
                self._m.bytes_out.labels(type="gossip").inc(len(data))

    # ------------------------------------------------------------------ direct frames

    def broadcast(self, frame: bytes, *, exclude: Collection[str] = ()) -> None:
        """Queue ``frame`` for every connected peer (never blocks)."""
        for peer_id in self._host.get_connected_peers():
            peer = peer_id.to_base58()
            if peer not in exclude:
                self._enqueue(peer_id, peer, frame)

    def send(self, peer: str, frame: bytes) -> None:
        """Queue ``frame`` for one peer (never blocks; dropped with a metric if not connected)."""
        try:
            peer_id = ID.from_base58(peer)
        except Exception:
            self._m.dropped.labels(type="frame", reason="bad_peer_id").inc()
            return
        self._enqueue(peer_id, peer, frame)

    def _enqueue(self, peer_id: ID, peer: str, frame: bytes) -> None:
        if not self._allowed(peer):
            self._m.dropped.labels(type="frame", reason="filtered_out").inc()
            return
        if len(frame) > self._config.max_frame or not frame:
            self._m.dropped.labels(type="frame", reason="oversize" if frame else "empty").inc()
            return
        if self._nursery is None or not self._is_connected(peer_id):
            self._m.dropped.labels(type="frame", reason="not_connected").inc()
            return
        link = self._links.get(peer_id)
        if link is None:
            link = self._links[peer_id] = _Link(peer_id, peer)
            self._nursery.start_soon(self._link_sender, link)
        try:
            link.send.send_nowait(frame)
        except trio.WouldBlock:
            self._m.dropped.labels(type="frame", reason="queue_full").inc()
        except trio.ClosedResourceError:
            self._m.dropped.labels(type="frame", reason="not_connected").inc()

    async def _link_sender(self, link: _Link) -> None:
        try:
            async with link.receive:
                async for frame in link.receive:
                    batch = [frame]
                    size = len(frame)
                    while size < WRITE_BATCH_BYTES:
                        try:
                            more = link.receive.receive_nowait()
                        except (trio.WouldBlock, trio.EndOfChannel):
                            break
                        batch.append(more)
                        size += len(more)
                    await self._write_frames(link, batch)
        finally:
            if self._links.get(link.peer_id) is link:
                del self._links[link.peer_id]
            if link.stream is not None:
                await _reset_quietly(link.stream)

    async def _write_frames(self, link: _Link, frames: list[bytes]) -> None:
        data = b"".join(encode_frame(f) for f in frames)
        for attempt in (1, 2):  # a stream that failed is reopened once for the same frames
            if not self._is_connected(link.peer_id) or not self._allowed(link.peer):
                break
            try:
                if link.stream is None:
                    with trio.fail_after(STREAM_OPEN_TIMEOUT):
                        link.stream = await self._host.new_stream(link.peer_id, [FRAME_PROTOCOL])
                with trio.fail_after(FRAME_WRITE_TIMEOUT):
                    await link.stream.write(data)
            except Exception as exc:
                log(
                    logger,
                    logging.DEBUG,
                    "frame stream failed",
                    peer=link.peer,
                    attempt=attempt,
                    error=repr(exc),
                )
                if link.stream is not None:
                    await _reset_quietly(link.stream)
                    link.stream = None
                continue
            self._m.messages_out.labels(type="frame").inc(len(frames))
            self._m.bytes_out.labels(type="frame").inc(len(data))
            return
        self._m.dropped.labels(type="frame", reason="send_failed").inc(len(frames))

    def _admit_stream(self, peer: str, kind: str, limit: int) -> bool:
        count = self._inbound_streams.get((peer, kind), 0)
        if count >= limit:
            self._m.dropped.labels(type=kind, reason="too_many_streams").inc()
            return False
        self._inbound_streams[(peer, kind)] = count + 1
        return True

    def _release_stream(self, peer: str, kind: str) -> None:
        count = self._inbound_streams.pop((peer, kind), 1) - 1
        if count > 0:
            self._inbound_streams[(peer, kind)] = count

    async def _handle_frame_stream(self, stream: INetStream) -> None:
        peer = stream.muxed_conn.peer_id.to_base58()
        if not self._admit_stream(peer, "frame", MAX_INBOUND_FRAME_STREAMS):
            await _reset_quietly(stream)
            return
        try:
            await self._serve_frame_stream(stream, peer)
        finally:
            self._release_stream(peer, "frame")

    async def _serve_frame_stream(self, stream: INetStream, peer: str) -> None:
        if self._banned(peer):
            await _reset_quietly(stream)
            return
        reader = FrameReader(stream)
        try:
            while True:
                try:
                    frame = await reader.next_frame(self._config.max_frame)
                except EOFError:
                    break
                if not self._allowed(peer):
                    self._m.dropped.labels(type="frame", reason="filtered_in").inc()
                    continue
                self._m.messages_in.labels(type="frame").inc()
                self._m.bytes_in.labels(type="frame").inc(len(frame))
                try:
                    await self._handlers.on_frame(frame, peer)
                except Exception as exc:  # the node's bug, not the peer's fault
                    log(logger, logging.ERROR, "frame handler failed", peer=peer, error=repr(exc))
            await _close_quietly(stream)
        except FrameError as exc:
            self._bad_input(peer, f"frame_{exc.reason}", exc)
            await _reset_quietly(stream)
        except Exception as exc:  # stream reset, connection lost
            log(logger, logging.DEBUG, "frame stream ended", peer=peer, error=repr(exc))
            await _reset_quietly(stream)

    async def _guarded_pubsub_stream(self, stream: INetStream) -> None:
        try:
            await self._pubsub.stream_handler(stream)
        except Exception as exc:
            peer_id = stream.muxed_conn.peer_id
            self._bad_input(peer_id.to_base58(), "gossip_malformed", exc)
            await _reset_quietly(stream)
            with contextlib.suppress(Exception):
                self._pubsub._handle_dead_peer(peer_id)

    def _bad_input(self, peer: str, reason: str, exc: Exception) -> None:
        self._m.invalid(reason)
        self._m.dropped.labels(type=reason.split("_", 1)[0], reason=reason).inc()
        log(logger, logging.WARNING, "invalid input from peer", peer=peer, reason=reason, error=str(exc))
        self.penalize(peer, reason)

    # ------------------------------------------------------------------ requests

    async def request(
        self, peer: str, name: str, payload: bytes, *, max_response: int, timeout_s: float = 10.0
    ) -> bytes:
        """Ask ``peer``; raise NetError (with .peer and .reason) on any failure."""
        try:
            self._request_checks(peer, name)
            peer_id = ID.from_base58(peer)
        except NetError as exc:
            self._m.request_errors.labels(reason=exc.reason).inc()
            raise
        except Exception:
            self._m.request_errors.labels(reason="bad_peer_id").inc()
            raise NetError(peer, "unreachable", "not a peer id") from None
        request_frame = encode_request(name, payload)
        if len(request_frame) > self._config.max_frame:
            raise self._request_failed(peer, "oversize", f"{name}: request of {len(request_frame)} bytes")
        start = trio.current_time()
        stream: INetStream | None = None
        clean = False
        try:
            with trio.fail_after(timeout_s):
                stream = await self._host.new_stream(peer_id, [REQUEST_PROTOCOL])
                await stream.write(encode_frame(request_frame))
                frame = await FrameReader(stream).next_frame(max_response + RESPONSE_OVERHEAD)
            clean = True
            ok, body = decode_response(frame)
        except trio.TooSlowError:
            raise self._request_failed(peer, "timeout", f"{name}: no answer in {timeout_s} s") from None
        except FrameTooLarge as exc:
            self.penalize(peer, "response_oversize")
            raise self._request_failed(
                peer, "oversize", f"{name}: response of {exc.size} bytes, limit {max_response}"
            ) from None
        except FrameError as exc:
            self._bad_input(peer, f"response_{exc.reason}", exc)
            raise self._request_failed(peer, "protocol", f"{name}: {exc}") from None
        except Exception as exc:
            reason = "closed" if stream is not None else "unreachable"
            raise self._request_failed(peer, reason, f"{name}: {exc!r}") from None
        finally:
            if stream is not None:
                await (_close_quietly(stream) if clean else _reset_quietly(stream))
        self._m.request_seconds.labels(name=name).observe(trio.current_time() - start)
        if not ok:
            raise self._request_failed(peer, "remote", str(body))
        assert isinstance(body, bytes)
        if len(body) > max_response:
            raise self._request_failed(peer, "oversize", f"{name}: response of {len(body)} bytes")
        self._m.messages_in.labels(type="response").inc()
        self._m.bytes_in.labels(type="response").inc(len(body))
        return body

    def _request_checks(self, peer: str, name: str) -> None:
        if not name or len(name) > 64:
            raise NetError(peer, "protocol", f"bad request name {name!r}")
        if self._banned(peer):
            raise NetError(peer, "banned")
        if not self._allowed(peer):
            raise NetError(peer, "filtered")

    def _request_failed(self, peer: str, reason: str, detail: str) -> NetError:
        self._m.request_errors.labels(reason=reason).inc()
        log(logger, logging.DEBUG, "request failed", peer=peer, reason=reason, detail=detail)
        return NetError(peer, reason, detail)

    async def _handle_request_stream(self, stream: INetStream) -> None:
        peer = stream.muxed_conn.peer_id.to_base58()
        if not self._admit_stream(peer, "request", MAX_INBOUND_REQUEST_STREAMS):
            await _reset_quietly(stream)
            return
        try:
            await self._serve_request_stream(stream, peer)
        finally:
            self._release_stream(peer, "request")

    async def _serve_request_stream(self, stream: INetStream, peer: str) -> None:
        if not self._allowed(peer):
            self._m.dropped.labels(type="request", reason="filtered_in").inc()
            await _reset_quietly(stream)
            return
        reader = FrameReader(stream)
        try:
            while True:  # several requests may share a stream
                try:
                    frame = await reader.next_frame(min(self._config.max_frame, self._config.max_request))
                except EOFError:
                    break
                name, payload = decode_request(frame)
                self._m.messages_in.labels(type="request").inc()
                self._m.bytes_in.labels(type="request").inc(len(frame))
                if self._request_limiter.allow(peer):
                    response = await self._answer(name, payload, peer)
                else:  # valid but too many: refused cheaply, no penalty (a catching-up peer is busy)
                    self._m.dropped.labels(type="request", reason="rate_limited").inc()
                    response = encode_response(False, "rate limited: too many requests from this peer")
                await stream.write(encode_frame(response))
                self._m.messages_out.labels(type="response").inc()
                self._m.bytes_out.labels(type="response").inc(len(response))
            await _close_quietly(stream)
        except FrameError as exc:
            self._bad_input(peer, f"request_{exc.reason}", exc)
            await _reset_quietly(stream)
        except Exception as exc:
            log(logger, logging.DEBUG, "request stream ended", peer=peer, error=repr(exc))
            await _reset_quietly(stream)

    async def _answer(self, name: str, payload: bytes, peer: str) -> bytes:
        try:
            body = await self._handlers.on_request(name, payload, peer)
        except (NodeError, ProtocolError) as exc:
            return encode_response(False, f"{type(exc).__name__}: {exc}"[:1000])
        except Exception as exc:
            log(logger, logging.ERROR, "request handler failed", peer=peer, request=name, error=repr(exc))
            return encode_response(False, "internal error")
        if len(body) + RESPONSE_OVERHEAD > self._config.max_frame:
            log(logger, logging.ERROR, "response too large", request=name, size=len(body))
            return encode_response(False, "response too large")
        return encode_response(True, bytes(body))


def _check_port_free(listen: multiaddr.Multiaddr) -> None:
    """py-libp2p's TCP listener sets SO_REUSEPORT (for hole punching), so a second node on the same
    port would *share* it, the kernel splitting inbound connections between the two. Refuse to
    start instead: a plain bind (SO_REUSEADDR only, so a restart is not blocked by TIME_WAIT)
    fails while anything listens there."""
    try:
        port = int(listen.value_for_protocol("tcp"))
    except Exception:
        return
    for proto, family in (("ip4", socket.AF_INET), ("ip6", socket.AF_INET6)):
        try:
            host = listen.value_for_protocol(proto)
        except Exception:
            continue
        if not port or not host:
            return
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                raise ConfigError(f"listen: cannot listen on {listen} ({exc.strerror})") from None
        return


async def _reset_quietly(stream: INetStream) -> None:
    with trio.CancelScope(shield=True), trio.move_on_after(2), contextlib.suppress(Exception):
        await stream.reset()


async def _close_quietly(stream: INetStream) -> None:
    with trio.CancelScope(shield=True), trio.move_on_after(2), contextlib.suppress(Exception):
        await stream.close()
