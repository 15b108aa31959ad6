"""GossipSub for tx batches: settings, the queue sizes py-libp2p hides in module globals, and the
wrappers that keep a malformed or banned peer from harming the node.

Targets py-libp2p 0.8.1 (``node.net.compat.LIBP2P_VERSION``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

from libp2p.abc import IHost, INetStream
from libp2p.peer.id import ID
from libp2p.pubsub import pubsub as pubsub_module
from libp2p.pubsub.gossipsub import PROTOCOL_ID as MESHSUB_V10
from libp2p.pubsub.gossipsub import PROTOCOL_ID_V11 as MESHSUB_V11
from libp2p.pubsub.gossipsub import GossipSub
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.pubsub import Pubsub
from libp2p.pubsub.rpc_queue import RpcQueue
from libp2p.tools.anyio_service import background_trio_service

from node.net.compat import records
from node.net.compat.host import reset_quietly

# GossipSub queue sizes (process-wide: py-libp2p creates these objects internally).
RPC_QUEUE_SIZE = 4096  # default 32 RPCs per peer, dropped silently when full
SUBSCRIPTION_CHANNEL_SIZE = 1024  # default 32 messages, dropped with a raw stderr warning
GOSSIP_RPC_OVERHEAD = 64 * 1024  # room around a tx batch of max_frame bytes in one pubsub RPC

GossipValidator = Callable[[ID, rpc_pb2.Message], Awaitable[bool]]


_tuned_max_message = 0


def tune_pubsub_globals(max_frame: int) -> None:
    """py-libp2p builds each peer's outbound RpcQueue and each subscription channel itself, from
    module globals, so their sizes can only be changed there (process-wide, idempotent).

    * RpcQueue(max_size=32) drops RPCs silently when a peer's queue is full: at ~50 msg/s a burst
      of batches would vanish. 4096 plus pacing in our publisher (``gossip_backlog``) avoids that.
    * RpcQueue.max_message_size=1 MiB drops larger messages on the *sender*, silently; a tx batch
      may be up to max_frame.
    * The subscription channel (32) drops with a stderr warning while our drain task is busy.
    """
    global _tuned_max_message
    limit = max(max_frame + GOSSIP_RPC_OVERHEAD, _tuned_max_message)
    if limit != _tuned_max_message:
        tuned_queue = functools.partial(RpcQueue, max_size=RPC_QUEUE_SIZE, max_message_size=limit)
        setattr(pubsub_module, "RpcQueue", tuned_queue)  # noqa: B010 - patching a module global on purpose
        _tuned_max_message = limit
    setattr(pubsub_module, "SUBSCRIPTION_CHANNEL_SIZE", SUBSCRIPTION_CHANNEL_SIZE)  # noqa: B010


def _content_message_id(msg: rpc_pb2.Message) -> bytes:
    # Dedupe by content: the same batch published by two nodes is delivered once (the default id,
    # from_id + seqno, would deliver it twice). Note: identical content re-published within
    # Pubsub.seen_ttl (120 s) is dropped as already seen.
    return hashlib.sha256(msg.data).digest()


def new_gossip(
    host: IHost, topic: str, max_frame: int, validator: GossipValidator
) -> tuple[Pubsub, GossipSub]:
    """GossipSub on ``host`` with ``validator`` on ``topic``, tuned for batches of transactions."""
    tune_pubsub_globals(max_frame)
    records.install()
    router = GossipSub(
        # meshsub 1.2 sends an IDONTWANT RPC per message to every mesh peer with no size
        # threshold: 2.5-3x the CPU. 1.1 is what we measured as usable.
        protocols=[MESHSUB_V11, MESHSUB_V10],
        degree=6,
        degree_low=4,
        degree_high=12,
        # Default 120 s: mesh repair and IHAVE gossip would take minutes.
        heartbeat_interval=1,
        heartbeat_initial_delay=0.1,
        # Default on: forwards at most 10 msg/s per peer per topic, silently dropping the rest.
        # Invalid batches are handled by our validator and peer scoring instead.
        spam_protection_enabled=False,
        # Default on: after 30 s on a small network it silently raises the heartbeat to 30-60 s.
        adaptive_gossip_enabled=False,
        # Default on: wants >= 3 distinct IPs in the mesh; validators may share few hosts
        # (and tests run on loopback), so it would only churn the mesh.
        eclipse_protection_enabled=False,
    )
    pubsub = Pubsub(
        host,
        router,
        msg_id_constructor=_content_message_id,
        # Kept on although transactions carry their own signatures: pubsub marks a message seen
        # *before* dropping one that claims to come from us, so without origin signatures a peer
        # could censor a batch to us by first relaying it with our id forged as its origin.
        strict_signing=True,
        # Rejections are cached per message id; with content ids a batch rejected once (e.g. it
        # arrived before its parent txs) would stay rejected for the default 300 s.
        validation_cache_ttl=5,
        # Under CPU saturation a validator timing out turns into a silent rejection; checking a
        # large batch of signatures may take a while on a loaded machine.
        validation_timeout=30.0,
        # Default 1 MiB: larger batches would be dropped on receive.
        max_inbound_rpc_size=max_frame + GOSSIP_RPC_OVERHEAD,
    )
    # py-libp2p validators answer yes or no only (see node.net.handlers.GossipVerdict).
    pubsub.set_topic_validator(topic, validator, True)
    return pubsub, router


def add_topic_validator(pubsub: Pubsub, topic: str, validator: GossipValidator) -> None:
    """A second topic on the same pubsub (the board's), with its own validator."""
    pubsub.set_topic_validator(topic, validator, True)


@contextlib.asynccontextmanager
async def gossip_services(pubsub: Pubsub, router: GossipSub) -> AsyncIterator[None]:
    """Run the pubsub services. Enter this *outside* ``host.run()``, so that on exit the
    connections close first: the other nesting intermittently raised "RuntimeError: Nursery is
    closed to new arrivals" when peers still had gossip in flight (3 of 10 runs)."""
    async with background_trio_service(pubsub), background_trio_service(router):
        yield


def guard_pubsub_streams(
    host: IHost, pubsub: Pubsub, router: GossipSub, on_malformed: Callable[[str, Exception], None]
) -> None:
    """py-libp2p's pubsub stream handler lets a protobuf DecodeError (an RPC that is not protobuf)
    escape, which takes the whole host down: any peer could crash the node. Wrap it: the peer is
    reported to ``on_malformed``, its stream reset and it is dropped from pubsub's peer table
    (private ``_handle_dead_peer``, as pubsub itself does when a stream ends)."""

    async def guarded(stream: INetStream) -> None:
        try:
            await pubsub.stream_handler(stream)
        except Exception as exc:
            peer_id = stream.muxed_conn.peer_id
            on_malformed(peer_id.to_base58(), exc)
            await reset_quietly(stream)
            with contextlib.suppress(Exception):
                pubsub._handle_dead_peer(peer_id)

    for protocol in router.get_protocols():
        host.set_stream_handler(protocol, guarded)


def gate_gossip_peers(
    pubsub: Pubsub,
    router: GossipSub,
    own_id: ID,
    allowed: Callable[[str], bool],
    on_dropped: Callable[[], None],
    hears_directly: Callable[[str, str], bool] = lambda peer, origin: False,
) -> None:
    """Apply bans (and the test partition filter) to gossip: drop an inbound message forwarded by
    a disallowed peer before pubsub marks it seen or validates it (so the same message can still
    arrive through an allowed peer), and never send to a disallowed peer. py-libp2p has no hook for
    either, so this wraps ``Pubsub.push_msg`` and the router's private ``_get_peers_to_send``.

    The same wrapper sends a batch the way statements are flooded (``node.flood``): our own batches
    go to every peer on the topic, not only our mesh (GossipSub 1.1's flood publishing, which
    py-libp2p lacks), and a batch we relay skips each peer that told us it is connected to the
    batch's origin (``hears_directly(peer, origin)``, peer ids), since the origin sent it to that
    peer itself. In a full mesh of 4 validators each batch then crosses each link once instead of
    reaching every validator three times. A stale neighbour list costs at worst a batch a peer
    misses; the transactions it needs reach it with the tx set a statement names."""
    original_push = pubsub.push_msg
    original_peers = router._get_peers_to_send

    async def push_msg(msg_forwarder: ID, msg: rpc_pb2.Message) -> None:
        if msg_forwarder != own_id and not allowed(msg_forwarder.to_base58()):
            on_dropped()
            return
        await original_push(msg_forwarder, msg)

    def get_peers_to_send(
        topic_ids: Iterable[str], msg_forwarder: ID, origin: ID, msg_id: bytes | None = None
    ) -> Iterable[ID]:
        chosen = set(original_peers(topic_ids, msg_forwarder=msg_forwarder, origin=origin, msg_id=msg_id))
        if origin == own_id:
            for topic in topic_ids:
                chosen.update(pubsub.peer_topics.get(topic, ()))
            chosen.discard(own_id)
        else:
            source = origin.to_base58()
            chosen = {p for p in chosen if not hears_directly(p.to_base58(), source)}
        return [p for p in chosen if allowed(p.to_base58())]

    setattr(pubsub, "push_msg", push_msg)  # noqa: B010
    setattr(router, "_get_peers_to_send", get_peers_to_send)  # noqa: B010


def gossip_backlog(pubsub: Pubsub) -> int:
    """The longest outbound RPC queue to any peer. ``publish()`` never blocks and the queues drop
    when full, so the publisher paces itself on this (py-libp2p offers no "drained" event)."""
    return max((len(q) for q in pubsub.peer_queues.values()), default=0)
