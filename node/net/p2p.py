"""The node's peer-to-peer network on py-libp2p 0.8.1 (pinned) and trio: ``P2PNetwork``.

Three channels, chosen by what each kind of traffic needs (see shared/research/libp2p.md):

* **gossip** (``node.net.gossip``): transaction batches on one GossipSub topic and the board's
  listings on another, best effort;
* **links** (``node.net.links``): direct frames, one stream per peer and direction (SCP envelopes,
  ledger-closed announcements);
* **requests** (``node.net.requests``): one stream per request, the pull path for anything that
  must arrive (tx sets, missed ledgers).

``P2PNetwork`` assembles them around one libp2p host (``node.net.compat``, where every py-libp2p
setting and workaround lives) and one peer book (``node.net.peerbook``, pure; ``node.net.guard``
applies it). Nothing a peer sends can crash the node: every stream handler catches everything,
logs, counts and penalises; a peer whose score falls to the ban threshold is disconnected, and its
dials are refused right after the handshake until the ban ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any

import multiaddr
import trio
from libp2p.abc import IHost, INetConn, INetStream, INetwork, INotifee
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo, info_from_p2p_addr

from node.dial_log import DialFailureLog, dial_error_text
from node.errors import ConfigError, NetError
from node.logs import log
from node.metrics import NodeMetrics
from node.net import compat
from node.net.announce import announced_addresses
from node.net.gossip import Gossip
from node.net.guard import PeerGuard
from node.net.handlers import NetHandlers
from node.net.links import Links
from node.net.netmetrics import NetMetrics
from node.net.peerbook import SCORE_START, InboundSlots, PeerBook
from node.net.requests import Requests
from node.net.settings import NetConfig

if TYPE_CHECKING:
    # libp2p pulls in trio-typing, whose trio-stubs shadow trio's own annotations and do not
    # export trio.TaskStatus.
    from trio_typing import TaskStatus

logger = logging.getLogger("tally.net")

RECONNECT_INTERVAL = 2.0  # seconds between dials to a bootstrap peer that is not connected
CONNECTED_CHECK_S = 60.0  # a connected bootstrap peer is checked this often besides disconnect events
DIAL_TIMEOUT = 5.0
DISCONNECT_TIMEOUT = 5.0


class P2PNetwork:
    """The ``node.transport.Transport`` on libp2p, plus ``serve`` / ``wait_ready`` to run it.

    Serves once: to restart, make a new one (with the same seed). ``peer_id`` is known from
    construction, ``listen_addrs`` once ``serve`` has reported started.
    """

    def __init__(self, config: NetConfig, metrics: NodeMetrics | None = None) -> None:
        self._listen, self._bootstrap = _checked_config(config)
        compat.quiet_libp2p()
        #: The configuration. Public for node.faults only (raw misbehaviour needs its limits).
        self.config = config
        #: The libp2p host. Public for node.faults only (it opens raw streams to misbehave).
        self.host: IHost = compat.new_tally_host(config.seed)
        self._own_id: ID = self.host.get_id()
        self.peer_id: str = self._own_id.to_base58()
        self.listen_addrs: list[str] = []  # as bound (may be 0.0.0.0: to listen, never to announce)
        self.announce_addrs: list[str] = []  # what other nodes should dial (node.net.announce)
        self._dial_failures = DialFailureLog()
        self._metrics = NetMetrics(metrics)
        self.guard = PeerGuard(
            PeerBook(self.peer_id),
            InboundSlots(config.max_inbound, config.max_inbound_per_ip),
            self._metrics,
            self._on_ban,
        )
        compat.gate_inbound(self.host, self.guard)
        self._gossip = Gossip(
            self.host,
            config.topic,
            config.max_frame,
            self.guard,
            self._metrics,
            board_topic=config.board_topic,
        )
        self._links = Links(self.host, config.max_frame, self.guard, self._metrics)
        self._requests = Requests(self.host, config, self.guard, self._metrics)
        self.host.get_network().register_notifee(_ConnectionEvents(self))
        self._nursery: trio.Nursery | None = None
        self._topology_changed = trio.Event()

    # -- lifecycle -----------------------------------------------------------------------------

    async def serve(
        self, handlers: NetHandlers, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Listen, join the gossip topic, dial and keep dialing the bootstrap peers, and hand what
        peers send to ``handlers``; runs until cancelled. ``task_status.started()`` once listening
        (``listen_addrs`` is then valid). The handlers come here, not to the constructor, so the
        node that handles peers' messages can be built on this network (its transport) first."""
        compat.check_port_free(self._listen)
        async with self._gossip.services(), self.host.run(listen_addrs=[self._listen]):
            self.listen_addrs = [str(a) for a in self.host.get_addrs()]
            if not self.listen_addrs:
                # host.run() logs a failed listen (port in use, address not local) and carries on.
                raise ConfigError(
                    f"listen: cannot listen on {self.config.listen} (address in use or not local)"
                )
            self.announce_addrs = announced_addresses(self.config.announce, self.listen_addrs, self.peer_id)
            try:
                async with trio.open_nursery() as nursery:
                    self._nursery = nursery
                    await nursery.start(self._gossip.serve, handlers)
                    await nursery.start(self._links.serve, handlers)
                    await nursery.start(self._requests.serve, handlers)
                    for info in self._bootstrap:
                        if info.peer_id != self._own_id:
                            nursery.start_soon(self._keep_connected, info)
                    log(
                        logger,
                        logging.INFO,
                        "p2p network listening",
                        peer_id=self.peer_id,
                        port=self._listen.value_for_protocol("tcp"),
                        announce=",".join(self.announce_addrs) or "none",
                        topic=self.config.topic,
                    )
                    task_status.started()
                    await trio.sleep_forever()
            finally:
                self._nursery = None
                await compat.close_swarm(self.host)

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
                    while not compat.is_connected(self.host, peer_id):
                        await self._topology_changed.wait()
                    await self._gossip.wait_for_mesh(peer_id, timeout_s)
        except trio.TooSlowError:
            raise NetError(waiting, "timeout", "not connected or not in the gossip mesh") from None

    async def _keep_connected(self, info: PeerInfo) -> None:
        peer = info.peer_id.to_base58()
        while True:
            if not compat.is_connected(self.host, info.peer_id) and not self.guard.banned(peer):
                compat.forget_failed_dial(self.host, info.peer_id)
                try:
                    with trio.fail_after(DIAL_TIMEOUT):
                        await self.host.connect(info)
                    self._metrics.dials.labels(outcome="ok").inc()
                    self._dial_failures.succeeded(peer, "bootstrap peer")
                except Exception as exc:
                    self._metrics.dials.labels(outcome="failed").inc()
                    addrs = ",".join(str(a) for a in info.addrs)
                    self._dial_failures.failed(peer, addrs, exc, self.guard.now(), "bootstrap peer")
            # retry promptly after a disconnect, otherwise every RECONNECT_INTERVAL while not
            # connected; a connected peer is looked at again only now and then (each wake-up
            # costs an idle node CPU: with three bootstrap peers this loop was most of them)
            connected = compat.is_connected(self.host, info.peer_id)
            with trio.move_on_after(CONNECTED_CHECK_S if connected else RECONNECT_INTERVAL):
                await self._topology_changed.wait()

    # -- Dialer (node.discovery) ---------------------------------------------------------------

    def announced(self) -> list[str]:
        """The addresses other nodes dial to reach this one, without the ``/p2p/`` suffix."""
        return [address.rsplit("/p2p/", 1)[0] for address in self.announce_addrs]

    async def dial(self, peer: str, addresses: Sequence[str]) -> None:
        """Connect to ``peer`` at ``addresses`` (each ending in its ``/p2p/`` id); at once when
        connected already. Raises NetError (``self``, ``banned``, ``unreachable``)."""
        if peer == self.peer_id:
            raise NetError(peer, "self")
        if self.guard.banned(peer):
            raise NetError(peer, "banned")
        try:
            peer_id = ID.from_base58(peer)
            addrs = [multiaddr.Multiaddr(a.rsplit("/p2p/", 1)[0]) for a in addresses]
        except Exception as exc:
            raise NetError(peer, "unreachable", f"not a peer address: {exc}") from None
        if compat.is_connected(self.host, peer_id):
            return
        compat.forget_failed_dial(self.host, peer_id)
        try:
            with trio.fail_after(DIAL_TIMEOUT):
                await self.host.connect(PeerInfo(peer_id, addrs))
        except Exception as exc:
            self._metrics.dials.labels(outcome="failed").inc()
            raise NetError(peer, "unreachable", dial_error_text(exc)) from None
        self._metrics.dials.labels(outcome="ok").inc()

    # -- Transport -----------------------------------------------------------------------------

    def skip_relays_when(self, hears_directly: Callable[[str, str], bool]) -> None:
        self._gossip.skip_relays_when(hears_directly)

    def publish(self, data: bytes) -> None:
        """Queue a tx batch for GossipSub (never blocks; dropped with a metric if the queue is full)."""
        self._gossip.publish(data)

    def publish_board(self, data: bytes) -> None:
        """Queue a batch of board listings for their own topic (never blocks)."""
        self._gossip.publish_board(data)

    def broadcast(self, frame: bytes, *, exclude: Collection[str] = ()) -> None:
        """Queue ``frame`` for every connected peer (never blocks)."""
        self._links.broadcast(frame, exclude=exclude)

    def send(self, peer: str, frame: bytes) -> None:
        """Queue ``frame`` for one peer (never blocks; dropped with a metric if not connected)."""
        self._links.send(peer, frame)

    async def request(
        self, peer: str, name: str, payload: bytes, *, max_response: int, timeout_s: float = 10.0
    ) -> bytes:
        """Ask ``peer``; raise NetError (with .peer and .reason) on any failure."""
        return await self._requests.request(
            peer, name, payload, max_response=max_response, timeout_s=timeout_s
        )

    def penalize(self, peer: str, reason: str) -> None:
        """Score a peer down; at the ban threshold it is disconnected and banned for a while."""
        self.guard.penalize(peer, reason)

    def connected_peers(self) -> list[str]:
        """Connected peers this node talks to (banned peers are left out)."""
        peers = (p.to_base58() for p in self.host.get_connected_peers())
        return sorted(p for p in peers if self.guard.allowed(p))

    def peers_info(self) -> list[dict[str, Any]]:
        connected = {p.to_base58() for p in self.host.get_connected_peers()}
        bootstrap = {i.peer_id.to_base58() for i in self._bootstrap}
        book, now = self.guard.book, self.guard.now()
        out = []
        for peer in sorted(connected | bootstrap | book.known()):
            record = book.record(peer)
            out.append(
                {
                    "peer_id": peer,
                    "addrs": list(record.addrs) if record else [],
                    "direction": (record.direction if record else "") if peer in connected else "",
                    "score": round(book.score(peer, now), 2) if record else SCORE_START,
                    "connected": peer in connected,
                    "bootstrap": peer in bootstrap,
                    "banned_for_s": round(book.banned_for(peer, now), 1),
                    "allowed": self.guard.allowed(peer),
                }
            )
        return out

    # -- connection events ---------------------------------------------------------------------

    def _on_connected(self, conn: INetConn) -> None:
        peer_id = conn.muxed_conn.peer_id
        peer = peer_id.to_base58()
        direction = getattr(conn, "direction", None)
        try:
            addrs = tuple(str(a) for a in self.host.get_peerstore().addrs(peer_id))
        except Exception:
            addrs = ()
        name = getattr(direction, "name", str(direction or "")).lower()
        self.guard.book.connected(peer, name, addrs, self.guard.now())
        self._metrics.peers.set(len(self.host.get_connected_peers()))
        if self.guard.refuse_peer(peer):  # inbound bans are refused earlier, in the handshake
            self._spawn_disconnect(peer_id)
        else:
            log(logger, logging.DEBUG, "peer connected", peer=peer, direction=name)
        self._signal_topology()

    def _on_disconnected(self, conn: INetConn) -> None:
        peer_id = conn.muxed_conn.peer_id
        if not compat.is_connected(self.host, peer_id):
            self._links.close(peer_id)
            log(logger, logging.DEBUG, "peer disconnected", peer=peer_id.to_base58())
            self.guard.book.disconnected(peer_id.to_base58(), self.guard.now())
        self._metrics.peers.set(len(self.host.get_connected_peers()))
        self._signal_topology()

    def _signal_topology(self) -> None:
        self._topology_changed.set()
        self._topology_changed = trio.Event()

    def _on_ban(self, peer: str) -> None:
        try:
            peer_id = ID.from_base58(peer)
        except Exception:
            return
        self._links.close(peer_id)
        self._spawn_disconnect(peer_id)

    def _spawn_disconnect(self, peer_id: ID) -> None:
        if self._nursery is not None:
            self._nursery.start_soon(self._disconnect, peer_id)

    async def _disconnect(self, peer_id: ID) -> None:
        try:
            await compat.disconnect(self.host, peer_id, DISCONNECT_TIMEOUT)
        except Exception as exc:
            log(logger, logging.DEBUG, "disconnect failed", peer=peer_id.to_base58(), error=repr(exc))


class _ConnectionEvents(INotifee):
    """Forwards the swarm's connect and disconnect notifications to the network."""

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


def _checked_config(config: NetConfig) -> tuple[multiaddr.Multiaddr, list[PeerInfo]]:
    """The listen address and bootstrap peers of ``config``; ConfigError names a bad setting."""
    if len(config.seed) != 32:
        raise ConfigError("seed: the network identity needs a 32-byte Ed25519 seed")
    if config.max_frame < 1024:
        raise ConfigError("max_frame: must be at least 1024 bytes")
    if config.max_inbound < 1 or config.max_inbound_per_ip < 1:
        raise ConfigError("max_inbound, max_inbound_per_ip: must be at least 1")
    try:
        listen = multiaddr.Multiaddr(config.listen)
    except Exception as exc:
        raise ConfigError(f"listen: not a multiaddr: {config.listen!r} ({exc})") from None
    bootstrap: list[PeerInfo] = []
    for addr in config.bootstrap:
        try:
            bootstrap.append(info_from_p2p_addr(multiaddr.Multiaddr(addr)))
        except Exception as exc:
            raise ConfigError(
                f"bootstrap: {addr!r} is not a multiaddr ending in /p2p/<peer id> ({exc})"
            ) from None
    return listen, bootstrap
