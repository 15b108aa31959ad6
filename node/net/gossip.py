"""Transaction batches on one GossipSub topic: the publish queue and its pacing, and validation.

Best effort by design: one gossip message costs ~15 ms of CPU across a 4-node mesh, so many
transactions share one batch, and anything that must arrive is pulled with a request instead. The
node's ``on_tx_batch`` is the topic validator: its ``GossipVerdict`` decides, before the batch is
relayed, whether it goes on (``ACCEPT``), stops quietly (``IGNORE``) or stops and costs its
forwarder (``REJECT``).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import trio
from libp2p.abc import IHost
from libp2p.peer.id import ID
from libp2p.pubsub.pb import rpc_pb2

from node.logs import log
from node.net import compat
from node.net.guard import PeerGuard
from node.net.handlers import GossipVerdict, NetHandlers
from node.net.netmetrics import NetMetrics

if TYPE_CHECKING:
    from trio_typing import TaskStatus  # trio-typing's stubs shadow trio's own TaskStatus

logger = logging.getLogger("tally.net")

PUBLISH_QUEUE = 1024  # tx batches waiting to be published on gossip
GOSSIP_PACE_HIGH = 256  # wait before publishing while a peer's gossip queue is this long
GOSSIP_PACE_MAX_WAIT = 2.0  # ... but never longer than this (a dead peer must not stall us)
GOSSIP_PACE_POLL = 0.002  # seconds between looks at the queues while pacing


class Gossip:
    """Our membership of the tx-batch topic: publishes, paces, validates."""

    def __init__(
        self,
        host: IHost,
        topic: str,
        max_frame: int,
        guard: PeerGuard,
        metrics: NetMetrics,
    ) -> None:
        self.topic = topic
        self._max_frame = max_frame
        self._handlers: NetHandlers | None = None  # while serving
        self._guard = guard
        self._metrics = metrics
        self._own_id: ID = host.get_id()
        self.pubsub, self.router = compat.new_gossip(host, topic, max_frame, self._validate)
        compat.guard_pubsub_streams(
            host, self.pubsub, self.router, lambda peer, exc: guard.bad_input(peer, "gossip_malformed", exc)
        )
        compat.gate_gossip_peers(self.pubsub, self.router, self._own_id, guard.allowed, self._dropped_inbound)
        self._checking: dict[bytes, tuple[trio.Event, list[GossipVerdict]]] = {}
        self._publish_send, self._publish_receive = trio.open_memory_channel[bytes](PUBLISH_QUEUE)

    @contextlib.asynccontextmanager
    async def services(self) -> AsyncIterator[None]:
        """Run pubsub and the router (enter outside ``host.run()``, see compat.gossip_services)."""
        async with compat.gossip_services(self.pubsub, self.router):
            yield

    async def serve(
        self, handlers: NetHandlers, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Join the topic, hand gossiped batches to ``handlers``, publish queued batches; runs
        until cancelled."""
        self._handlers = handlers
        await self.pubsub.wait_until_ready()
        subscription = await self.pubsub.subscribe(self.topic)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._drain, subscription)
            task_status.started()
            await self._publisher()

    async def wait_for_mesh(self, peer_id: ID, timeout_s: float) -> None:
        await self.pubsub.wait_for_mesh(peer_id, self.topic, timeout=timeout_s)

    def publish(self, data: bytes) -> None:
        """Queue a tx batch for GossipSub (never blocks; dropped with a metric if the queue is full)."""
        if len(data) > self._max_frame:
            self._metrics.dropped.labels(type="gossip", reason="oversize").inc()
            log(logger, logging.WARNING, "tx batch too large to gossip", size=len(data))
            return
        try:
            self._publish_send.send_nowait(data)
        except trio.WouldBlock:
            self._metrics.dropped.labels(type="gossip", reason="queue_full").inc()

    async def _publisher(self) -> None:
        async for data in self._publish_receive:
            # publish() never blocks and the per-peer RPC queues drop when full: pace ourselves.
            with trio.move_on_after(GOSSIP_PACE_MAX_WAIT):
                while compat.gossip_backlog(self.pubsub) >= GOSSIP_PACE_HIGH:  # noqa: ASYNC110 - nothing to wait on
                    await trio.sleep(GOSSIP_PACE_POLL)
            try:
                await self.pubsub.publish(self.topic, data)
            except Exception as exc:
                self._metrics.dropped.labels(type="gossip", reason="publish_failed").inc()
                log(logger, logging.WARNING, "gossip publish failed", error=repr(exc))
            else:
                self._metrics.messages_out.labels(type="gossip").inc()
                self._metrics.bytes_out.labels(type="gossip").inc(len(data))

    async def _drain(self, subscription: Any) -> None:
        # Batches are handed to the node by the validator (before relay); the subscription only
        # keeps us in the topic mesh, and must be read or pubsub warns and drops.
        async for _ in subscription:
            pass

    def _dropped_inbound(self) -> None:
        self._metrics.dropped.labels(type="gossip", reason="filtered_in").inc()

    async def _validate(self, forwarder: ID, msg: rpc_pb2.Message) -> bool:
        """The topic validator: the node's verdict, mapped onto py-libp2p's yes or no."""
        if forwarder == self._own_id:
            return True  # our own publish: the node made this batch
        data = bytes(msg.data)
        key = hashlib.sha256(data).digest()
        pending = self._checking.get(key)
        if pending is not None:
            # The same batch from a second peer while the first copy is being checked.
            await pending[0].wait()
            return pending[1][0].relay if pending[1] else False
        done = trio.Event()
        result: list[GossipVerdict] = []
        self._checking[key] = (done, result)
        try:
            verdict = await self._verdict(data, forwarder.to_base58())
            result.append(verdict)
            return verdict.relay
        finally:
            del self._checking[key]
            done.set()

    async def _verdict(self, data: bytes, peer: str) -> GossipVerdict:
        self._metrics.messages_in.labels(type="gossip").inc()
        self._metrics.bytes_in.labels(type="gossip").inc(len(data))
        if self._handlers is None:  # not serving (yet): nobody to judge it
            return GossipVerdict.IGNORE
        try:
            verdict = GossipVerdict(await self._handlers.on_tx_batch(data, peer))
        except Exception as exc:  # the node's bug, not the peer's fault
            log(logger, logging.ERROR, "tx batch handler failed", peer=peer, error=repr(exc))
            return GossipVerdict.IGNORE
        if verdict is GossipVerdict.REJECT:
            self._metrics.invalid("invalid_tx_batch")
            self._guard.penalize(peer, "invalid_tx_batch")
        return verdict
