"""``GET /events``: Server-Sent Events of closed ledgers and of an account's or a currency's
transactions, read from the ledger store as ledgers close.

Every event has the id ``SEQ.POS`` (``node.reads.EventId``). A client that reconnects with
``Last-Event-ID`` (browsers' EventSource do this by themselves) or ``?last_event_id=`` gets what it
missed replayed from the store, at most ``max_replay_ledgers`` back; from further back it gets one
``gap`` event naming the ledgers it skipped. A comment line every ``keepalive_s`` keeps proxies from
closing an idle stream and lets the server notice a client that went away. Streams are capped per
client and per node, because each holds a connection open.

A stream ends by itself after ``max_duration_s``, before the HTTP server's read timeout would cut
the connection of a client that never speaks (which an EventSource never does): its last line is
an ``id:`` with no data, which moves the client's Last-Event-ID to where the stream stopped, so the
reconnection ``retry_ms`` later resumes exactly there and nothing is lost. Every keep-alive carries
that ``id:`` too, so even a cut connection resumes at the right place.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

import trio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from node.api.errors import ApiError, error_response
from node.api.explorer import ExplorerNode, Wrap, currency_or_error
from node.api.params import address, client_source
from node.api.views import ledger_summary_json, tx_record_json
from node.logs import log
from node.reads import Event, EventFilter, EventId, EventKind, LedgerReads

logger = logging.getLogger("tally.api")


@dataclass(frozen=True, slots=True)
class StreamLimits:
    per_client: int = 4  # open streams from one client address
    per_node: int = 64  # open streams in all
    keepalive_s: float = 10.0
    max_duration_s: float = 60.0  # then the stream ends cleanly and the client reconnects
    max_replay_ledgers: int = 1_000  # how far back Last-Event-ID may resume
    ledgers_per_step: int = 50  # ledgers read between two checkpoints while catching up
    retry_ms: int = 500  # the reconnection delay suggested to EventSource


class StreamSlots:
    """Counts open streams; one slot per stream, released however the stream ends."""

    def __init__(self, limits: StreamLimits) -> None:
        self.limits = limits
        self.by_client: Counter[str] = Counter()

    @property
    def total(self) -> int:
        return sum(self.by_client.values())

    def acquire(self, client: str) -> bool:
        if self.total >= self.limits.per_node or self.by_client[client] >= self.limits.per_client:
            return False
        self.by_client[client] += 1
        return True

    def release(self, client: str) -> None:
        self.by_client[client] -= 1
        if self.by_client[client] <= 0:
            del self.by_client[client]


def event_routes(
    node: ExplorerNode, wrap: Wrap, limits: StreamLimits | None = None, *, read_timeout_s: float | None = None
) -> list[Route]:
    """``read_timeout_s``: the HTTP server's; streams end (and resume) well before it."""
    limits = limits or StreamLimits()
    if read_timeout_s is not None:
        limits = replace(limits, max_duration_s=min(limits.max_duration_s, read_timeout_s * 0.75))
    slots = StreamSlots(limits)
    reads = node.reads

    async def events(request: Request) -> Response:
        wanted = _filter(request, reads)
        resume = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
        after = None
        if resume is not None:
            after = EventId.parse(resume)
            if after is None:
                raise ApiError(
                    400, "bad_request", "Last-Event-ID must be an event id (SEQ.POS) from this stream"
                )
        client = client_source(request)
        return EventStream(reads, wanted, after, slots, client)

    return [Route("/events", wrap(events), methods=["GET"])]


def _filter(request: Request, reads: LedgerReads) -> EventFilter:
    query = request.query_params
    ledgers_text = query.get("ledgers", "0")
    if ledgers_text not in ("0", "1"):
        raise ApiError(400, "bad_request", "?ledgers must be 1 (stream closed ledgers) or 0")
    account = query.get("account")
    currency = query.get("currency")
    wanted = EventFilter(
        ledgers=ledgers_text == "1",
        account=None if account is None else address(account),
        currency=None if currency is None else currency_or_error(reads, currency).code,
    )
    if not (wanted.ledgers or wanted.account or wanted.currency):
        raise ApiError(
            400, "bad_request", "choose what to stream: ?ledgers=1, ?account=ADDRESS and/or ?currency=CODE"
        )
    return wanted


