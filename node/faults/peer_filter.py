"""Partitions on command: a peer filter around the node's transport and its handlers (the admin
action ``peer-filter``).

Frames, requests and gossip to or from a blocked peer are dropped both ways — outgoing ones by
``FilteredTransport``, incoming ones by ``FilteredHandlers`` — while the connections stay up, so a
heal takes effect at once. A blocked peer's gossip is ``GossipVerdict.IGNORE``: not relayed and
never held against it (it did nothing wrong; the network decides what an ignored batch means for
copies of it from other peers). One limit: gossip this node publishes or relays still reaches a
blocked peer (the network's pubsub offers no per-peer hook outside ``node.net``), so a test cuts
a partition on both sides, as ``tests/reliability`` does.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

from node.errors import NetError, NodeError
from node.logs import log
from node.net.handlers import GossipVerdict, NetHandlers
from node.transport import Transport

logger = logging.getLogger("tally.faults")


class PeerFilter:
    """The peers this node is cut off from (none at start)."""

    def __init__(self) -> None:
        self.blocked: frozenset[str] = frozenset()

    def allows(self, peer: str) -> bool:
        return peer not in self.blocked


class FilteredTransport:
    """A ``Transport`` that sends nothing to a blocked peer and does not list it as connected."""

    def __init__(self, inner: Transport, peer_filter: PeerFilter) -> None:
        self._inner = inner
        self._filter = peer_filter

    def publish(self, data: bytes) -> None:
        self._inner.publish(data)

    def publish_board(self, data: bytes) -> None:
        self._inner.publish_board(data)

    def broadcast(self, frame: bytes, *, exclude: Collection[str] = ()) -> None:
        self._inner.broadcast(frame, exclude={*exclude, *self._filter.blocked})

    def send(self, peer: str, frame: bytes) -> None:
        if self._filter.allows(peer):
            self._inner.send(peer, frame)
        else:
            log(logger, logging.DEBUG, "frame to a blocked peer dropped", peer=peer)

    async def request(
        self, peer: str, name: str, payload: bytes, *, max_response: int, timeout_s: float = 10.0
    ) -> bytes:
        if not self._filter.allows(peer):
            raise NetError(peer, "filtered", f"{name}: this node is cut off from the peer (test partition)")
        return await self._inner.request(peer, name, payload, max_response=max_response, timeout_s=timeout_s)

    def connected_peers(self) -> list[str]:
        return [p for p in self._inner.connected_peers() if self._filter.allows(p)]

    def peers_info(self) -> list[dict[str, Any]]:
        return [
            info | {"allowed": False} if not self._filter.allows(str(info.get("peer_id"))) else info
            for info in self._inner.peers_info()
        ]

    def penalize(self, peer: str, reason: str) -> None:
        self._inner.penalize(peer, reason)


class FilteredHandlers:
    """``NetHandlers`` that hear nothing from a blocked peer.

    Invariant: answers a blocked peer's gossip without a checkpoint, so no copy of the same batch
    from an allowed peer can be waiting on that verdict (the network shares one verdict between
    copies checked at the same time).
    """

    def __init__(self, inner: NetHandlers, peer_filter: PeerFilter) -> None:
        self._inner = inner
        self._filter = peer_filter

    async def on_tx_batch(self, data: bytes, peer: str) -> GossipVerdict:
        if not self._filter.allows(peer):
            return GossipVerdict.IGNORE
        return await self._inner.on_tx_batch(data, peer)

    async def on_board_batch(self, data: bytes, peer: str) -> GossipVerdict:
        if not self._filter.allows(peer):
            return GossipVerdict.IGNORE
        return await self._inner.on_board_batch(data, peer)

    async def on_frame(self, data: bytes, peer: str) -> None:
        if self._filter.allows(peer):
            await self._inner.on_frame(data, peer)

    async def on_request(self, name: str, payload: bytes, peer: str) -> bytes:
        if not self._filter.allows(peer):
            raise NodeError("filtered: this node is cut off from you (test partition)")
        return await self._inner.on_request(name, payload, peer)
