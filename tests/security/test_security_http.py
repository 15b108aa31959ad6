"""HTTP hardening (issue 12), against the real ASGI app: deep JSON is a 400 (never a
RecursionError and a logged 500), every error is JSON (404, 405, a trailing slash), every 429
says when to retry, admin needs the Bearer scheme, per-client limits count an IPv6 /64 as one.

The socket-level attacks (stalled and trickled bodies, Content-Length lies, oversized headers,
disconnects) are in ``test_security_http_server.py`` against a real hypercorn.
"""

from __future__ import annotations

import base64
import logging

import pytest
import trio
from api_fakes import TOKEN, FakeNode, MempoolNode, asgi_client, decodable_tx
from spam_ledger import NETWORK, SpamLedger, key, noop, signed

from node.api.app import create_app
from node.api.body import json_depth
from node.ratelimit import RateLimiter

ADMIN = {"authorization": f"Bearer {TOKEN}"}


def _errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("path", ["/tx", "/admin/log-level"])
async def test_deeply_nested_json_is_a_400_not_a_500(path: str, caplog: pytest.LogCaptureFixture) -> None:
    node = FakeNode()
    deep = b'{"tx": ' + b"[" * 962 + b"]" * 962 + b"}"  # the 962 levels, ~1.9 KB
    unclosed = b"[" * 5_000  # the parser would recurse on this too
    async with asgi_client(create_app(node, admin_token=TOKEN)) as client:  # type: ignore[arg-type]
        for body in (deep, unclosed):
            response = await client.post(path, content=body, headers=ADMIN)
            assert response.status_code == 400
            assert response.json()["error"] == "too_deep"
        many = b"[" + b"[]," * 20_000 + b"[]]"  # shallow, but no API body needs 20,000 arrays
        response = await client.post(path, content=many, headers=ADMIN)
        assert (response.status_code, response.json()["error"]) == (400, "too_complex")
    assert _errors_logged(caplog) == []
    assert node.submitted == 0
    assert node.admin_calls == []


def test_json_depth_ignores_brackets_inside_strings() -> None:
    assert json_depth(b'{"memo": "[[[[{{{{\\"[[[["}') == 1
    assert json_depth(b'[[1, [2]], {"a": [{}]}]') == 4
    assert json_depth(b"") == 0


async def test_a_body_with_brackets_in_strings_is_not_too_deep() -> None:
    node = FakeNode()
    async with asgi_client(create_app(node)) as client:  # type: ignore[arg-type]
        response = await client.post("/tx", json={"tx": "[" * 100})
    assert response.status_code == 200
    assert response.json()["results"][0]["code"] == "malformed"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nowhere", 404),
        ("POST", "/tx/", 404),  # was a 307 redirect without a JSON body
        ("GET", "/node/", 404),
        ("GET", "/tx", 405),
        ("DELETE", "/health", 405),
    ],
)
async def test_routing_errors_are_json(method: str, path: str, status: int) -> None:
    async with asgi_client(create_app(FakeNode())) as client:  # type: ignore[arg-type]
        response = await client.request(method, path, follow_redirects=False)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert set(response.json()) == {"error", "message"}
    if path.endswith("/"):
        assert f"did you mean {path.rstrip('/')}?" in response.json()["message"]


async def test_every_429_says_when_to_retry() -> None:
    node = FakeNode()
    requests = RateLimiter(rate=0.5, burst=2)
    submits = RateLimiter(rate=10.0, burst=3)
    app = create_app(node, request_limiter=requests, submit_limiter=submits)  # type: ignore[arg-type]
    async with asgi_client(app, "198.51.100.20") as client:
        assert (await client.post("/tx", json={"txs": ["AA=="] * 3})).status_code == 200
        too_many = await client.post("/tx", json={"txs": ["AA=="] * 3})
        assert too_many.status_code == 429
        assert too_many.json()["error"] == "rate_limited"
        assert too_many.headers["retry-after"] == "1"  # 3 transactions at 10/s: 0.3 s, rounded up
        flooded = await client.get("/health")
        assert flooded.status_code == 429
        assert int(flooded.headers["retry-after"]) == 2  # one request at 0.5/s


@pytest.mark.parametrize("header", [TOKEN, f"Token {TOKEN}", f"Basic {TOKEN}", f"Bearer{TOKEN}"])
async def test_admin_refuses_a_token_without_the_bearer_scheme(header: str) -> None:
    node = FakeNode()
    async with asgi_client(create_app(node, admin_token=TOKEN)) as client:  # type: ignore[arg-type]
        response = await client.post(
            "/admin/log-level", json={"level": "info"}, headers={"authorization": header}
        )
    assert response.status_code == 401
    assert node.admin_calls == []


async def test_admin_takes_the_bearer_scheme_in_any_case() -> None:
    node = FakeNode()
    async with asgi_client(create_app(node, admin_token=TOKEN)) as client:  # type: ignore[arg-type]
        response = await client.post(
            "/admin/log-level", json={"level": "info"}, headers={"authorization": f"bearer {TOKEN}"}
        )
    assert response.status_code == 200


async def test_per_client_limits_count_an_ipv6_slash_64_as_one_client() -> None:
    node = FakeNode()
    app = create_app(node, request_limiter=RateLimiter(rate=0.001, burst=2))  # type: ignore[arg-type]
    statuses = []
    body = {"tx": decodable_tx(node.network_id)}
    for host in ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", "2001:db8:1:2::77"):
        async with asgi_client(app, host) as client:
            statuses.append((await client.post("/tx", json=body)).status_code)
    assert statuses == [200, 200, 429]
    async with asgi_client(app, "2001:db8:1:3::1") as client:
        assert (await client.post("/tx", json=body)).status_code == 200
    assert node.sources == ["2001:db8:1:2::/64", "2001:db8:1:2::/64", "2001:db8:1:3::/64"]


async def test_a_maximum_batch_is_admitted_in_pieces_that_let_other_tasks_run() -> None:
    node = FakeNode()
    ticks = 0

    async def other_task() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await trio.lowlevel.checkpoint()

    async with asgi_client(create_app(node)) as client, trio.open_nursery() as nursery:  # type: ignore[arg-type]
        nursery.start_soon(other_task)
        await trio.lowlevel.checkpoint()
        before = ticks
        response = await client.post("/tx", json={"txs": [decodable_tx(node.network_id)] * 2_000})
        assert response.status_code == 200
        assert ticks - before >= 20  # the loop ran other tasks between the pieces
        nursery.cancel_scope.cancel()
    assert node.batch_sizes == [100] * 20


async def test_junk_is_refused_on_a_first_look_and_a_newcomers_run_still_gets_in() -> None:
    ledger = SpamLedger.community()
    node = MempoolNode(ledger.mempool(newcomer_burst=3, newcomer_rate=0.001), NETWORK)
    junk, newcomer = key(), key()
    txs = [signed(junk, seq, noop(junk)) for seq in (2, 3)]
    txs += [signed(newcomer, seq, noop(newcomer)) for seq in (1, 2, 3)]
    txs += [ledger.pay(ledger.alice, 1, ledger.bob)]
    body = {"txs": [base64.b64encode(tx.encode()).decode() for tx in txs]}
    async with asgi_client(create_app(node)) as client:  # type: ignore[arg-type]
        results = (await client.post("/tx", json=body)).json()["results"]
    assert [r["code"] or r["status"] for r in results] == ["bad_seq", "bad_seq", *["pending"] * 4]
    assert [r["hash"] for r in results] == [tx.hash.hex() for tx in txs]
    assert node.batch_sizes == [4]  # the junk was never decoded in full nor submitted
