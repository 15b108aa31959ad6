"""Direct frames (``/tally/frame/1.0.0``): one long-lived stream per peer and direction.

SCP envelopes and ledger-closed announcements go here: a direct frame costs far less CPU than a
gossip message. Each peer has a bounded send queue drained by its own task, which coalesces queued
frames into one write; sending never blocks the caller (a full queue drops, with a metric), so one
stalled peer cannot hold up the others. Frames are length-prefixed and capped (node.net.framing).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import TYPE_CHECKING

import trio
from libp2p.abc import IHost, INetStream
from libp2p.peer.id import ID

from node.logs import log
from node.net import compat
from node.net.framing import FrameError, FrameReader, encode_frame
from node.net.guard import PeerGuard
from node.net.handlers import NetHandlers
from node.net.netmetrics import NetMetrics
from node.net.peerbook import StreamKind
from node.net.settings import FRAME_PROTOCOL

if TYPE_CHECKING:
    from trio_typing import TaskStatus  # trio-typing's stubs shadow trio's own TaskStatus

logger = logging.getLogger("tally.net")

STREAM_OPEN_TIMEOUT = 10.0
FRAME_WRITE_TIMEOUT = 10.0  # a write stuck this long (peer not reading) resets the stream
PEER_SEND_QUEUE = 1024  # frames waiting for one peer; more are dropped (never blocks)
WRITE_BATCH_BYTES = 256 * 1024  # queued frames for one peer are coalesced into one write


class _Link:
    """Outbound direct frames to one peer: a bounded queue and the lazily opened stream."""

    __slots__ = ("peer", "peer_id", "receive", "send", "stream")

    def __init__(self, peer_id: ID, peer: str) -> None:
        self.peer_id = peer_id
        self.peer = peer
        self.send, self.receive = trio.open_memory_channel[bytes](PEER_SEND_QUEUE)
        self.stream: INetStream | None = None


class Links:
    """Frames out to peers (queues and sender tasks) and frames in from them (stream handler)."""

    def __init__(self, host: IHost, max_frame: int, guard: PeerGuard, metrics: NetMetrics) -> None:
        self._host = host
        self._max_frame = max_frame
        self._handlers: NetHandlers | None = None  # while serving
        self._guard = guard
        self._metrics = metrics
        self._links: dict[ID, _Link] = {}
        self._nursery: trio.Nursery | None = None
        host.set_stream_handler(FRAME_PROTOCOL, guard.stream_handler(StreamKind.FRAME, self._receive))

    async def serve(
        self, handlers: NetHandlers, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Hand inbound frames to ``handlers`` and run the sender tasks until cancelled; frames
        sent before or after are dropped."""
        self._handlers = handlers
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = self._handlers = None
            for link in list(self._links.values()):
                link.send.close()
            self._links.clear()

    def broadcast(self, frame: bytes, *, exclude: Collection[str] = ()) -> None:
        """Queue ``frame`` for every connected peer (never blocks)."""
        for peer_id in self._host.get_connected_peers():
            peer = peer_id.to_base58()
            if peer not in exclude:
                self._enqueue(peer_id, peer, frame)

    def send(self, peer: str, frame: bytes) -> None:
        """Queue ``frame`` for one peer (never blocks; dropped with a metric if not connected)."""
        try:
            peer_id = ID.from_base58(peer)
        except Exception:
            self._metrics.dropped.labels(type="frame", reason="bad_peer_id").inc()
            return
        self._enqueue(peer_id, peer, frame)

    def close(self, peer_id: ID) -> None:
        """Stop sending to a peer that disconnected or was banned (queued frames are dropped)."""
        link = self._links.pop(peer_id, None)
        if link is not None:
            link.send.close()

    def _dropped(self, reason: str, count: int = 1) -> None:
        self._metrics.dropped.labels(type="frame", reason=reason).inc(count)

    def _enqueue(self, peer_id: ID, peer: str, frame: bytes) -> None:
        if not self._guard.allowed(peer):
            self._dropped("filtered_out")
            return
        if len(frame) > self._max_frame or not frame:
            self._dropped("oversize" if frame else "empty")
            return
        if self._nursery is None or not compat.is_connected(self._host, peer_id):
            self._dropped("not_connected")
            return
        link = self._links.get(peer_id)
        if link is None:
            link = self._links[peer_id] = _Link(peer_id, peer)
            self._nursery.start_soon(self._sender, link)
        try:
            link.send.send_nowait(frame)
        except trio.WouldBlock:
            self._dropped("queue_full")
        except trio.ClosedResourceError:
            self._dropped("not_connected")

    async def _sender(self, link: _Link) -> None:
        try:
            async with link.receive:
                async for frame in link.receive:
                    batch = [frame]
                    size = len(frame)
                    while size < WRITE_BATCH_BYTES:
                        try:
                            more = link.receive.receive_nowait()
                        except (trio.WouldBlock, trio.EndOfChannel):
                            break
                        batch.append(more)
                        size += len(more)
                    await self._write(link, batch)
        finally:
            if self._links.get(link.peer_id) is link:
                del self._links[link.peer_id]
            if link.stream is not None:
                await compat.reset_quietly(link.stream)

    async def _write(self, link: _Link, frames: list[bytes]) -> None:
        data = b"".join(encode_frame(f) for f in frames)
        for attempt in (1, 2):  # a stream that failed is reopened once for the same frames
            if not compat.is_connected(self._host, link.peer_id) or not self._guard.allowed(link.peer):
                break
            try:
                if link.stream is None:
                    with trio.fail_after(STREAM_OPEN_TIMEOUT):
                        link.stream = await self._host.new_stream(link.peer_id, [FRAME_PROTOCOL])
                with trio.fail_after(FRAME_WRITE_TIMEOUT):
                    await link.stream.write(data)
            except Exception as exc:
                log(
                    logger,
                    logging.DEBUG,
                    "frame stream failed",
                    peer=link.peer,
                    attempt=attempt,
                    error=repr(exc),
                )
                if link.stream is not None:
                    await compat.reset_quietly(link.stream)
                    link.stream = None
                continue
            self._metrics.messages_out.labels(type="frame").inc(len(frames))
            self._metrics.bytes_out.labels(type="frame").inc(len(data))
            return
        self._dropped("send_failed", len(frames))

    async def _receive(self, stream: INetStream, peer: str) -> None:
        if self._guard.banned(peer):
            await compat.reset_quietly(stream)
            return
        reader = FrameReader(stream)
        try:
            while True:
                try:
                    frame = await reader.next_frame(self._max_frame)
                except EOFError:
                    break
                await self._deliver(frame, peer)
            await compat.close_quietly(stream)
        except FrameError as exc:
            self._guard.bad_input(peer, f"frame_{exc.reason}", exc)
            await compat.reset_quietly(stream)
        except Exception as exc:  # stream reset, connection lost
            log(logger, logging.DEBUG, "frame stream ended", peer=peer, error=repr(exc))
            await compat.reset_quietly(stream)

    async def _deliver(self, frame: bytes, peer: str) -> None:
        if self._handlers is None:
            self._dropped("not_serving")
            return
        if not self._guard.allowed(peer):
            self._dropped("filtered_in")
            return
        self._metrics.messages_in.labels(type="frame").inc()
        self._metrics.bytes_in.labels(type="frame").inc(len(frame))
        try:
            await self._handlers.on_frame(frame, peer)
        except Exception as exc:  # the node's bug, not the peer's fault
            log(logger, logging.ERROR, "frame handler failed", peer=peer, error=repr(exc))
