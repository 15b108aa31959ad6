"""Real node processes for the reliability tests: a ``node.testnet`` network (one OS process per
validator, ``python -m node run``), optional ``[testing] misbehave`` per node, HTTP helpers
(ledgers, metrics, peers, admin actions with the node's own token).

Every wait is a poll bounded by the caller's ``trio.fail_after``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import trio

from node import testnet as tn
from node.setup import CONFIG_NAME, TOKEN_NAME

POLL_S = 0.1


class ProcNet:
    def __init__(
        self,
        folder: Path,
        *,
        validators: int = 4,
        misbehave: dict[str, str] | None = None,
        close_interval_ms: int = 200,
        heartbeat_interval_ms: int = 400,
    ) -> None:
        self.net = tn.create(
            folder,
            validators=validators,
            watchers=0,
            threshold=None,
            close_interval_ms=close_interval_ms,
            heartbeat_interval_ms=heartbeat_interval_ms,
        )
        for name, mode in (misbehave or {}).items():
            config = Path(self.entry(name).folder) / CONFIG_NAME
            text = config.read_text()
            assert "enable_test_faults = true" in text  # a testnet node: test faults are allowed
            config.write_text(text.replace("[testing]\n", f'[testing]\nmisbehave = "{mode}"\n', 1))
        self.misbehaving = set(misbehave or {})
        self.client = httpx.AsyncClient(timeout=5.0)

    @property
    def nodes(self) -> list[tn.NodeEntry]:
        return self.net.nodes

    def entry(self, name: str) -> tn.NodeEntry:
        return next(n for n in self.net.nodes if n.name == name)

    async def start(self) -> None:
        tn.start(self.net)
        if not self.misbehaving:
            await trio.to_thread.run_sync(tn.wait_ready, self.net, 60.0)
            return
        # ``wait_ready`` waits for every validator to see every other; the honest ones may ban a
        # misbehaving one before that (garbage frames cost a ban within a few), so here every
        # node only has to answer and the honest ones to see each other.
        honest = [e for e in self.nodes if e.name not in self.misbehaving]

        async def ready() -> bool:
            for entry in self.nodes:
                if entry.pid is not None and not tn.pid_alive(entry.pid):
                    raise tn.TestnetError(f"node {entry.name} exited at start; see its node.log")
            answers = {e.name: await self.get(e, "/node") for e in self.nodes}
            return all(answers[e.name].get("peers", 0) >= len(honest) - 1 for e in honest)

        await until(ready)

    async def close(self) -> None:
        await self.client.aclose()
        await trio.to_thread.run_sync(tn.stop, self.net)

    async def get(self, entry: tn.NodeEntry, path: str) -> Any:
        response = await self.client.get(entry.api + path)
        response.raise_for_status()
        return response.json()

    async def seq(self, entry: tn.NodeEntry) -> int:
        return int((await self.get(entry, "/ledgers/latest"))["seq"])

    async def admin(self, entry: tn.NodeEntry, action: str, body: dict[str, Any]) -> httpx.Response:
        token = (Path(entry.folder) / TOKEN_NAME).read_text().strip()
        return await self.client.post(
            f"{entry.api}/admin/{action}", json=body, headers={"Authorization": f"Bearer {token}"}
        )

    async def block(self, entry: tn.NodeEntry, others: list[tn.NodeEntry]) -> None:
        response = await self.admin(entry, "peer-filter", {"block": [o.peer_id for o in others]})
        assert response.status_code == 200, response.text

    async def until_all_reach(self, entries: list[tn.NodeEntry], seq: int) -> None:
        async def reached() -> bool:
            return all([await self.seq(e) >= seq for e in entries])

        await until(reached)

    async def agree_up_to(self, entries: list[tn.NodeEntry], top: int, first: int = 1) -> None:
        """Same header (hash and state hash) for every seq in first..top on every entry."""
        for seq in range(first, top + 1):
            found = {
                (h["hash"], h["state_hash"]) for h in [await self.get(e, f"/ledgers/{seq}") for e in entries]
            }
            assert len(found) == 1, (seq, found)

    async def metric(self, entry: tn.NodeEntry, name: str, labels: dict[str, str] | None = None) -> float:
        """One Prometheus sample from /metrics (0 if absent)."""
        text = (await self.client.get(entry.api + "/metrics")).text
        wanted = set((labels or {}).items())
        for line in text.splitlines():
            if line.startswith("#") or not line.startswith(name):
                continue
            key, _, value = line.rpartition(" ")
            metric, _, rest = key.partition("{")
            pairs = {tuple(p.split("=", 1)) for p in rest.rstrip("}").split(",") if p}
            if metric == name and wanted <= {(k, v.strip('"')) for k, v in pairs}:
                return float(value)
        return 0.0

    async def peer_view(self, entry: tn.NodeEntry, peer_id: str) -> dict[str, Any]:
        """How ``entry`` sees ``peer_id`` (score, banned_for_s, connected, allowed)."""
        for peer in (await self.get(entry, "/peers"))["peers"]:
            if peer["peer_id"] == peer_id:
                found: dict[str, Any] = peer
                return found
        return {"score": 0.0, "banned_for_s": 0.0, "connected": False, "allowed": True}


async def until(predicate: Callable[[], Awaitable[bool]]) -> None:
    while True:
        try:
            if await predicate():
                return
        except httpx.HTTPError:
            pass
        await trio.sleep(POLL_S)
