"""Real nodes on loopback for tests: configs from ``node.testnet.create``, each node run by
``node.runtime.run_node`` (real P2PNetwork on libp2p, LevelDB, HTTP API) inside the test's trio
nursery, several in one process. Tests talk to them over HTTP, like the wallet does.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import trio

from node.config import load_config
from node.runtime import run_node
from node.setup import CONFIG_NAME
from node.testnet import NodeEntry, Testnet
from protocol.keys import Keypair
from protocol.operations import Operation
from protocol.transactions import Transaction, TransactionBody, build_transaction

POLL_S = 0.05


@dataclass
class Running:
    entry: NodeEntry
    scope: trio.CancelScope
    done: trio.Event = field(default_factory=trio.Event)


class InProcessNet:
    """Runs the nodes of a ``Testnet`` inside ``nursery``; ``stop`` is a clean shutdown."""

    def __init__(self, nursery: trio.Nursery, testnet: Testnet, client: httpx.AsyncClient) -> None:
        self.nursery = nursery
        self.testnet = testnet
        self.client = client
        self.running: dict[str, Running] = {}
        self.by_name = {n.name: n for n in testnet.nodes}

    @property
    def validators(self) -> list[NodeEntry]:
        return [n for n in self.testnet.nodes if n.role == "validator"]

    async def start(self, name: str) -> None:
        entry = self.by_name[name]
        config = load_config(Path(entry.folder) / CONFIG_NAME)
        ready = trio.Event()
        running = Running(entry, trio.CancelScope())
        self.running[name] = running

        async def run() -> None:
            try:
                with running.scope:
                    await run_node(config, ready=ready)
            finally:
                running.done.set()
                ready.set()

        self.nursery.start_soon(run)
        await ready.wait()
        if running.done.is_set():
            raise RuntimeError(f"node {name} stopped at start")

    async def start_all(self) -> None:
        async with trio.open_nursery() as starting:
            for entry in self.testnet.nodes:
                starting.start_soon(self.start, entry.name)
        await self.until_connected()

    async def stop(self, name: str) -> None:
        running = self.running.pop(name)
        running.scope.cancel()
        await running.done.wait()

    async def until_connected(self) -> None:
        """Every running validator sees every other running validator; watchers see one."""
        count = sum(1 for n in self.running.values() if n.entry.role == "validator")

        async def ready() -> bool:
            for running in self.running.values():
                needed = count - 1 if running.entry.role == "validator" else 1
                if (await self.get(running.entry, "/node"))["peers"] < needed:
                    return False
            return True

        await until_async(ready)

    async def get(self, entry: NodeEntry, path: str, *, ok: bool = True) -> Any:
        response = await self.client.get(entry.api + path)
        if ok:
            assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()

    async def seq(self, entry: NodeEntry) -> int:
        return int((await self.get(entry, "/node"))["ledger"]["seq"])

    async def submit(
        self, entry: NodeEntry, txs: list[Transaction], wait_s: float = 0
    ) -> list[dict[str, Any]]:
        body = {"txs": [base64.b64encode(t.encode()).decode() for t in txs]}
        url = entry.api + "/tx" + (f"?wait={wait_s}" if wait_s else "")
        response = await self.client.post(url, json=body, timeout=wait_s + 10)
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    async def until_all_reach(self, entries: list[NodeEntry], seq: int) -> None:
        async def reached() -> bool:
            return all([await self.seq(e) >= seq for e in entries])

        await until_async(reached)

    async def header(self, entry: NodeEntry, seq: int) -> dict[str, Any]:
        found: dict[str, Any] = await self.get(entry, f"/ledgers/{seq}")
        return found

    async def agree_at(self, entries: list[NodeEntry], seq: int) -> dict[str, Any]:
        """All ``entries`` have ledger ``seq`` with the same hash and state hash; returns it."""
        headers = [await self.header(e, seq) for e in entries]
        assert len({(h["hash"], h["state_hash"]) for h in headers}) == 1, headers
        return headers[0]

    async def metric(self, entry: NodeEntry, name: str, labels: dict[str, str] | None = None) -> float:
        """One Prometheus sample from /metrics (0 if absent)."""
        text = (await self.client.get(entry.api + "/metrics")).text
        wanted = name + (
            "{" + ",".join(f'{k}="{v}"' for k, v in sorted((labels or {}).items())) + "}" if labels else ""
        )
        for line in text.splitlines():
            if line.startswith("#"):
                continue
            key, _, value = line.rpartition(" ")
            if _normal(key) == wanted:
                return float(value)
        return 0.0


def _normal(key: str) -> str:
    if "{" not in key:
        return key
    name, _, rest = key.partition("{")
    pairs = sorted(p for p in rest.rstrip("}").split(",") if p)
    return name + "{" + ",".join(pairs) + "}"


async def until_async(predicate: Callable[[], Awaitable[bool]]) -> None:
    """Poll an async condition (HTTP state has no event to wait on); the caller bounds it with
    ``trio.fail_after``."""
    while True:
        try:
            if await predicate():
                return
        except httpx.HTTPError:
            pass
        await trio.sleep(POLL_S)


def tx(network: bytes, source: Keypair, seq: int, *ops: Operation, memo: bytes = b"") -> Transaction:
    body = TransactionBody(source.public_key, seq, 100_000, memo, tuple(ops))
    return build_transaction(network, body, (source,))
