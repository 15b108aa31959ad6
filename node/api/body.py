"""Reading a request body without letting the client choose how much memory or time it costs.

* The size is judged from ``Content-Length`` before a byte is read (413 at once); a body without
  one, or longer than it said, is still cut off at the cap while reading.
* The whole body must arrive within a deadline (408): a stalled or trickling upload is dropped,
  however slowly it keeps the connection alive.
* All bodies being received at once share a node-wide byte budget, and each client address a
  part of it (503 with ``Retry-After``): many stalled uploads cannot add up to much memory.
* JSON nested deeper than a limit, or holding more arrays and objects than the API could ever
  need, is refused (400) before the parser sees it: Python's parser recurses per level and would
  raise ``RecursionError`` near 1,000 levels.
* A client that goes away mid-body raises ``ClientGone``, which the app logs at DEBUG: a
  disconnect is the client's business, not an error of the node.
"""

from __future__ import annotations

import itertools
import json
import re
from contextlib import aclosing
from typing import Any

import anyio
from starlette.requests import ClientDisconnect, Request

from node.api.errors import ApiError
from node.api.limits import ApiLimits

BUSY_RETRY_S = 1
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_DEPTH_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


class ClientGone(Exception):
    """The client closed the connection before its body arrived."""


class BodyBudget:
    """Bytes of request bodies being received right now, node-wide and per client address."""

    def __init__(self, total: int, per_client: int) -> None:
        self.total, self.per_client = total, per_client
        self.in_use = 0
        self._by_client: dict[str, int] = {}

    def reserve(self, client: str, size: int) -> bool:
        held = self._by_client.get(client, 0)
        if self.in_use + size > self.total or held + size > self.per_client:
            return False
        self.in_use += size
        self._by_client[client] = held + size
        return True

    def release(self, client: str, size: int) -> None:
        if not size:
            return
        self.in_use -= size
        left = self._by_client[client] - size
        if left:
            self._by_client[client] = left
        else:
            del self._by_client[client]


class _Reservation:
    """What one request holds of the budget; released in full when the request is done."""

    def __init__(self, budget: BodyBudget, client: str) -> None:
        self._budget, self._client = budget, client
        self.size = 0

    def grow(self, size: int) -> None:
        if not self._budget.reserve(self._client, size):
            raise _busy()
        self.size += size

    def release(self) -> None:
        self._budget.release(self._client, self.size)
        self.size = 0


async def read_json(request: Request, client: str, limits: ApiLimits, budget: BodyBudget) -> Any:
    """The request's JSON body (None when empty), read within ``limits``.

    Raises:
        ApiError: 400 (bad length, bad JSON, too deep), 408, 413 or 503.
        ClientGone: the client disconnected.
    """
    declared = _content_length(request)
    if declared is not None and declared > limits.max_body_bytes:
        raise _too_large(limits)
    reservation = _Reservation(budget, client)
    try:
        if declared:
            reservation.grow(declared)  # before reading: a stalled upload holds what it announced
        body = await _receive(request, limits, None if declared is not None else reservation)
        return _parse(body, limits)
    finally:
        reservation.release()


async def _receive(request: Request, limits: ApiLimits, reservation: _Reservation | None) -> bytes:
    """The body within the size cap and deadline; ``reservation`` grows with what arrives when
    the length was not announced."""
    chunks: list[bytes] = []
    size = 0
    try:
        with anyio.move_on_after(limits.body_deadline_s) as deadline:
            # a body refused half-way closes its stream now, not at garbage collection
            async with aclosing(request.stream()) as stream:
                async for chunk in stream:
                    size += len(chunk)
                    if size > limits.max_body_bytes:
                        raise _too_large(limits)
                    if reservation is not None:
                        reservation.grow(len(chunk))
                    chunks.append(chunk)
    except ClientDisconnect:
        raise ClientGone from None
    if deadline.cancelled_caught:
        raise ApiError(
            408,
            "too_slow",
            f"the request body did not arrive within {limits.body_deadline_s:g} s",
            close=True,
        )
    return b"".join(chunks)


def _parse(body: bytes, limits: ApiLimits) -> Any:
    containers = body.count(b"[") + body.count(b"{")  # an upper bound: brackets in strings count too
    if containers > limits.max_json_containers:
        raise ApiError(
            400, "too_complex", f"JSON may hold at most {limits.max_json_containers} arrays and objects"
        )
    too_deep = ApiError(400, "too_deep", f"JSON may nest at most {limits.max_json_depth} arrays or objects")
    if containers > limits.max_json_depth and json_depth(body) > limits.max_json_depth:
        raise too_deep
    try:
        return json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "bad_json", "the request body is not valid JSON") from None
    except RecursionError:  # unreachable after the depth check; kept so it can never be a 500
        raise too_deep from None


def json_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in ``body`` (brackets inside strings do not count),
    without recursion. Defined for invalid JSON too (the deepest open bracket), since the parser
    would recurse on that as well."""
    steps = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS).translate(_DEPTH_STEPS)
    return max(itertools.accumulate(memoryview(steps).cast("b")), default=0)


def _content_length(request: Request) -> int | None:
    text = request.headers.get("content-length")
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 15:
        raise ApiError(400, "bad_request", "Content-Length must be a whole number of bytes", close=True)
    return int(text)


def _too_large(limits: ApiLimits) -> ApiError:
    return ApiError(
        413, "too_large", f"request bodies are limited to {limits.max_body_bytes} bytes", close=True
    )


def _busy() -> ApiError:
    return ApiError(
        503,
        "busy",
        "the node is receiving too many request bodies at once; try again shortly",
        close=True,
        retry_after=BUSY_RETRY_S,
    )
