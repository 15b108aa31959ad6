"""Length-prefixed frames on libp2p streams, and the request/response envelope.

A frame is a 4-byte big-endian length followed by that many bytes. The length is checked
against a cap *before* anything is read, so a peer cannot make us buffer more than the cap.

py-libp2p's ``stream.read(n)`` returns *up to* n bytes, and ``libp2p.io.utils.read_exactly``
gives up after 100 partial reads with a false "connection closed" on multi-MB frames, so
``FrameReader`` keeps its own buffer and loops.
"""

from __future__ import annotations

import struct
from typing import Any, Protocol

import msgpack

LENGTH = struct.Struct(">I")
READ_CHUNK = 64 * 1024
MAX_REQUEST_NAME = 64


class ReadableStream(Protocol):
    async def read(self, n: int | None = None) -> bytes: ...


class WritableStream(Protocol):
    async def write(self, data: bytes) -> None: ...


class FrameError(Exception):
    """The peer sent something that is not a well-formed frame (``reason`` is a metric label)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class FrameTooLarge(FrameError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__("oversize", f"frame of {size} bytes exceeds {limit}")
        self.size = size
        self.limit = limit


class FrameReader:
    """Reads frames from one stream. ``next_frame`` raises whatever the stream raises at the
    end (``StreamEOF``) or on reset, and ``FrameError`` on a bad length."""

    __slots__ = ("_buf", "_stream")

    def __init__(self, stream: ReadableStream) -> None:
        self._stream = stream
        self._buf = bytearray()

    async def _fill(self, n: int) -> None:
        while len(self._buf) < n:
            chunk = await self._stream.read(max(READ_CHUNK, n - len(self._buf)))
            if not chunk:  # some muxers signal EOF with b"" instead of StreamEOF
                raise EOFError("stream closed")
            self._buf += chunk

    async def next_frame(self, limit: int) -> bytes:
        await self._fill(LENGTH.size)
        (size,) = LENGTH.unpack_from(self._buf)
        if size > limit:
            raise FrameTooLarge(size, limit)
        if size == 0:
            raise FrameError("empty_frame")
        await self._fill(LENGTH.size + size)
        frame = bytes(self._buf[LENGTH.size : LENGTH.size + size])
        del self._buf[: LENGTH.size + size]
        return frame


def encode_frame(body: bytes) -> bytes:
    return LENGTH.pack(len(body)) + body


# -- request / response envelope -----------------------------------------------------------------


def encode_request(name: str, payload: bytes) -> bytes:
    return msgpack.packb([name, payload], use_bin_type=True)  # type: ignore[no-any-return]


def _unpack(data: bytes, what: str) -> Any:
    try:
        return msgpack.unpackb(
            data,
            raw=False,
            max_str_len=len(data),
            max_bin_len=len(data),
            max_array_len=2,
            max_map_len=0,
            max_ext_len=0,
            strict_map_key=True,
        )
    except Exception as exc:  # msgpack raises a zoo of exception types on junk
        raise FrameError(f"bad_{what}", str(exc)) from None


def decode_request(data: bytes) -> tuple[str, bytes]:
    obj = _unpack(data, "request")
    if (
        not isinstance(obj, list)
        or len(obj) != 2
        or type(obj[0]) is not str
        or type(obj[1]) is not bytes
        or not 0 < len(obj[0]) <= MAX_REQUEST_NAME
    ):
        raise FrameError("bad_request", "expected [name, payload]")
    return obj[0], obj[1]


def encode_response(ok: bool, body: bytes | str) -> bytes:
    return msgpack.packb([ok, body], use_bin_type=True)  # type: ignore[no-any-return]


def decode_response(data: bytes) -> tuple[bool, bytes | str]:
    """``(True, payload bytes)`` or ``(False, error text)``."""
    obj = _unpack(data, "response")
    if not isinstance(obj, list) or len(obj) != 2 or type(obj[0]) is not bool:
        raise FrameError("bad_response", "expected [ok, body]")
    ok, body = obj
    if ok and type(body) is not bytes:
        raise FrameError("bad_response", "payload is not bytes")
    if not ok and type(body) is not str:
        raise FrameError("bad_response", "error is not text")
    return ok, body
