"""What the node core needs from the peer-to-peer network.

``node.net.P2PNetwork`` (libp2p) implements it in production; tests may wire several nodes
together with an in-memory implementation. The core never touches libp2p types.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, Protocol


class Transport(Protocol):
    """Sending to peers: gossip, direct frames, requests, and scoring peers down. Never blocks
    except ``request``; every send is best effort (``request`` is the path for what must arrive)."""

    def publish(self, data: bytes) -> None:
        """Gossip a transaction batch to the network (best effort)."""

    def publish_board(self, data: bytes) -> None:
        """Gossip a batch of board listings on the board's own topic (best effort)."""

    def broadcast(self, frame: bytes, *, exclude: Collection[str] = ()) -> None:
        """Send a direct frame to every connected peer (best effort, never blocks)."""

    def send(self, peer: str, frame: bytes) -> None:
        """Send a direct frame to one peer (best effort, never blocks)."""

    async def request(
        self, peer: str, name: str, payload: bytes, *, max_response: int, timeout_s: float = 10.0
    ) -> bytes:
        """Ask ``peer``; raises ``NetError`` on timeout, oversize answer or remote error."""

    def connected_peers(self) -> list[str]: ...

    def peers_info(self) -> list[dict[str, Any]]: ...

    def penalize(self, peer: str, reason: str) -> None:
        """Score ``peer`` down for a provably bad message."""


class Dialer(Protocol):
    """What peer discovery (``node.discovery``) needs beyond the ``Transport``: this node's own
    addresses and a way to open connections. A node without one still exchanges peer records but
    dials nobody (the tests' simple transports)."""

    def announced(self) -> list[str]:
        """The addresses other nodes dial to reach this one (no ``/p2p/`` suffix); empty until
        the network listens, or when it has none to announce."""

    async def dial(self, peer: str, addresses: Sequence[str]) -> None:
        """Connect to ``peer`` at one of ``addresses`` (multiaddrs ending in its ``/p2p/`` id);
        returns at once when connected already. Raises ``NetError`` when it cannot."""

    def skip_relays_when(self, hears_directly: Callable[[str, str], bool]) -> None:
        """Let gossip skip relaying a batch to a peer that ``hears_directly(peer, origin)`` (peer
        ids; discovery's neighbour lists): the origin sends it that peer itself."""
