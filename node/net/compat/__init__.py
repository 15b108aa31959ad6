"""Everything Tally needs from py-libp2p that its public API does not give: the host and GossipSub
settings, and every monkey-patch of or call into py-libp2p's private parts, each with its reason.

All of it targets py-libp2p ``LIBP2P_VERSION`` (pinned exactly in pyproject.toml);
``tests/net/test_net_compat.py`` fails as soon as another version is installed, so that an upgrade
re-examines each item: a workaround may have become unnecessary, or wrong. The figures quoted come
from the measurements in ``shared/research/libp2p.md`` (2 cores, loopback).

* ``host``: identity, Noise only, yamux, no automatic dialling, the swarm's connection table, its
  60 s negative dial cache, its shutdown, its shared (SO_REUSEPORT) listening port.
* ``gossip``: GossipSub settings, queue sizes patched into module globals, a guard against
  non-protobuf RPCs, bans applied to gossip in both directions, the publisher's back-pressure.
* ``inbound``: connection caps before the handshake, banned peers refused right after it.
* ``records``: the signed peer record GossipSub sends and checks with every RPC, kept once;
  yamux window updates batched instead of one per read;
* ``window``: yamux credit returned once half the window is consumed (go-yamux's rule), and its
  ``PY_YAMUX_*`` settings read once per process.

No other module of Tally imports py-libp2p internals; the rest of ``node.net`` uses its public API.
"""

from node.net.compat.gossip import (
    add_topic_validator,
    gate_gossip_peers,
    gossip_backlog,
    gossip_services,
    guard_pubsub_streams,
    new_gossip,
)
from node.net.compat.host import (
    check_port_free,
    close_quietly,
    close_swarm,
    disconnect,
    forget_failed_dial,
    is_connected,
    new_tally_host,
    quiet_libp2p,
    reset_quietly,
)
from node.net.compat.inbound import InboundGate, gate_inbound

LIBP2P_VERSION = "0.8.1"

__all__ = [
    "LIBP2P_VERSION",
    "InboundGate",
    "add_topic_validator",
    "check_port_free",
    "close_quietly",
    "close_swarm",
    "disconnect",
    "forget_failed_dial",
    "gate_gossip_peers",
    "gate_inbound",
    "gossip_backlog",
    "gossip_services",
    "guard_pubsub_streams",
    "is_connected",
    "new_gossip",
    "new_tally_host",
    "quiet_libp2p",
    "reset_quietly",
]
