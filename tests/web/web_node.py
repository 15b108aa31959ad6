"""A real node's parts (LevelDB store, chain, façade) with no peers and no consensus running: the
tests close each ledger themselves with the transactions and close time they choose, so ledger
contents, failures and months are exact. What the explorer endpoints, the event stream and the
pages read is the same as on a running node: the store and the chain.

The community mirrors the testnet demo: a time bank HOUR and a LETS run by a steward, an issued BRX,
alice, bob and carol as members, and alice paying bob 1.50 h for "gardening".
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import nacl.utils
import pytest

from consensus import QuorumSet
from node.api.app import create_app
from node.assembly import AssembledNode, assemble_node
from node.config import NodeConfig
from node.errors import NetError
from node.metrics import NodeMetrics
from protocol.designs.actions import AgreeExchange
from protocol.designs.operations import (
    Accredit,
    ApproveRecovery,
    CreditHours,
    ExchangePay,
    Hop,
    RegisterBusiness,
    SetGuardians,
)
from protocol.designs.terms import Acceptance, CurrencyTerms
from protocol.governance.operations import Propose
from protocol.keys import Keypair
from protocol.ledger import CloseValue, make_tx_set
from protocol.operations import AdmitMember, CreateCurrency, CurrencyKind, Mint, Operation, Payment
from protocol.transactions import Transaction, TransactionBody, build_transaction
from protocol.versions import PROTOCOL_V3

PASSPHRASE = "Tally web test network"
START_MS = 1_772_323_200_000  # 2026-03-01 00:00 UTC
LEDGER_STEP_MS = 3_600_000  # an hour between two ledgers of the community


class LoneTransport:
    """A network with nobody else on it."""

    def publish(self, data: bytes) -> None:
        return None

    def publish_board(self, data: bytes) -> None:
        return None

    def broadcast(self, frame: bytes, *, exclude: Collection[str] = ()) -> None:
        return None

    def send(self, peer: str, frame: bytes) -> None:
        return None

    async def request(
        self, peer: str, name: str, payload: bytes, *, max_response: int, timeout_s: float = 10.0
    ) -> bytes:
        raise NetError(peer, "unreachable")

    def connected_peers(self) -> list[str]:
        return []

    def peers_info(self) -> list[dict[str, Any]]:
        return []

    def penalize(self, peer: str, reason: str) -> None:
        return None


@dataclass
class Community:
    node: AssembledNode
    steward: Keypair
    issuer: Keypair
    alice: Keypair
    bob: Keypair
    carol: Keypair
    gardening: Transaction  # alice pays bob 1.50 h
    next_seq: dict[bytes, int]
    clock_ms: int = START_MS  # the next ledger's close time

    def build(self, source: Keypair, *ops: Operation, memo: bytes = b"") -> Transaction:
        seq = self.next_seq.get(source.public_key, 1)
        self.next_seq[source.public_key] = seq + 1
        body = TransactionBody(source.public_key, seq, self.node.chain.last.seq + 1000, memo, tuple(ops))
        return build_transaction(self.node.api.network_id, body, (source,))

    async def run(self, source: Keypair, *ops: Operation, memo: bytes = b"") -> Transaction:
        """Submit one transaction and wait until its ledger closed."""
        (tx,) = await self.run_all([self.build(source, *ops, memo=memo)])
        return tx

    async def run_all(self, txs: list[Transaction]) -> list[Transaction]:
        """Close the next ledger with exactly ``txs`` (as if the validators agreed on them)."""
        chain = self.node.chain
        tx_set = make_tx_set(chain.last.hash, txs)
        closed = await chain.close(tx_set, CloseValue(tx_set.hash, self.clock_ms), ())
        assert closed is not None
        self.clock_ms += LEDGER_STEP_MS
        return txs

    async def upgrade(self, version: int) -> None:
        """Close an empty ledger that moves the network to protocol ``version``."""
        chain = self.node.chain
        tx_set = make_tx_set(chain.last.hash, [])
        value = CloseValue(tx_set.hash, self.clock_ms, (("protocol_version", version),))
        assert await chain.close(tx_set, value, ()) is not None
        self.clock_ms += 1000
        assert chain.last.version == version


@asynccontextmanager
async def lone_node(folder: Path) -> AsyncIterator[AssembledNode]:
    keypair = Keypair(nacl.utils.random(32))
    config = NodeConfig(
        path=folder / "node.toml",
        role="validator",
        network_passphrase=PASSPHRASE,
        data_dir=folder / "data",
        key_file=folder / "node.key",
        quorum_set=QuorumSet(1, (keypair.public_key,)),
        close_interval_ms=50,
    )
    node = assemble_node(config=config, keypair=keypair, transport=LoneTransport(), metrics=NodeMetrics())
    try:
        yield node  # not serving: the tests close ledgers themselves (Community.run_all)
    finally:
        node.store.close()


async def seed_community(node: AssembledNode) -> Community:
    steward, issuer, alice, bob, carol = (Keypair(nacl.utils.random(32)) for _ in range(5))
    members = (alice.public_key, bob.public_key, carol.public_key)
    community = Community(node, steward, issuer, alice, bob, carol, None, {})  # type: ignore[arg-type]
    await community.run(
        steward,
        CreateCurrency("HOUR", CurrencyKind.TIME, 2, (steward.public_key,), 1, 1000),
        CreateCurrency("LETS", CurrencyKind.MUTUAL, 2, (steward.public_key,), 1, 10_000),
        memo=b"demo: a time bank and a LETS",
    )
    await community.run(
        steward, *(AdmitMember(code, m, None) for code in ("HOUR", "LETS") for m in members), memo=b"welcome"
    )
    await community.run(issuer, CreateCurrency("BRX", CurrencyKind.ISSUED, 2, (issuer.public_key,), 1, 0))
    await community.run(issuer, *(Mint("BRX", m, 5000) for m in members))
    community.gardening = await community.run(alice, Payment(bob.public_key, "HOUR", 150), memo=b"gardening")
    return community


async def fetch_page(node: AssembledNode, path: str, status: int = 200) -> str:
    """GET ``path`` from the node's app (API and pages) and check the status."""
    app = create_app(node.api, explorer=node.api)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://node") as client:
        answer = await client.get(path)
    assert answer.status_code == status, (path, answer.status_code, answer.text[:500])
    return answer.text


