"""``POST /tx?wait=`` waits for the transactions that can apply now, not for one queued behind a
missing sequence number (it cannot apply during the wait; waiting on it held the answer back for
the whole wait)."""

from __future__ import annotations

from typing import Any

from api_fakes import FakeNode, asgi_client, decodable_tx

from node.api.app import create_app
from node.mempool import Admission


class _OneQueued(FakeNode):
    """Accepts every transaction; the second of a request is queued (ahead of its sequence)."""

    def __init__(self) -> None:
        super().__init__()
        self.waited_on: list[list[bytes]] = []

    def submit(self, transactions: list[Any], source: str | None = None) -> list[Admission]:
        return [Admission(True, queued=index == 1) for index, _ in enumerate(transactions)]

    async def wait_for(self, tx_hashes: list[bytes], timeout_s: float) -> None:
        self.waited_on.append(list(tx_hashes))


async def test_wait_skips_a_transaction_queued_behind_a_gap() -> None:
    node = _OneQueued()
    first, second = decodable_tx(node.network_id), decodable_tx(b"\x02" * 32)
    async with asgi_client(create_app(node)) as client:  # type: ignore[arg-type]
        response = await client.post("/tx?wait=5", json={"txs": [first, second]})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(node.waited_on) == 1
    assert node.waited_on[0] == [bytes.fromhex(results[0]["hash"])]


class _AllQueued(_OneQueued):
    def submit(self, transactions: list[Any], source: str | None = None) -> list[Admission]:
        return [Admission(True, queued=True) for _ in transactions]


async def test_nothing_is_waited_on_when_everything_is_queued() -> None:
    node = _AllQueued()
    async with asgi_client(create_app(node)) as client:  # type: ignore[arg-type]
        response = await client.post("/tx?wait=5", json={"txs": [decodable_tx(node.network_id)]})
    assert response.status_code == 200
    assert response.json()["results"][0]["status"] != "rejected"
    assert node.waited_on == []
