"""The libp2p host: identity, transport security, muxer, dialling and the swarm's private parts.

Targets py-libp2p 0.8.1 (``node.net.compat.LIBP2P_VERSION``).
"""

from __future__ import annotations

import contextlib
import logging
import socket
from typing import Any

import multiaddr
import trio
from libp2p import new_host
from libp2p.abc import IHost, INetConn, INetStream
from libp2p.crypto.x25519 import create_new_key_pair as new_x25519_key_pair
from libp2p.identity_utils import create_identity_from_seed
from libp2p.network.config import ConnectionConfig
from libp2p.peer.id import ID
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport

from node.errors import ConfigError
from node.logs import log

logger = logging.getLogger("tally.net")


def quiet_libp2p() -> None:
    """libp2p's import-time logging setup leaves logger "libp2p" without handlers and with
    propagate=False, so its warnings are printed raw through logging.lastResort."""
    lg = logging.getLogger("libp2p")
    if not lg.handlers:
        lg.addHandler(logging.NullHandler())
    if lg.level < logging.ERROR:
        lg.setLevel(logging.ERROR)


def new_tally_host(seed: bytes) -> IHost:
    """A host whose identity is the Ed25519 key of ``seed``, Noise only, yamux first, and no
    automatic dialling (we dial our bootstrap peers ourselves)."""
    key_pair = create_identity_from_seed(seed)
    host = new_host(
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
            # See _disable_auto_connector.
            min_connections=0,
            low_watermark=0,
            auto_connect_interval=3600.0,
        ),
    )
    _disable_auto_connector(host)
    return host


def _disable_auto_connector(host: IHost) -> None:
    """The Swarm's AutoConnector dials every peerstore peer that has addresses whenever the
    connection count is below (low + high watermark) / 2 = 150: it would redial banned peers and
    peers we only heard of. ``min_connections=0`` alone did not stop it."""
    connector = getattr(host.get_network(), "auto_connector", None)
    if connector is None:
        return

    async def _no_auto_connect() -> None:
        return None

    setattr(connector, "maybe_connect", _no_auto_connect)  # noqa: B010


def is_connected(host: IHost, peer_id: ID) -> bool:
    """Whether the swarm holds a live connection to ``peer_id`` (its ``connections`` table; the
    host's ``get_connected_peers`` also lists peers whose connection is being torn down)."""
    connections: Any = getattr(host.get_network(), "connections", {})
    return bool(connections.get(peer_id))


def forget_failed_dial(host: IHost, peer_id: ID) -> None:
    """A failed dial puts the peer in a 60 s negative cache in which every dial fails instantly;
    we pace our own retries, so clear it before each (``Swarm.unblock_peer``)."""
    unblock = getattr(host.get_network(), "unblock_peer", None)
    if unblock is not None:
        unblock(peer_id)


async def close_swarm(host: IHost) -> None:
    """The Swarm closes its connections and listeners while being cancelled, so its awaits are cut
    short and the TCP listener (a trio system task) stays open after host.run() returns: a node
    restarted in the same process would share the port with the zombie (SO_REUSEPORT). Close it
    ourselves, shielded, before leaving host.run()."""
    network = host.get_network()
    close = getattr(network, "close", None)
    if close is None:
        return
    connections: dict[ID, list[INetConn]] = getattr(network, "connections", {})
    open_before = [conn for conns in connections.values() for conn in conns]
    with trio.CancelScope(shield=True), trio.move_on_after(5):
        try:
            await close()
        except Exception as exc:
            log(logger, logging.DEBUG, "closing the swarm failed", error=repr(exc))
        for conn in open_before:
            await _close_socket(conn)


async def disconnect(host: IHost, peer_id: ID, timeout_s: float) -> None:
    """Close every connection to ``peer_id`` (a banned peer), sockets included.

    ``host.disconnect`` closes each connection through its muxer, which may be cut short (our
    ``timeout_s``, or a connection task that was itself closing it) before the TCP socket is
    closed; that socket would stay open until garbage collection. Close them ourselves after it.
    """
    connections: dict[ID, list[INetConn]] = getattr(host.get_network(), "connections", {})
    open_before = list(connections.get(peer_id, ()))
    with trio.move_on_after(timeout_s):
        await host.disconnect(peer_id)
    with trio.CancelScope(shield=True), trio.move_on_after(timeout_s):
        for conn in open_before:
            await _close_socket(conn)


async def _close_socket(conn: INetConn) -> None:
    """Close a connection's secured channel, and so its TCP socket.

    When the host is cancelled, each connection's own task starts closing it (``SwarmConn.close``
    marks it closed first) and is cancelled inside ``Yamux.close`` before the socket is closed;
    the swarm's ``close`` then skips it as already closed, and the socket stays open until
    garbage collection (a ResourceWarning, and a file descriptor held meanwhile). Closing the
    secured connection again is harmless when it is already closed.
    """
    secured = getattr(conn.muxed_conn, "secured_conn", None)
    if secured is None:
        return
    try:
        await secured.close()
    except Exception as exc:
        log(logger, logging.DEBUG, "closing a connection failed", error=repr(exc))


def check_port_free(listen: multiaddr.Multiaddr) -> None:
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


async def reset_quietly(stream: INetStream) -> None:
    with trio.CancelScope(shield=True), trio.move_on_after(2), contextlib.suppress(Exception):
        await stream.reset()


async def close_quietly(stream: INetStream) -> None:
    with trio.CancelScope(shield=True), trio.move_on_after(2), contextlib.suppress(Exception):
        await stream.close()
