"""Drives an ASGI app's streaming response directly: httpx's ASGI transport waits for the whole
body, which an event stream never finishes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import trio
from starlette.types import ASGIApp, Message

WAIT_S = 30.0


@dataclass
class SseEvent:
    id: str | None
    event: str
    data: Any


@dataclass
class Stream:
    status: int
    headers: dict[str, str]
    messages: trio.MemoryReceiveChannel[Message]
    gone: trio.Event
    finished: trio.Event
    buffer: str = ""
    comments: list[str] = field(default_factory=list)

    async def next_event(self) -> SseEvent:
        """The next event (comments are collected on the side)."""
        with trio.fail_after(WAIT_S):
            while "\n\n" not in self.buffer:
                message = await self.messages.receive()
                self.buffer += message.get("body", b"").decode()
            block, self.buffer = self.buffer.split("\n\n", 1)
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        if "data" not in fields:
            return await self.next_event()
        return SseEvent(fields.get("id"), fields.get("event", "message"), json.loads(fields["data"]))

    async def next_comment(self) -> str:
        with trio.fail_after(WAIT_S):
            while not self.comments:
                message = await self.messages.receive()
                self.buffer += message.get("body", b"").decode()
                while "\n\n" in self.buffer:
                    block, self.buffer = self.buffer.split("\n\n", 1)
                    self.comments += [line[1:].strip() for line in block.split("\n") if line.startswith(":")]
        return self.comments.pop(0)

    async def close(self) -> None:
        """The client goes away; returns once the app's handler has ended."""
        self.gone.set()
        with trio.fail_after(WAIT_S):
            await self.finished.wait()


async def open_stream(
    nursery: trio.Nursery,
    app: ASGIApp,
    url: str,
    headers: dict[str, str] | None = None,
    client: str = "127.0.0.1",
) -> Stream:
    parts = urlsplit(url)
    send_channel, receive_channel = trio.open_memory_channel[Message](1000)
    gone, finished = trio.Event(), trio.Event()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": parts.path,
        "raw_path": parts.path.encode(),
        "query_string": parts.query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": (client, 50000),
        "server": ("node", 80),
    }
    requested = False

    async def receive() -> Message:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        await send_channel.send(message)

    async def run() -> None:
        try:
            await app(scope, receive, send)
        finally:
            finished.set()

    nursery.start_soon(run)
    with trio.fail_after(WAIT_S):
        start = await receive_channel.receive()
    assert start["type"] == "http.response.start", start
    found = {k.decode(): v.decode() for k, v in start["headers"]}
    return Stream(start["status"], found, receive_channel, gone, finished)


async def read_body(stream: Stream) -> bytes:
    """The whole body of a response that ends (an error answer)."""
    body = b""
    with trio.fail_after(WAIT_S):
        while True:
            message = await stream.messages.receive()
            body += bytes(message.get("body", b""))
            if not message.get("more_body"):
                return body
