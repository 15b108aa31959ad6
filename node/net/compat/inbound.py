"""Inbound connections: caps before the handshake, banned peers refused right after it.

py-libp2p 0.8.1 has no per-peer connection gater (its ``ConnectionGate`` knows IP allow and deny
lists only), and its own inbound cap leaks: ``Swarm._handle_inbound_connection`` holds a slot of
``_inbound_limiter`` until the *swarm* stops, not until the connection closes, so after
``max_connections`` inbound connections in a node's life (300 by default; measured with a cap of 5:
the 6th dial was refused for good) the node would accept no peer again. A banned peer re-dialling in
a loop would get there within minutes. So both are replaced here, on one host's swarm instance:

* the swarm's inbound handler takes a slot of ``gate`` (a cap in total and per remote IP address)
  before any handshake, runs py-libp2p's own upgrade (``Swarm.upgrade_inbound_raw_conn``) and
  gives the slot back when the connection closes;
* the upgrader's ``upgrade_security`` asks ``gate`` about the remote peer as soon as the Noise
  handshake has proven who it is, and refuses a banned one before the muxer, the swarm's peer
  table, identify or gossip ever see it (the swarm logs that refusal at DEBUG only).

Targets py-libp2p 0.8.1 (``node.net.compat.LIBP2P_VERSION``).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from libp2p.abc import IHost
from libp2p.network.connection.raw_connection import RawConnection
from libp2p.peer.id import ID
from libp2p.transport.exceptions import SecurityUpgradeFailure

from node.logs import log

logger = logging.getLogger("tally.net")


class InboundGate(Protocol):
    def take_slot(self, ip: str) -> bool:
        """A connection from ``ip`` was accepted (no handshake yet): False refuses it."""
        ...

    def give_back_slot(self, ip: str) -> None:
        """The connection that took a slot for ``ip`` has ended."""
        ...

    def refuse_peer(self, peer: str) -> bool:
        """The Noise handshake proved the dialler is ``peer``: True refuses it."""
        ...


def gate_inbound(host: IHost, gate: InboundGate) -> None:
    """Install ``gate`` on ``host``'s swarm (see the module docstring)."""
    swarm: Any = host.get_network()
    upgrader: Any = swarm.upgrader
    upgrade_security = upgrader.upgrade_security

    async def gated_upgrade_security(raw_conn: Any, is_initiator: bool, peer_id: ID | None = None) -> Any:
        secured = await upgrade_security(raw_conn, is_initiator, peer_id)
        if not is_initiator and gate.refuse_peer(secured.get_remote_peer().to_base58()):
            await _close_quietly(secured)
            raise SecurityUpgradeFailure("refused: the peer is banned")
        return secured

    async def gated_inbound_connection(read_write_closer: Any, listen_addr: Any) -> None:
        ip = _remote_ip(read_write_closer)
        if not gate.take_slot(ip):
            await _close_quietly(read_write_closer)
            return
        try:
            muxed = await swarm.upgrade_inbound_raw_conn(RawConnection(read_write_closer, False), listen_addr)
            closed = getattr(muxed, "event_closed", None)  # yamux and mplex both have it
            await (closed.wait() if closed is not None else swarm.manager.wait_finished())
        except Exception as exc:  # refused, handshake failed or timed out: the swarm has cleaned up
            log(logger, logging.DEBUG, "inbound connection ended", ip=ip, error=repr(exc))
            await _close_quietly(read_write_closer)
        finally:
            gate.give_back_slot(ip)

    setattr(upgrader, "upgrade_security", gated_upgrade_security)  # noqa: B010
    setattr(swarm, "_handle_inbound_connection", gated_inbound_connection)  # noqa: B010


def _remote_ip(read_write_closer: Any) -> str:
    try:
        remote = read_write_closer.get_remote_address()
    except Exception:
        return ""
    return str(remote[0]) if remote else ""


async def _close_quietly(closer: Any) -> None:
    try:
        await closer.close()
    except Exception as exc:
        log(logger, logging.DEBUG, "closing a refused connection failed", error=repr(exc))
