"""Tally's peer-to-peer network: GossipSub tx batches, direct frames, request/response.

Layout (``P2PNetwork`` in ``p2p`` assembles the rest; nothing outside ``node.net`` sees libp2p):

* ``handlers``: what the network needs from the node (``NetHandlers``, ``GossipVerdict``);
* ``settings``: ``NetConfig``, protocol names;
* ``compat``: the py-libp2p host, GossipSub settings and every workaround for py-libp2p 0.8.1;
* ``peerbook``: scores, bans, stream and connection counts (pure: ``now`` is an argument);
* ``guard``: the peer book applied (clock, metrics, logs, ban actions, the inbound gate);
* ``gossip``, ``links``, ``requests``: the three channels; ``framing``: frames on streams;
* ``netmetrics``: Prometheus metrics; ``bench``: a micro-benchmark.
"""

from node.errors import NetError
from node.net.handlers import GossipVerdict, NetHandlers
from node.net.p2p import P2PNetwork
from node.net.settings import FRAME_PROTOCOL, REQUEST_PROTOCOL, NetConfig
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
