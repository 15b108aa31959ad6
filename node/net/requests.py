"""Requests (``/tally/req/1.0.0``): the pull path for anything that must arrive (tx sets, ledgers).

``[name, payload]`` in and ``[ok, payload | error text]`` out, each frame length-prefixed and
capped, one request at a time per stream. Opening a stream costs py-libp2p 3-8 ms of CPU (yamux
SYN, multistream-select), more than most answers, so a stream whose answer was read whole goes
back to a small per-peer pool and carries the next request to that peer; one that fails on reuse
(the peer closed it meanwhile) is reset and replaced by a fresh one, once. The client caps the
answer it will read at the caller's ``max_response``; the server caps inbound request frames at
``max_request``, answers at most ``rate`` requests per second per peer (a burst of ``burst``),
and never lets a handler's exception reach the peer as more than its message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import trio
from libp2p.abc import IHost, INetStream
from libp2p.peer.id import ID

from node.errors import NetError, NodeError
from node.logs import log
from node.net import compat
from node.net.framing import (
    MAX_REQUEST_NAME,
    FrameError,
    FrameReader,
    FrameTooLarge,
    decode_request,
    decode_response,
    encode_frame,
    encode_request,
    encode_response,
)
from node.net.guard import PeerGuard
from node.net.handlers import NetHandlers
from node.net.netmetrics import NetMetrics
from node.net.peerbook import StreamKind
from node.net.settings import REQUEST_PROTOCOL, NetConfig
from node.ratelimit import RateLimiter
from protocol.errors import ProtocolError

if TYPE_CHECKING:
    from trio_typing import TaskStatus  # trio-typing's stubs shadow trio's own TaskStatus

logger = logging.getLogger("tally.net")

RESPONSE_OVERHEAD = 16  # msgpack [true, bin32 header] around a response payload
MAX_ERROR_TEXT = 1000
IDLE_STREAMS_PER_PEER = 4  # request streams kept open for reuse, per peer
IDLE_STREAM_S = 30.0  # an idle stream older than this is closed rather than reused
POOLED_PEERS = 64  # peers whose idle streams are kept


@dataclass
class _IdleStream:
    stream: INetStream
    reader: FrameReader
    since: float  # trio.current_time() when it went idle


class Requests:
    """Both ends of request/response streams."""

    def __init__(self, host: IHost, config: NetConfig, guard: PeerGuard, metrics: NetMetrics) -> None:
        self._host = host
        self._max_frame = config.max_frame
        self._max_request = min(config.max_frame, config.max_request)
        self._handlers: NetHandlers | None = None  # while serving
        self._guard = guard
        self._metrics = metrics
        self._limiter = RateLimiter(config.request_rate, config.request_burst, max_clients=4096)
        self._idle: dict[str, list[_IdleStream]] = {}  # peer -> streams free for its next request
        self._stale: list[INetStream] = []  # idle too long: closed at the next chance
        host.set_stream_handler(REQUEST_PROTOCOL, guard.stream_handler(StreamKind.REQUEST, self._serve))

    # -- client --------------------------------------------------------------------------------

    async def request(
        self, peer: str, name: str, payload: bytes, *, max_response: int, timeout_s: float = 10.0
    ) -> bytes:
        """Ask ``peer``; raise NetError (with .peer and .reason) on any failure."""
        peer_id = self._checked_peer(peer, name)
        request_frame = encode_request(name, payload)
        if len(request_frame) > self._max_frame:
            raise self._failed(peer, "oversize", f"{name}: request of {len(request_frame)} bytes")
        start = trio.current_time()
        stream: INetStream | None = None
        clean = False
        try:
            with trio.fail_after(timeout_s):
                reused = self._take_idle(peer)
                if reused is not None:  # on failure below, `stream` is reset like a fresh one
                    stream, reader = reused.stream, reused.reader
                    try:
                        frame = await self._exchange(stream, reader, request_frame, max_response)
                    except (FrameError, trio.TooSlowError):
                        raise
                    except Exception:  # closed by the peer while idle: a fresh stream, once
                        await compat.reset_quietly(stream)
                        stream = None
                if stream is None:
                    stream = await self._host.new_stream(peer_id, [REQUEST_PROTOCOL])
                    reader = FrameReader(stream)
                    frame = await self._exchange(stream, reader, request_frame, max_response)
            clean = True
            ok, body = decode_response(frame)
        except trio.TooSlowError:
            raise self._failed(peer, "timeout", f"{name}: no answer in {timeout_s} s") from None
        except FrameTooLarge as exc:
            self._guard.penalize(peer, "response_oversize")
            raise self._failed(
                peer, "oversize", f"{name}: response of {exc.size} bytes, limit {max_response}"
            ) from None
        except FrameError as exc:
            self._guard.bad_input(peer, f"response_{exc.reason}", exc)
            raise self._failed(peer, "protocol", f"{name}: {exc}") from None
        except Exception as exc:
            reason = "closed" if stream is not None else "unreachable"
            raise self._failed(peer, reason, f"{name}: {exc!r}") from None
        finally:
            if stream is not None and not clean:
                await compat.reset_quietly(stream)
        assert stream is not None  # clean implies an exchange on a stream
        await self._keep_idle(peer, _IdleStream(stream, reader, trio.current_time()))
        self._metrics.request_seconds.labels(name=name).observe(trio.current_time() - start)
        return self._answer_body(peer, name, ok, body, max_response)

    async def _exchange(
        self, stream: INetStream, reader: FrameReader, request_frame: bytes, max_response: int
    ) -> bytes:
        await stream.write(encode_frame(request_frame))
        return await reader.next_frame(max_response + RESPONSE_OVERHEAD)

    def _take_idle(self, peer: str) -> _IdleStream | None:
        pool = self._idle.get(peer)
        now = trio.current_time()
        while pool:
            idle = pool.pop()
            if now - idle.since <= IDLE_STREAM_S:
                return idle
            self._stale.append(idle.stream)
        return None

    async def _keep_idle(self, peer: str, idle: _IdleStream) -> None:
        """Pool a stream whose answer was read whole; close what the pool cannot keep (beyond
        ``IDLE_STREAMS_PER_PEER``, or of the longest-unused peer beyond ``POOLED_PEERS``)."""
        pool = self._idle.pop(peer, [])
        self._idle[peer] = pool  # most recently used last
        pool.append(idle)
        surplus, self._stale = [*self._stale, *(i.stream for i in pool[:-IDLE_STREAMS_PER_PEER])], []
        del pool[:-IDLE_STREAMS_PER_PEER]
        while len(self._idle) > POOLED_PEERS:
            surplus += [i.stream for i in self._idle.pop(next(iter(self._idle)))]
        for stream in surplus:
            await compat.close_quietly(stream)

    def _checked_peer(self, peer: str, name: str) -> ID:
        try:
            if not name or len(name) > MAX_REQUEST_NAME:
                raise NetError(peer, "protocol", f"bad request name {name!r}")
            if self._guard.banned(peer):
                raise NetError(peer, "banned")
            if not self._guard.allowed(peer):
                raise NetError(peer, "filtered")
        except NetError as exc:
            self._metrics.request_errors.labels(reason=exc.reason).inc()
            raise
        try:
            return ID.from_base58(peer)
        except Exception:
            self._metrics.request_errors.labels(reason="bad_peer_id").inc()
            raise NetError(peer, "unreachable", "not a peer id") from None

    def _answer_body(self, peer: str, name: str, ok: bool, body: object, max_response: int) -> bytes:
        if not ok:
            raise self._failed(peer, "remote", str(body))
        assert isinstance(body, bytes)
        if len(body) > max_response:
            raise self._failed(peer, "oversize", f"{name}: response of {len(body)} bytes")
        self._metrics.messages_in.labels(type="response").inc()
        self._metrics.bytes_in.labels(type="response").inc(len(body))
        return body

    def _failed(self, peer: str, reason: str, detail: str) -> NetError:
        self._metrics.request_errors.labels(reason=reason).inc()
        log(logger, logging.DEBUG, "request failed", peer=peer, reason=reason, detail=detail)
        return NetError(peer, reason, detail)

    # -- server --------------------------------------------------------------------------------

    async def serve(
        self, handlers: NetHandlers, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Answer peers' requests with ``handlers`` until cancelled."""
        self._handlers = handlers
        try:
            task_status.started()
            await trio.sleep_forever()
        finally:
            self._handlers = None

    async def _serve(self, stream: INetStream, peer: str) -> None:
        if self._handlers is None or not self._guard.allowed(peer):
            self._metrics.dropped.labels(type="request", reason="filtered_in").inc()
            await compat.reset_quietly(stream)
            return
        reader = FrameReader(stream)
        try:
            while True:  # several requests may share a stream
                try:
                    frame = await reader.next_frame(self._max_request)
                except EOFError:
                    break
                response = await self._respond(frame, peer)
                await stream.write(encode_frame(response))
                self._metrics.messages_out.labels(type="response").inc()
                self._metrics.bytes_out.labels(type="response").inc(len(response))
            await compat.close_quietly(stream)
        except FrameError as exc:
            self._guard.bad_input(peer, f"request_{exc.reason}", exc)
            await compat.reset_quietly(stream)
        except Exception as exc:
            log(logger, logging.DEBUG, "request stream ended", peer=peer, error=repr(exc))
            await compat.reset_quietly(stream)

    async def _respond(self, frame: bytes, peer: str) -> bytes:
        name, payload = decode_request(frame)
        self._metrics.messages_in.labels(type="request").inc()
        self._metrics.bytes_in.labels(type="request").inc(len(frame))
        if not self._limiter.allow(peer):  # valid but too many: refused cheaply, no penalty
            self._metrics.dropped.labels(type="request", reason="rate_limited").inc()
            return encode_response(False, "rate limited: too many requests from this peer")
        handlers = self._handlers
        if handlers is None:
            return encode_response(False, "not serving")
        try:
            body = await handlers.on_request(name, payload, peer)
        except (NodeError, ProtocolError) as exc:
            return encode_response(False, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_TEXT])
        except Exception as exc:
            log(logger, logging.ERROR, "request handler failed", peer=peer, request=name, error=repr(exc))
            return encode_response(False, "internal error")
        if len(body) + RESPONSE_OVERHEAD > self._max_frame:
            log(logger, logging.ERROR, "response too large", request=name, size=len(body))
            return encode_response(False, "response too large")
        return encode_response(True, bytes(body))
