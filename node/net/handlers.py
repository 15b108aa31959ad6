"""What the network needs from the node: the handlers it calls, and the gossip verdict.

Kept free of libp2p so that the node core can name these types without the network's internals.
"""

from __future__ import annotations

import enum
from typing import Protocol


class GossipVerdict(enum.Enum):
    """What the node makes of a gossiped transaction batch (the topic validator's answer).

    py-libp2p 0.8.1's validators answer only yes or no (go-libp2p's accept / ignore / reject has no
    counterpart), so the network maps ``ACCEPT`` to yes and both others to no; the difference
    between ``IGNORE`` and ``REJECT`` lives in our own peer book, which scores the forwarder down
    only on ``REJECT``.
    """

    ACCEPT = "accept"  # deliver and relay
    IGNORE = "ignore"  # don't relay, don't penalise (a duplicate, a peer cut off by a test partition)
    REJECT = "reject"  # don't relay, penalise the forwarder (provably invalid)

    @property
    def relay(self) -> bool:
        """Whether the batch goes on to our mesh peers (the libp2p validator's boolean)."""
        return self is GossipVerdict.ACCEPT


class NetHandlers(Protocol):
    async def on_tx_batch(self, data: bytes, peer: str) -> GossipVerdict:
        """A gossiped tx batch forwarded by ``peer``; the verdict decides relay and penalty."""
        ...

    async def on_board_batch(self, data: bytes, peer: str) -> GossipVerdict:
        """A gossiped batch of board listings (their own topic); the verdict as for tx batches."""
        ...

    async def on_frame(self, data: bytes, peer: str) -> None:
        """A frame from a direct stream (node.wire.decode_frame)."""
        ...

    async def on_request(self, name: str, payload: bytes, peer: str) -> bytes:
        """Answer a request, or raise a NodeError (its message goes back to the peer)."""
        ...
