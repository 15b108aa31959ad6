"""Transaction batches and board listings, each on its own GossipSub topic: the publish queue and
its pacing, and validation.

Best effort by design: one gossip message costs ~15 ms of CPU across a 4-node mesh, so many
transactions share one batch, and anything that must arrive is pulled with a request instead. The
node's ``on_tx_batch`` is the topic validator: its ``GossipVerdict`` decides, before the batch is
relayed, whether it goes on (``ACCEPT``), stops quietly (``IGNORE``) or stops and costs its
forwarder (``REJECT``). The board's listings (off-ledger, ``node.board``) travel on a second
topic with their own caps: a batch over ``protocol.listings.MAX_BATCH_BYTES`` is refused before
the node sees it, and one peer forwards at most ``BOARD_BATCHES_PER_S`` (beyond that its batches
are ignored, not relayed); the node's ``on_board_batch`` gives the verdict.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
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
from node.ratelimit import RateLimiter
from protocol.listings import MAX_BATCH_BYTES as MAX_BOARD_BATCH_BYTES

if TYPE_CHECKING:
    from trio_typing import TaskStatus  # trio-typing's stubs shadow trio's own TaskStatus

logger = logging.getLogger("tally.net")

PUBLISH_QUEUE = 1024  # tx batches waiting to be published on gossip
GOSSIP_PACE_HIGH = 256  # wait before publishing while a peer's gossip queue is this long
GOSSIP_PACE_MAX_WAIT = 2.0  # ... but never longer than this (a dead peer must not stall us)
GOSSIP_PACE_POLL = 0.002  # seconds between looks at the queues while pacing
BOARD_BATCHES_PER_S = 5.0  # board batches one peer may forward (sustained): listings are rare
BOARD_BURST = 50.0


class Gossip:
    """Our membership of the tx-batch and board topics: publishes, paces, validates."""

    def __init__(
        self,
        host: IHost,
        topic: str,
        max_frame: int,
        guard: PeerGuard,
        metrics: NetMetrics,
        *,
        board_topic: str,
    ) -> None:
        self.topic = topic
        self.board_topic = board_topic
        self._max_frame = max_frame
        self._handlers: NetHandlers | None = None  # while serving
        self._guard = guard
        self._metrics = metrics
        self._own_id: ID = host.get_id()
        self.pubsub, self.router = compat.new_gossip(host, topic, max_frame, self._validate)
        compat.add_topic_validator(self.pubsub, board_topic, self._validate_board)
        self._board_rate = RateLimiter(rate=BOARD_BATCHES_PER_S, burst=BOARD_BURST)
        compat.guard_pubsub_streams(
            host, self.pubsub, self.router, lambda peer, exc: guard.bad_input(peer, "gossip_malformed", exc)
        )
        self._hears_directly: Callable[[str, str], bool] = lambda peer, origin: False
        compat.gate_gossip_peers(
            self.pubsub,
            self.router,
            self._own_id,
            guard.allowed,
            self._dropped_inbound,
            lambda peer, origin: self._hears_directly(peer, origin),
        )
        self._checking: dict[tuple[str, bytes], tuple[trio.Event, list[GossipVerdict]]] = {}
        self._publish_send, self._publish_receive = trio.open_memory_channel[tuple[str, bytes]](PUBLISH_QUEUE)

    @contextlib.asynccontextmanager
    async def services(self) -> AsyncIterator[None]:
        """Run pubsub and the router (enter outside ``host.run()``, see compat.gossip_services)."""
        async with compat.gossip_services(self.pubsub, self.router):
            yield

    async def serve(
        self, handlers: NetHandlers, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Join the topics, hand gossiped batches to ``handlers``, publish queued batches; runs
        until cancelled."""
        self._handlers = handlers
        await self.pubsub.wait_until_ready()
        subscriptions = [await self.pubsub.subscribe(t) for t in (self.topic, self.board_topic)]
        async with trio.open_nursery() as nursery:
            for subscription in subscriptions:
                nursery.start_soon(self._drain, subscription)
            task_status.started()
            await self._publisher()

    async def wait_for_mesh(self, peer_id: ID, timeout_s: float) -> None:
        await self.pubsub.wait_for_mesh(peer_id, self.topic, timeout=timeout_s)

    def skip_relays_when(self, hears_directly: Callable[[str, str], bool]) -> None:
        """Relay no batch to a peer that ``hears_directly(peer, origin)`` (see
        ``compat.gate_gossip_peers``); until called, batches are relayed to every mesh peer."""
        self._hears_directly = hears_directly

    def publish(self, data: bytes) -> None:
        """Queue a tx batch for GossipSub (never blocks; dropped with a metric if the queue is full)."""
        if len(data) > self._max_frame:
            self._metrics.dropped.labels(type="gossip", reason="oversize").inc()
            log(logger, logging.WARNING, "tx batch too large to gossip", size=len(data))
            return
        self._queue(self.topic, data)

    def publish_board(self, data: bytes) -> None:
        """Queue a batch of board listings for their topic (never blocks, like ``publish``)."""
        if len(data) > MAX_BOARD_BATCH_BYTES:
            self._metrics.dropped.labels(type="board", reason="oversize").inc()
            return
        self._queue(self.board_topic, data)

    def _queue(self, topic: str, data: bytes) -> None:
        try:
            self._publish_send.send_nowait((topic, data))
        except trio.WouldBlock:
            self._metrics.dropped.labels(type="gossip", reason="queue_full").inc()

    async def _publisher(self) -> None:
        async for topic, data in self._publish_receive:
            # publish() never blocks and the per-peer RPC queues drop when full: pace ourselves.
            with trio.move_on_after(GOSSIP_PACE_MAX_WAIT):
                while compat.gossip_backlog(self.pubsub) >= GOSSIP_PACE_HIGH:  # noqa: ASYNC110 - nothing to wait on
                    await trio.sleep(GOSSIP_PACE_POLL)
            try:
                await self.pubsub.publish(topic, data)
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
        """The tx topic's validator: the node's verdict, mapped onto py-libp2p's yes or no."""
        return await self._judge(self.topic, forwarder, msg)

    async def _validate_board(self, forwarder: ID, msg: rpc_pb2.Message) -> bool:
        """The board topic's validator."""
        return await self._judge(self.board_topic, forwarder, msg)

    async def _judge(self, topic: str, forwarder: ID, msg: rpc_pb2.Message) -> bool:
        if forwarder == self._own_id:
            return True  # our own publish: the node made this batch
        data = bytes(msg.data)
        key = (topic, hashlib.sha256(data).digest())
        pending = self._checking.get(key)
        if pending is not None:
            # The same batch from a second peer while the first copy is being checked.
            await pending[0].wait()
            return pending[1][0].relay if pending[1] else False
        done = trio.Event()
        result: list[GossipVerdict] = []
        self._checking[key] = (done, result)
        try:
            peer = forwarder.to_base58()
            judge = self._verdict if topic == self.topic else self._board_verdict
            verdict = await judge(data, peer)
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
        return await self._ask(self._handlers.on_tx_batch, data, peer, "tx")

    async def _board_verdict(self, data: bytes, peer: str) -> GossipVerdict:
        self._metrics.messages_in.labels(type="board").inc()
        self._metrics.bytes_in.labels(type="board").inc(len(data))
        if len(data) > MAX_BOARD_BATCH_BYTES:
            self._metrics.invalid("oversize_board_batch")
            self._guard.penalize(peer, "oversize_board_batch")
            return GossipVerdict.REJECT
        if self._handlers is None:
            return GossipVerdict.IGNORE
        if not self._board_rate.allow(peer):
            self._metrics.dropped.labels(type="board", reason="rate_limited").inc()
            return GossipVerdict.IGNORE
        return await self._ask(self._handlers.on_board_batch, data, peer, "board")

    async def _ask(
        self, handle: Callable[[bytes, str], Awaitable[GossipVerdict]], data: bytes, peer: str, kind: str
    ) -> GossipVerdict:
        """The node's verdict on a ``kind`` batch; only REJECT costs the forwarder."""
        try:
            verdict = GossipVerdict(await handle(data, peer))
        except Exception as exc:  # the node's bug, not the peer's fault
            log(logger, logging.ERROR, f"{kind} batch handler failed", peer=peer, error=repr(exc))
            return GossipVerdict.IGNORE
        if verdict is GossipVerdict.REJECT:
            self._metrics.invalid(f"invalid_{kind}_batch")
            self._guard.penalize(peer, f"invalid_{kind}_batch")
        return verdict
