"""HTTP hardening at the socket (issue 12): the real app behind a real hypercorn on 127.0.0.1,
configured by ``node.api.server`` with short deadlines, spoken to with raw bytes.

Each test waits for the server to act (answer, close) under a bound; none sleeps to show that
nothing happens. The deadlines are a fraction of a second so the suite stays fast.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
from api_fakes import FakeNode, decodable_tx

from node.api.app import create_app
from node.api.limits import ApiLimits
from node.api.server import hypercorn_config, serve_api
from node.mempool import Admission

DEADLINE_S = 0.5
LIMITS = ApiLimits(
    body_deadline_s=DEADLINE_S,
    read_timeout_s=DEADLINE_S,
    max_inflight_body_bytes=1_000,
    max_inflight_per_client=1_000,
)
BOUND_S = 10.0  # nothing here should take more than a deadline or two


class PatientNode(FakeNode):
    """Accepts every transaction; ``wait_for`` waits its whole timeout (a ledger never comes)."""

    def submit(self, transactions: list[Any], source: str | None = None) -> list[Admission]:
        return [Admission(True) for _ in transactions]

    async def wait_for(self, tx_hashes: list[bytes], timeout_s: float) -> None:
        await trio.sleep(timeout_s)


@asynccontextmanager
async def running_api(
    limits: ApiLimits = LIMITS, node: FakeNode | None = None
) -> AsyncIterator[tuple[str, int]]:
    async with trio.open_nursery() as nursery:
        app = create_app(node or FakeNode(), limits=limits)  # type: ignore[arg-type]
        url = await nursery.start(serve_api, app, hypercorn_config("127.0.0.1:0", limits))
        host, port = url.removeprefix("http://").rsplit(":", 1)
        yield host, int(port)
        nursery.cancel_scope.cancel()


async def _send_and_read(address: tuple[str, int], data: bytes, *, keep_sending: bytes = b"") -> bytes:
    """Send ``data``, then ``keep_sending`` one byte every 50 ms, and read until the server closes."""
    stream = await trio.open_tcp_stream(*address)
    received = b""
    async with stream, trio.open_nursery() as nursery:
        await stream.send_all(data)

        async def trickle() -> None:
            for byte in keep_sending:
                await trio.sleep(0.05)
                try:
                    await stream.send_all(bytes([byte]))
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return

        nursery.start_soon(trickle)
        with trio.fail_after(BOUND_S):
            while chunk := await _receive(stream):
                received += chunk
        nursery.cancel_scope.cancel()
    return received


async def _receive(stream: trio.SocketStream) -> bytes:
    try:
        return await stream.receive_some(65_536)
    except trio.BrokenResourceError:  # reset by the server
        return b""


def _parse(response: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, json.loads(body) if body else None


def _post(length: int | None, body: bytes = b"", *, close: bool = True) -> bytes:
    head = "POST /tx HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\n"
    if length is not None:
        head += f"Content-Length: {length}\r\n"
    if close:
        head += "Connection: close\r\n"
    return head.encode() + b"\r\n" + body


async def test_a_stalled_body_is_answered_408_at_its_deadline() -> None:
    async with running_api() as address:
        started = trio.current_time()
        status, headers, body = _parse(await _send_and_read(address, _post(100, b'{"tx": ')))
        assert trio.current_time() - started >= DEADLINE_S
    assert status == 408
    assert body["error"] == "too_slow"
    assert headers["connection"] == "close"


async def test_a_trickled_body_is_cut_at_the_deadline() -> None:
    """One byte every 50 ms never trips the read timeout; the body deadline still holds."""
    async with running_api() as address:
        started = trio.current_time()
        answer = await _send_and_read(address, _post(1_000), keep_sending=b" " * 1_000)
        assert trio.current_time() - started < DEADLINE_S + 2.0
    status, _, body = _parse(answer)
    assert (status, body["error"]) == (408, "too_slow")


async def test_a_content_length_over_the_cap_is_refused_before_the_body_arrives() -> None:
    limits = ApiLimits(body_deadline_s=60, read_timeout_s=60)
    async with running_api(limits) as address:
        started = trio.current_time()
        status, headers, body = _parse(await _send_and_read(address, _post(50 * 1024 * 1024, b"0123456789")))
        assert trio.current_time() - started < 5  # not the 60 s deadline: judged from the header
    assert (status, body["error"]) == (413, "too_large")
    assert headers["connection"] == "close"


async def test_a_length_understated_or_missing_is_still_capped() -> None:
    limits = ApiLimits(max_body_bytes=1_000, body_deadline_s=5, read_timeout_s=5)
    async with running_api(limits) as address:
        chunked = _post(None).replace(b"\r\n\r\n", b"\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunks = b"".join(b"%x\r\n%s\r\n" % (400, b" " * 400) for _ in range(4)) + b"0\r\n\r\n"
        status, _, body = _parse(await _send_and_read(address, chunked + chunks))
        assert (status, body["error"]) == (413, "too_large")
        # A length that says less than is sent: the rest is read as a next request, which is junk.
        answers = await _send_and_read(address, _post(4, b"null" + b"x" * 2_000 + b"\r\n\r\n", close=False))
    statuses = [int(s) for s in re.findall(rb"HTTP/1\.1 (\d{3}) ", answers)]
    assert statuses == [400, 400]  # {"tx": …} expected, got null; then the junk as a request
    assert answers.count(b'"error"') == len(statuses)


async def test_a_request_gone_silent_is_closed_at_the_read_timeout() -> None:
    limits = ApiLimits(body_deadline_s=60, read_timeout_s=DEADLINE_S)
    async with running_api(limits) as address:
        started = trio.current_time()
        status, _, body = _parse(await _send_and_read(address, _post(100, b"{")))
        assert DEADLINE_S <= trio.current_time() - started < DEADLINE_S + 2.0
    assert (status, body["error"]) == (408, "too_slow")


async def test_a_long_poll_outlasts_the_read_timeout() -> None:
    """``?wait=`` keeps a client silent while the node waits for a ledger: that is not a stall."""
    limits = ApiLimits(read_timeout_s=DEADLINE_S, body_deadline_s=5)
    body = json.dumps({"tx": decodable_tx(FakeNode.network_id)}).encode()
    async with running_api(limits, PatientNode()) as address:
        started = trio.current_time()
        request = _post(len(body), body).replace(b"POST /tx ", b"POST /tx?wait=1.5 ")
        status, _, answer = _parse(await _send_and_read(address, request))
        assert trio.current_time() - started >= 1.5
    assert status == 200
    assert answer["results"][0]["status"] == "unknown"  # the fake never applies anything


async def test_a_long_poll_past_the_read_timeout_closes_its_connection() -> None:
    """hypercorn stops reading a connection silent for its read timeout, even while the app is
    still answering: a client reusing it after a long ``?wait=`` would hang, so the answer says
    ``Connection: close`` (and the server closes it) instead of keeping it alive."""
    limits = ApiLimits(read_timeout_s=DEADLINE_S, body_deadline_s=5, keep_alive_s=DEADLINE_S)
    body = json.dumps({"tx": decodable_tx(FakeNode.network_id)}).encode()
    async with running_api(limits, PatientNode()) as address:
        request = _post(len(body), body, close=False).replace(b"POST /tx ", b"POST /tx?wait=1 ")
        status, headers, _ = _parse(await _send_and_read(address, request))
        quick = _post(len(body), body, close=False)
        _, quick_headers, _ = _parse(await _send_and_read(address, quick, keep_sending=b""))
    assert (status, headers["connection"]) == (200, "close")
    assert "connection" not in quick_headers or quick_headers["connection"] != "close"


async def test_headers_that_never_end_are_closed_at_the_idle_deadline() -> None:
    limits = ApiLimits(keep_alive_s=DEADLINE_S)
    async with running_api(limits) as address:
        started = trio.current_time()
        answer = await _send_and_read(
            address, b"POST /tx HTTP/1.1\r\nHost: node\r\n", keep_sending=b"X-A: b\r\n" * 4
        )
        assert DEADLINE_S <= trio.current_time() - started < DEADLINE_S + 2.0
    assert answer == b""


async def test_bodies_in_flight_share_a_bounded_budget() -> None:
    """A stalled upload holds what it announced; beyond the node's budget others get a 503 with
    Retry-After at once, and get in again once the stalled one is gone."""
    limits = ApiLimits(
        body_deadline_s=60, read_timeout_s=60, max_inflight_body_bytes=1_000, max_inflight_per_client=1_000
    )
    full = b'{"txs": ["AA=="]}'.ljust(600)
    async with running_api(limits) as address:
        stalled = await trio.open_tcp_stream(*address)
        await stalled.send_all(_post(800, b"{"))
        with trio.fail_after(BOUND_S):
            while True:  # until the stalled upload's reservation is in place
                status, headers, body = _parse(await _send_and_read(address, _post(len(full), full)))
                if status == 503:
                    break
                await trio.sleep(0.01)
        assert body["error"] == "busy"
        assert headers["retry-after"] == "1"
        await stalled.aclose()
        with trio.fail_after(BOUND_S):
            while status != 200:
                status, _, _ = _parse(await _send_and_read(address, _post(len(full), full)))
                await trio.sleep(0.01)


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (
            b"GET /health HTTP/1.1\r\nHost: node\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n",
            431,
            "headers_too_large",
        ),
        (b"NOT HTTP AT ALL\r\n\r\n", 400, "bad_request"),
        (b"GET /health HTTP/1.1\r\nHost: node\r\nContent-Length: x\r\n\r\n", 400, "bad_request"),
    ],
)
async def test_requests_the_server_refuses_itself_get_json_errors(
    request_bytes: bytes, status: int, code: str
) -> None:
    async with running_api() as address:
        got_status, headers, body = _parse(await _send_and_read(address, request_bytes))
    assert got_status == status
    assert headers["content-type"] == "application/json"
    assert body["error"] == code


async def test_a_client_leaving_mid_body_is_logged_at_debug_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    limits = ApiLimits(body_deadline_s=60, read_timeout_s=60)
    async with running_api(limits) as address:
        for _ in range(5):
            stream = await trio.open_tcp_stream(*address)
            await stream.send_all(_post(1_000, b'{"txs": ['))
            await trio.sleep(0.05)  # let the handler start reading before the client goes
            await stream.aclose()
        with trio.fail_after(BOUND_S):
            while sum("client went away" in r.getMessage() for r in caplog.records) < 5:  # noqa: ASYNC110
                await trio.sleep(0.01)
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert errors == []