def community_fixture() -> Any:
    """The ``community`` fixture for a test module (``community = community_fixture()``): a node
    with the demo community on its ledger. (tests/ has no packages, so a second conftest.py would
    clash with tests/wallet's under mypy.)"""

    @pytest.fixture
    async def community(tmp_path: Path) -> AsyncIterator[Community]:
        async with lone_node(tmp_path) as node:
            yield await seed_community(node)

    return community


class DesignTown:
    """The demo community with the designs of protocol version 3 (``seed_designs``)."""

    def __init__(self, community: Community) -> None:
        self.c = community
        self.city, self.org, self.shop, self.bakery, self.new_key = (
            Keypair(nacl.utils.random(32)) for _ in range(5)
        )


async def seed_designs(community: Community) -> DesignTown:
    """Protocol version 3 and its designs on top of ``seed_community``: guaranteed care time CARE
    (guarantor city, organisation org with a 100 h quota that credited alice 3 h, 1 h redeemed),
    a spend-locally pound PND with two businesses, an exchange agreement HOUR–LETS that alice
    used, and alice's guardians bob and carol, who both approved a new key."""
    town = DesignTown(community)
    c, steward, issuer = community, community.steward, community.issuer
    alice, bob = c.alice, c.bob
    await c.upgrade(PROTOCOL_V3)
    guaranteed = CurrencyTerms(guaranteed=True, accept=Acceptance.PROVIDERS)
    await c.run(
        town.city,
        CreateCurrency("CARE", CurrencyKind.TIME, 2, (town.city.public_key,), 1, 0, 0, 0, None, guaranteed),
    )
    await c.run(
        town.city,
        Accredit("CARE", town.org.public_key, 10_000),
        AdmitMember("CARE", alice.public_key),
        AdmitMember("CARE", bob.public_key),
    )
    await c.run(town.org, CreditHours("CARE", alice.public_key, 300, "visiting Mrs. M"))
    await c.run(alice, Payment(town.org.public_key, "CARE", 100))
    registered = CurrencyTerms(accept=Acceptance.REGISTERED)
    await c.run(
        issuer,
        CreateCurrency("PND", CurrencyKind.ISSUED, 2, (issuer.public_key,), 1, 0, 0, 0, None, registered),
    )
    await c.run(
        issuer,
        RegisterBusiness("PND", town.shop.public_key, "Corner Shop", "groceries", "5 % off"),
        RegisterBusiness("PND", town.bakery.public_key, "Bakery", "food"),
        Mint("PND", alice.public_key, 5000),
    )
    agree_hour = Propose("HOUR", "LETS", b"", (AgreeExchange("LETS", 10, 1, 500, 5000),))
    agree_lets = Propose("LETS", "HOUR", b"", (AgreeExchange("HOUR", 1, 10, 5000, 500),))
    await c.run(steward, agree_hour, agree_lets)
    await c.run(alice, ExchangePay(bob.public_key, 1000, "HOUR", 100, (Hop("LETS", 1),)))
    await c.run(alice, SetGuardians((bob.public_key, c.carol.public_key), 2, 3 * 86_400))
    await c.run(bob, ApproveRecovery(alice.public_key, town.new_key.public_key))
    await c.run(c.carol, ApproveRecovery(alice.public_key, town.new_key.public_key))
    return town
