"""node.net.compat.window: yamux credit goes back once half the window is consumed, not after
every read, and never so late that a writer waits on a reader that drained its stream.

A real ``YamuxStream`` on a stand-in connection that records the frames the stream writes."""

from __future__ import annotations

import os
import struct

from libp2p.stream_muxer.yamux import yamux as yamux_module
from libp2p.stream_muxer.yamux.yamux import (
    DEFAULT_WINDOW_SIZE,
    TYPE_WINDOW_UPDATE,
    YAMUX_HEADER_FORMAT,
    YamuxStream,
)

from node.net.compat import records, window


class _Conn:
    """What a YamuxStream asks of its connection while granting credit."""

    def __init__(self) -> None:
        self.stream_buffers: dict[int, bytearray] = {}
        self.frames: list[bytes] = []

    def rtt(self) -> float:
        return 0.001

    async def _write_frame(self, frame: bytes) -> None:
        self.frames.append(frame)


def _stream() -> tuple[YamuxStream, _Conn]:
    conn = _Conn()
    stream = YamuxStream(1, conn, is_initiator=True)  # type: ignore[arg-type]
    conn.stream_buffers[1] = bytearray()
    return stream, conn


def _credit(frames: list[bytes]) -> list[int]:
    """The increments of the WINDOW_UPDATE frames among ``frames``."""
    size = struct.calcsize(YAMUX_HEADER_FORMAT)
    headers = [struct.unpack(YAMUX_HEADER_FORMAT, frame[:size]) for frame in frames]
    return [length for _, kind, _, _, length in headers if kind == TYPE_WINDOW_UPDATE]


async def _read(stream: YamuxStream, size: int) -> None:
    """``size`` bytes arrive (the connection takes them off the window) and are read at once."""
    stream.recv_window -= size
    await window.grant_credit_when_half_consumed(stream, bytes_read=size)


async def test_credit_goes_back_once_half_the_window_is_consumed() -> None:
    stream, conn = _stream()
    frame = 1_000
    half = DEFAULT_WINDOW_SIZE // 2
    for _ in range(half // frame):
        await _read(stream, frame)
    assert conn.frames == []  # 131 reads, no WINDOW_UPDATE yet: less than half is owed
    await _read(stream, frame)
    granted = _credit(conn.frames)
    assert len(granted) == 1
    assert granted[0] >= (half // frame + 1) * frame  # everything consumed (plus any auto-tuned growth)
    assert stream.recv_window >= DEFAULT_WINDOW_SIZE  # the writer may send a whole window again


async def test_a_writer_that_used_the_whole_window_gets_it_back() -> None:
    stream, conn = _stream()
    await _read(stream, DEFAULT_WINDOW_SIZE)  # the writer is now out of credit
    assert sum(_credit(conn.frames)) >= DEFAULT_WINDOW_SIZE


async def test_bytes_still_buffered_are_not_credited() -> None:
    stream, conn = _stream()
    stream.recv_window -= DEFAULT_WINDOW_SIZE
    conn.stream_buffers[1] += b"x" * (DEFAULT_WINDOW_SIZE - 10)  # arrived, not read yet
    await window.grant_credit_when_half_consumed(stream, bytes_read=10)
    assert conn.frames == []


def test_installed_with_the_settings_read_once() -> None:
    records.install()
    assert os.environ[records.YAMUX_RELEASE_ON_READ] == "0"
    assert vars(YamuxStream)["_auto_tune_and_send_window_update"] is window.grant_credit_when_half_consumed
    first = yamux_module._yamux_data_read_timeout()
    os.environ["PY_YAMUX_DATA_READ_TIMEOUT"] = str(first + 5)
    try:
        assert yamux_module._yamux_data_read_timeout() == first  # read once, when installed
    finally:
        del os.environ["PY_YAMUX_DATA_READ_TIMEOUT"]
    window.install()  # idempotent: the cache is not wrapped again
    assert not hasattr(vars(yamux_module)["_py_yamux_env"].__wrapped__, "__wrapped__")
