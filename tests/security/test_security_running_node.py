"""A real node process-in-test (``run_node`` from a generated node folder, hypercorn, libp2p):
everything it listens on is loopback, /admin needs the token from admin.token, big bodies get
413 over a real HTTP connection."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import psutil
import pytest
import trio

from node.config import load_config
from node.runtime import run_node
from node.setup import TOKEN_NAME, NodeSpec, init_node
from protocol.keys import Keypair

pytestmark = pytest.mark.slow  # a real node: libp2p host and HTTP server


async def test_a_default_node_listens_only_on_loopback_and_guards_admin(tmp_path: Path) -> None:
    folder = tmp_path / "node"
    path = init_node(
        folder,
        NodeSpec(
            "validator",
            "Tally security test network",
            0,
            0,
            (),
            None,
            close_interval_ms=100,
            heartbeat_interval_ms=500,
        ),
        Keypair(os.urandom(32)),
    )
    config = load_config(path)
    token = (folder / TOKEN_NAME).read_text().strip()
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            ready = trio.Event()
            nursery.start_soon(lambda: run_node(config, ready=ready))
            await ready.wait()
            listening = [
                c.laddr
                for c in psutil.Process().net_connections(kind="inet")
                if c.status == psutil.CONN_LISTEN
            ]
            assert listening, "the node listens somewhere"
            assert all(addr.ip in ("127.0.0.1", "::1") for addr in listening), listening
            api = (folder / "run.json").read_text()
            url = __import__("json").loads(api)["api"]
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                assert (await client.get("/health")).status_code == 200
                assert (await client.post("/admin/log-level", json={"level": "info"})).status_code == 401
                wrong = await client.post(
                    "/admin/log-level", json={"level": "info"}, headers={"authorization": "Bearer nope"}
                )
                assert wrong.status_code == 401
                right = await client.post(
                    "/admin/log-level", json={"level": "info"}, headers={"authorization": f"Bearer {token}"}
                )
                assert right.status_code == 200
                big = await client.post("/tx", content=b"x" * (5 * 1024 * 1024))
                assert big.status_code == 413
                assert big.json()["error"] == "too_large"
                assert (await client.get("/health")).status_code == 200
            nursery.cancel_scope.cancel()
