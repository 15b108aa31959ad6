"""An in-memory node behind the real HTTP API, for wallet CLI tests.

Every accepted transaction is applied at once with the real rules (protocol.apply) and closes its
own ledger; one that would fail is refused with its result code and figures, as the node's mempool does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from asgi_client import in_process_clients

from node.api.app import create_app
from node.mempool import DUPLICATE, Admission
from node.refusals import refusal_figures
from node.tx_status import TxStatus
from protocol.apply import apply_transaction
from protocol.context import LedgerContext
from protocol.hashing import network_id
from protocol.ledger import LedgerHeader
from protocol.results import ResultCode
from protocol.state import HOLDING_PREFIX, Account, Currency, Holding, MemoryState, StateOverlay
from protocol.transactions import Transaction, TxHeader
from protocol.versions import CURRENT_PROTOCOL_VERSION

PASSPHRASE = "Tally wallet test network"


class FakeNode:
    def __init__(self) -> None:
        self.network_id = network_id(PASSPHRASE)
        self.state = MemoryState()
        self.ledger_seq = 1
        self.close_time_ms = 1_790_000_000_000
        self.statuses: dict[bytes, TxStatus] = {}
        self.history_items: list[tuple[int, int, Transaction, str, int]] = []
        self.submitted: list[Transaction] = []

    # -- NodeFacade ----------------------------------------------------------------------------

    def submit(self, transactions: list[Transaction], source: str | None = None) -> list[Admission]:
        answers = []
        for tx in transactions:
            self.submitted.append(tx)
            if tx.hash in self.statuses:
                answers.append(Admission(False, DUPLICATE))
                continue
            root = StateOverlay(self.state)
            scope = root.nested()
            signers = tx.signers()
            ledger = LedgerContext(self.ledger_seq + 1, self.close_time_ms + 5_000, CURRENT_PROTOCOL_VERSION)
            result = apply_transaction(
                scope,
                tx,
                ledger_seq=ledger.seq,
                signers=signers,
                close_time_ms=ledger.close_time_ms,
                protocol_version=ledger.protocol_version,
            )
            if result.code is not ResultCode.OK:
                figures = refusal_figures(root, tx, result, ledger=ledger, signers=signers or frozenset())
                answers.append(Admission(False, result.code, figures=figures))
                continue
            scope.commit()
            self.state.apply(root.changes())
            self.ledger_seq += 1
            self.close_time_ms += 5_000
            self.statuses[tx.hash] = TxStatus("applied", "ok", self.ledger_seq, -1)
            self.history_items.append((self.ledger_seq, 0, tx, "ok", self.close_time_ms))
            answers.append(Admission(True))
        return answers

    def refuse_early(self, header: TxHeader, source: str | None = None) -> Admission | None:
        return None  # the fake decides everything in submit

    async def wait_for(self, tx_hashes: list[bytes], timeout_s: float) -> None:
        return None

    def tx_status(self, tx_hash: bytes) -> TxStatus:
        return self.statuses.get(tx_hash, TxStatus("unknown"))

    def account_state(self, account: bytes) -> tuple[Account, list[Holding], int]:
        overlay = StateOverlay(self.state)
        entry = overlay.account(account)
        prefix = HOLDING_PREFIX + account
        holdings = [
            h
            for key in sorted(self.state.entries)
            if key.startswith(prefix)
            for h in [overlay.get(key)]
            if isinstance(h, Holding)
        ]
        return entry, holdings, entry.seq

    def currency(self, code: str) -> Currency | None:
        return StateOverlay(self.state).currency(code)

    def history(
        self, account: bytes, limit: int, before: tuple[int, int] | None
    ) -> list[tuple[int, int, Transaction, str, int]]:
        def involves(tx: Transaction) -> bool:
            if tx.body.source == account:
                return True
            return any(
                account in (getattr(op, "destination", b""), getattr(op, "member", b""))
                for op in tx.body.operations
            )

        items = [
            item
            for item in reversed(self.history_items)
            if involves(item[2]) and (before is None or (item[0], item[1]) < before)
        ]
        return items[:limit]

    def ledger(self, seq: int | None) -> tuple[LedgerHeader, list[tuple[str, str]]] | None:
        return None

    def info(self) -> dict[str, Any]:
        return {
            "network_passphrase": PASSPHRASE,
            "network_id": self.network_id.hex(),
            "ledger": {"seq": self.ledger_seq},
        }

    def peers_info(self) -> list[dict[str, Any]]:
        return []

    def health(self) -> tuple[bool, dict[str, Any]]:
        return True, {}

    def quorum(self) -> dict[str, Any]:
        return {"ledger": None, "validators": [], "transitive": None}

    def metrics_text(self) -> bytes:
        return b""

    def admin(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        raise ValueError("no admin actions in the fake node")


@contextmanager
def serve(node: FakeNode) -> Iterator[Callable[[str], httpx.Client]]:
    """A factory of httpx clients that reach ``node`` through the real API app, in-process."""
    with in_process_clients(create_app(node)) as factory:
        yield factory