class EventStream(Response):
    """The streaming response: takes a slot, writes events until the client leaves."""

    media_type = "text/event-stream"

    def __init__(
        self, reads: LedgerReads, wanted: EventFilter, after: EventId | None, slots: StreamSlots, client: str
    ) -> None:
        # Like starlette's StreamingResponse: no body attribute, so no Content-Length is declared.
        self.status_code = 200
        self.background = None
        self.init_headers({"cache-control": "no-cache", "x-accel-buffering": "no"})
        self.reads, self.wanted, self.after = reads, wanted, after
        self.slots, self.client = slots, client
        self.limits = slots.limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.slots.acquire(self.client):
            refusal = error_response(
                429,
                "too_many_streams",
                f"at most {self.limits.per_client} event streams per client and "
                f"{self.limits.per_node} per node; close one first",
                retry_after=self.limits.keepalive_s,
            )
            await refusal(scope, receive, send)
            return
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_cancel_on_disconnect, receive, nursery.cancel_scope)
                with contextlib.suppress(OSError):  # the server could not write: the client is gone
                    await self._stream(send)
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                nursery.cancel_scope.cancel()
        except Exception:  # a bug ends this stream, never the node
            logger.exception("event stream failed")
        finally:
            self.slots.release(self.client)
            log(logger, logging.DEBUG, "event stream closed", client=self.client)

    async def _stream(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await _write(send, f"retry: {self.limits.retry_ms}\n\n")
        cursor = self._start()
        if cursor.seq < self.reads.last.seq - self.limits.max_replay_ledgers:
            resumed = EventId(self.reads.last.seq - self.limits.max_replay_ledgers, EventId.END)
            await _write(send, _encode(Event(resumed, EventKind.GAP, skipped=(cursor.seq + 1, resumed.seq))))
            cursor = resumed
        deadline = trio.current_time() + self.limits.max_duration_s
        while (left := deadline - trio.current_time()) > 0:
            last = self.reads.last.seq
            first = cursor.seq if cursor.pos < EventId.END else cursor.seq + 1
            if first <= last:
                for seq in range(first, min(last, first + self.limits.ledgers_per_step - 1) + 1):
                    for event in self.reads.events_in(seq, self.wanted):
                        if event.id > cursor:
                            await _write(send, _encode(event))
                    cursor = EventId(seq, EventId.END)
                await trio.lowlevel.checkpoint()
            elif not await self.reads.wait_for_ledger_after(cursor.seq, min(self.limits.keepalive_s, left)):
                await _write(send, f": keep-alive\nid: {cursor}\n\n")
        await _write(send, f"id: {cursor}\n\n")  # resume here (see the module's docstring)

    def _start(self) -> EventId:
        """Resume after the client's last event, or start with the next ledger to close."""
        last = self.reads.last.seq
        if self.after is None or self.after.seq > last:
            return EventId(last, EventId.END)
        return self.after


async def _cancel_on_disconnect(receive: Receive, scope: trio.CancelScope) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()


async def _write(send: Send, text: str) -> None:
    await send({"type": "http.response.body", "body": text.encode(), "more_body": True})


def _encode(event: Event) -> str:
    data: dict[str, Any]
    if event.kind is EventKind.LEDGER and event.ledger is not None:
        data = ledger_summary_json(event.ledger)
    elif event.kind is EventKind.TX and event.tx is not None:
        data = tx_record_json(event.tx)
    else:
        first, last = event.skipped or (0, 0)
        data = {"from": first, "to": last, "message": "these ledgers were not replayed; reload the page"}
    return f"id: {event.id}\nevent: {event.kind.value}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
