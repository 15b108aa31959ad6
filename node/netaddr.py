"""Peer-to-peer addresses as Tally writes them: TCP multiaddrs, parsed and checked without libp2p.

Configs (``[network] listen``, ``announce``, ``bootstrap``), node cards and signed peer records all
carry addresses of one small shape, ``/ip4|ip6|dns|dns4|dns6/HOST/tcp/PORT[/p2p/PEER_ID]``. They are
checked here, in one place and strictly, so that a typo in a config is a one-line error naming the
key and a peer cannot slip an address of another shape (or an unbounded one) into our peer table.

The distinction that matters for announcing: a *concrete* address names one host and a real port
and is what other nodes can dial; ``0.0.0.0``/``::`` (every interface) and port 0 (any free port)
are fine to listen on but are never announced.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

HostKind = Literal["ip4", "ip6", "dns", "dns4", "dns6"]
HOST_KINDS: tuple[HostKind, ...] = ("ip4", "ip6", "dns", "dns4", "dns6")
DEFAULT_P2P_PORT = 4100  # `tally node init`'s and node.toml's peer-to-peer port (TCP)
MAX_ADDRESS_CHARS = 200  # longer than any address of this shape needs (a 253-byte DNS name is not)
_DNS_NAME = re.compile(
    r"^(?=.{1,180}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
)
_PEER_ID = re.compile(r"^[1-9A-HJ-NP-Za-km-z]{32,60}$")  # base58btc, as libp2p prints peer ids


class MultiaddrError(ValueError):
    """Not an address of the accepted shape; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class TcpAddress:
    """One TCP multiaddr; ``peer_id`` is the ``/p2p/…`` suffix when the address names a node."""

    kind: HostKind
    host: str
    port: int
    peer_id: str | None = None

    def __str__(self) -> str:
        text = f"/{self.kind}/{self.host}/tcp/{self.port}"
        return text + (f"/p2p/{self.peer_id}" if self.peer_id else "")

    @property
    def unspecified(self) -> bool:
        """Every interface (``0.0.0.0`` / ``::``): a place to listen, never an address to dial."""
        return self.kind in ("ip4", "ip6") and ipaddress.ip_address(self.host).is_unspecified

    @property
    def loopback(self) -> bool:
        return self.kind in ("ip4", "ip6") and ipaddress.ip_address(self.host).is_loopback

    @property
    def concrete(self) -> bool:
        """Names one host and a real port: other nodes can dial it."""
        return not self.unspecified and self.port != 0

    def without_peer(self) -> TcpAddress:
        return TcpAddress(self.kind, self.host, self.port)

    def with_peer(self, peer_id: str) -> TcpAddress:
        return TcpAddress(self.kind, self.host, self.port, peer_id)


def parse_address(text: str) -> TcpAddress:
    """Parse ``/ip4|ip6|dns|dns4|dns6/HOST/tcp/PORT[/p2p/PEER_ID]``. Raises MultiaddrError."""
    if not isinstance(text, str) or not text or len(text) > MAX_ADDRESS_CHARS:
        raise MultiaddrError(f"expected a multiaddr of at most {MAX_ADDRESS_CHARS} characters")
    parts = text.split("/")
    if parts[0] != "" or len(parts) not in (5, 7):
        raise MultiaddrError(f"{text!r} is not of the form /ip4/HOST/tcp/PORT (optionally /p2p/PEER_ID)")
    _, kind, host, tcp, port_text, *peer = parts
    if kind not in HOST_KINDS:
        raise MultiaddrError(f"{text!r}: the host must be /ip4, /ip6, /dns, /dns4 or /dns6, not /{kind}")
    if tcp != "tcp":
        raise MultiaddrError(f"{text!r}: only TCP is supported (/tcp/PORT)")
    if not (port_text.isascii() and port_text.isdigit() and len(port_text) <= 5) or int(port_text) > 65535:
        raise MultiaddrError(f"{text!r}: {port_text!r} is not a TCP port (0-65535)")
    _check_host(text, kind, host)
    peer_id = None
    if peer:
        if peer[0] != "p2p" or not _PEER_ID.match(peer[1]):
            raise MultiaddrError(f"{text!r}: after the port only /p2p/PEER_ID may follow")
        peer_id = peer[1]
    return TcpAddress(kind, host, int(port_text), peer_id)


def _check_host(text: str, kind: HostKind, host: str) -> None:
    if kind in ("ip4", "ip6"):
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            raise MultiaddrError(f"{text!r}: {host!r} is not an /{kind} address") from None
        if address.version != (4 if kind == "ip4" else 6):
            raise MultiaddrError(f"{text!r}: {host!r} is not an /{kind} address")
    elif not _DNS_NAME.match(host):
        raise MultiaddrError(f"{text!r}: {host!r} is not a DNS name")


def parse_listen(text: str) -> TcpAddress:
    """A listen address: an IP (or every interface) and a port; no DNS name, no peer id."""
    address = parse_address(text)
    if address.kind not in ("ip4", "ip6"):
        raise MultiaddrError(f"{text!r}: listen on an IP address (/ip4/0.0.0.0/tcp/PORT for every interface)")
    if address.peer_id:
        raise MultiaddrError(f"{text!r}: a listen address carries no /p2p/ suffix")
    return address


def parse_announce(text: str) -> TcpAddress:
    """An address other nodes dial to reach this one: concrete, without the peer id."""
    address = parse_address(text)
    if address.peer_id:
        raise MultiaddrError(f"{text!r}: leave out /p2p/…: the node adds its own peer id")
    if not address.concrete:
        raise MultiaddrError(
            f"{text!r}: announce the address other nodes reach this one at: one host and a real port, "
            "not 0.0.0.0, :: or port 0"
        )
    return address


def parse_peer(text: str) -> TcpAddress:
    """A peer to dial: a concrete address ending in the peer's ``/p2p/PEER_ID``."""
    address = parse_address(text)
    if address.peer_id is None:
        raise MultiaddrError(f"{text!r}: a peer address ends in /p2p/PEER_ID (the node's peer id)")
    if not address.concrete:
        raise MultiaddrError(f"{text!r}: not an address one can dial (0.0.0.0, :: or port 0)")
    return address
