"""Reading the node's event stream (``GET /events``, Server-Sent Events) line by line.

The stream's format is the W3C one: ``field: value`` lines, an event ends at a blank line, ``data``
lines join with newlines, lines starting with ``:`` are comments (the node's keep-alives). A block
with an ``id`` and no data still moves the place to resume from (the node ends each stream with one),
so it is passed on as an event of type ``"id"``. Lines
are bounded (``MAX_LINE``) so a misbehaving server cannot make the wallet hold an endless line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from wallet.errors import BadResponse

MAX_LINE = 256 * 1024
MAX_EVENT = 1024 * 1024


@dataclass(frozen=True, slots=True)
class SseEvent:
    id: str | None  # the event id to resume after (Last-Event-ID)
    event: str  # the event type ("tx", "ledger", "gap"; "message" when unnamed)
    data: str


def parse_sse(lines: Iterable[str]) -> Iterator[SseEvent]:
    """The events of a stream given as lines without their line ends.

    Raises:
        BadResponse: a line or an event over its size bound.
    """
    event, last_id, size, saw_id = "message", None, 0, False
    data: list[str] = []
    for line in lines:
        if len(line) > MAX_LINE:
            raise BadResponse(f"the event stream sent a line of {len(line)} characters")
        if not line:
            if data:
                yield SseEvent(last_id, event, "\n".join(data))
            elif saw_id:
                yield SseEvent(last_id, "id", "")
            event, data, size, saw_id = "message", [], 0, False
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            size += len(value)
            if size > MAX_EVENT:
                raise BadResponse("the event stream sent an event over 1 MiB")
            data.append(value)
        elif name == "event":
            event = value
        elif name == "id" and "\x00" not in value:
            last_id, saw_id = value, True
