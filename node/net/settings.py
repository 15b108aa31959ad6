"""The network's configuration and the protocol names and limits its parts share."""

from __future__ import annotations

from dataclasses import dataclass

from libp2p.custom_types import TProtocol

from node.net.peerbook import MAX_INBOUND_CONNECTIONS, MAX_INBOUND_PER_IP

FRAME_PROTOCOL = TProtocol("/tally/frame/1.0.0")
REQUEST_PROTOCOL = TProtocol("/tally/req/1.0.0")

MAX_FRAME_DEFAULT = 8 * 1024 * 1024
REQUEST_RATE_PER_S = 100.0  # requests one peer may make per second (sustained) ...
REQUEST_BURST = 400.0  # ... and in a burst; beyond that it is answered "rate limited"


@dataclass(frozen=True)
class NetConfig:
    seed: bytes  # 32-byte Ed25519 seed: the validator key is the peer identity
    listen: str = "/ip4/127.0.0.1/tcp/0"
    bootstrap: tuple[str, ...] = ()  # full multiaddrs ending in /p2p/<peer id>
    announce: tuple[str, ...] = ()  # where others reach us (no /p2p/); empty: from the listen address
    topic: str = "tally/txs"  # the caller passes tally/txs/<network hex prefix>
    board_topic: str = "tally/board"  # the board's listings (off-ledger); tally/board/<network hex prefix>
    max_frame: int = MAX_FRAME_DEFAULT
    request_rate: float = REQUEST_RATE_PER_S  # per-peer request limit (token bucket)
    request_burst: float = REQUEST_BURST
    max_request: int = MAX_FRAME_DEFAULT  # cap on an inbound request frame (the node's are tiny)
    max_inbound: int = MAX_INBOUND_CONNECTIONS  # inbound connections at once, handshakes included
    max_inbound_per_ip: int = MAX_INBOUND_PER_IP  # ... of which from one remote IP address
