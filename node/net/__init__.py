"""Tally's peer-to-peer network: GossipSub tx batches, direct frames, request/response.

See ``node.net.p2p`` for the design and the py-libp2p settings (and why each is set).
"""

from node.errors import NetError
from node.net.handlers import GossipVerdict, NetHandlers
from node.net.p2p import (
    FRAME_PROTOCOL,
    REQUEST_PROTOCOL,
    NetConfig,
    P2PNetwork,
)
from node.peer_ids import peer_id_for  # libp2p-free; re-exported for callers of node.net

__all__ = [
    "FRAME_PROTOCOL",
    "REQUEST_PROTOCOL",
    "GossipVerdict",
    "NetConfig",
    "NetError",
    "NetHandlers",
    "P2PNetwork",
    "peer_id_for",
]
