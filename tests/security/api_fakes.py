"""Just enough of a node for the API's own checks, and clients for the real ASGI app."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from node.mempool import Admission, Mempool
from node.tx_status import TxStatus
from protocol.keys import Keypair
from protocol.operations import SetSigners
from protocol.results import ResultCode
from protocol.transactions import TransactionBody, TxHeader, build_transaction

TOKEN = "s3cret-admin-token"


class FakeNode:
    """Just enough NodeFacade for the API's own checks: every transaction is refused."""

    network_id = b"\x01" * 32

    def __init__(self) -> None:
        self.admin_calls: list[str] = []
        self.submitted = 0
        self.sources: list[str | None] = []
        self.batch_sizes: list[int] = []

    def submit(self, transactions: list[Any], source: str | None = None) -> list[Admission]:
        self.submitted += len(transactions)
        self.sources.append(source)
        self.batch_sizes.append(len(transactions))
        return [Admission(False, ResultCode.BAD_SEQ) for _ in transactions]

    def refuse_early(self, header: TxHeader, source: str | None = None) -> Admission | None:
        return None

    async def wait_for(self, tx_hashes: list[bytes], timeout_s: float) -> None:
        return None

    def tx_status(self, tx_hash: bytes) -> TxStatus:
        return TxStatus("unknown")

    def admin(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        self.admin_calls.append(action)
        return {"ok": True}

    def health(self) -> tuple[bool, dict[str, Any]]:
        return True, {}

    def quorum(self) -> dict[str, Any]:
        return {"ledger": None, "validators": [], "transitive": None}


def asgi_client(app: Any, host: str = "203.0.113.7") -> httpx.AsyncClient:
    """A client of the ASGI app in this process, seen as coming from ``host``."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(host, 40000)), base_url="http://node"
    )


class MempoolNode(FakeNode):
    """A real mempool behind the API, nothing else (no ledger closes)."""

    def __init__(self, mempool: Mempool, network_id: bytes) -> None:
        super().__init__()
        self.mempool = mempool
        self.network_id = network_id

    def submit(self, transactions: list[Any], source: str | None = None) -> list[Admission]:
        self.batch_sizes.append(len(transactions))
        return [self.mempool.add(tx, source) for tx in transactions]

    def refuse_early(self, header: TxHeader, source: str | None = None) -> Admission | None:
        return self.mempool.refuse_early(header, source)

    def tx_status(self, tx_hash: bytes) -> TxStatus:
        return TxStatus("pending") if tx_hash in self.mempool else TxStatus("unknown")


def decodable_tx(network: bytes) -> str:
    """A well-formed signed transaction (base64) that a FakeNode refuses or a PatientNode accepts."""
    source = Keypair(b"\x03" * 32)
    body = TransactionBody(source.public_key, 1, 10, b"", (SetSigners(((source.public_key, 1),), 1),))
    return base64.b64encode(build_transaction(network, body, (source,)).encode()).decode()
