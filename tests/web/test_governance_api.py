"""The governance endpoints on a real node (LevelDB store, chain, mempool, façade; the test closes
each ledger itself with the close time it chooses): proposals one by one, by currency and open
network-wide, the commons fund, the governance keys of a currency and of a holding, and the
refusals the mempool gives a second vote or a stranger's vote."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import nacl.utils
import pytest
from web_node import lone_node

from node.api.app import create_app
from node.assembly import AssembledNode
from protocol.addresses import encode_account
from protocol.governance.actions import SetDefaultCreditLimit
from protocol.governance.fund import fund_address
from protocol.governance.operations import CastVote, Propose, VoteChoice
from protocol.governance.rules import GovernancePolicy, GovernanceRules
from protocol.keys import Keypair
from protocol.ledger import CloseValue, make_tx_set
from protocol.operations import AdmitMember, CreateCurrency, CurrencyKind, Operation, Payment
from protocol.transactions import Transaction, TransactionBody, build_transaction
from protocol.versions import PROTOCOL_V2

START_MS = 1_800_000_000_000


class Town:
    def __init__(self, node: AssembledNode) -> None:
        self.node = node
        self.clock_ms = START_MS
        self.seqs: dict[bytes, int] = {}
        self.steward, self.alice, self.bob, self.carol = (Keypair(nacl.utils.random(32)) for _ in range(4))

    def tx(self, source: Keypair, *ops: Operation) -> Transaction:
        seq = self.seqs.get(source.public_key, 1)
        self.seqs[source.public_key] = seq + 1
        body = TransactionBody(source.public_key, seq, self.node.chain.last.seq + 100, b"", ops)
        return build_transaction(self.node.api.network_id, body, (source,))

    async def close(self, *txs: Transaction, after_ms: int = 1000, upgrade: bool = False) -> None:
        chain = self.node.chain
        tx_set = make_tx_set(chain.last.hash, txs)
        self.clock_ms += after_ms
        upgrades = (("protocol_version", PROTOCOL_V2),) if upgrade else ()
        closed = await chain.close(tx_set, CloseValue(tx_set.hash, self.clock_ms, upgrades), ())
        assert closed is not None
        assert all(r.ok for r in closed.results), closed.results


@pytest.fixture
async def town(tmp_path: Path) -> AsyncIterator[Town]:
    async with lone_node(tmp_path) as node:
        t = Town(node)
        await t.close(upgrade=True)
        rules = GovernanceRules(GovernancePolicy.MEMBERS, 30, 50, 50)
        members = (t.alice, t.bob, t.carol)
        await t.close(
            t.tx(
                t.steward,
                CreateCurrency(
                    "DEMOS", CurrencyKind.MUTUAL, 2, (t.steward.public_key,), 1, 1000, 0, 0, rules
                ),
            )
        )
        await t.close(t.tx(t.steward, *(AdmitMember("DEMOS", m.public_key) for m in members)))
        await t.close(
            t.tx(t.alice, Propose("DEMOS", "More credit", b"", (SetDefaultCreditLimit(2000),))),
            t.tx(t.carol, Payment(fund_address("DEMOS"), "DEMOS", 250)),
        )
        await t.close(
            t.tx(t.bob, CastVote("DEMOS", 1, VoteChoice.YES)),
            t.tx(t.alice, CastVote("DEMOS", 1, VoteChoice.ABSTAIN)),
        )
        yield t


def _client(town: Town) -> httpx.AsyncClient:
    api = town.node.api
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(api, explorer=api)), base_url="http://node"
    )


async def test_proposals_funds_and_governance_keys(town: Town) -> None:
    async with _client(town) as client:
        one = (await client.get("/proposals/demos-1")).json()
        assert {
            k: one[k] for k in ("proposal", "status", "yes", "no", "abstain", "electorate", "passing")
        } == {
            "proposal": "DEMOS-1",
            "status": "open",
            "yes": 1,
            "no": 0,
            "abstain": 1,
            "electorate": 3,
            "passing": True,
        }
        assert one["deadline"] == one["created_ms"] + 30_000
        assert one["actions"] == [{"action": "set_default_credit_limit", "credit_limit": 2000}]
        assert one["proposer"] == encode_account(town.alice.public_key)
        listed = (await client.get("/proposals", params={"currency": "DEMOS"})).json()
        assert [p["proposal"] for p in listed["items"]] == ["DEMOS-1"]
        assert listed["next"] is None
        opened = (await client.get("/proposals", params={"status": "open"})).json()
        assert [p["proposal"] for p in opened["items"]] == ["DEMOS-1"]
        for path, params, status in (
            ("/proposals", {}, 400),
            ("/proposals", {"status": "maybe"}, 400),
            ("/proposals/NOPE-1", {}, 404),
            ("/proposals/DEMOS-0", {}, 400),
            ("/proposals/garbage", {}, 400),
            ("/proposals", {"currency": "NOPE"}, 404),
        ):
            assert (await client.get(path, params=params)).status_code == status, path
        fund = (await client.get("/currencies/DEMOS/fund")).json()
        assert {k: fund[k] for k in ("balance", "credit_limit", "available")} == {
            "balance": 250,
            "credit_limit": 0,
            "available": 250,
        }
        assert fund["address"] == encode_account(fund_address("DEMOS"))
        currency = (await client.get("/currencies/DEMOS")).json()
        assert {
            k: currency[k]
            for k in (
                "governance",
                "voting_period_s",
                "quorum_pct",
                "majority_pct",
                "admission",
                "open_proposals",
            )
        } == {
            "governance": "members",
            "voting_period_s": 30,
            "quorum_pct": 50,
            "majority_pct": 50,
            "admission": "stewards",
            "open_proposals": 1,
        }
        members = (await client.get("/currencies/DEMOS/members")).json()["items"]
        assert {m["role"] for m in members} == {"member", "fund"}
        info = (await client.get("/node")).json()
        assert info["ledger"]["protocol_version"] == PROTOCOL_V2

        # a second vote, and a stranger's, are refused at the door with their own codes
        for source in (town.bob, town.steward):
            tx = town.tx(source, CastVote("DEMOS", 1, VoteChoice.NO))
            body = {"tx": base64.b64encode(tx.encode()).decode()}
            (result,) = (await client.post("/tx", json=body)).json()["results"]
            assert (result["status"], result["code"]) == (
                "rejected",
                "already_voted" if source is town.bob else "not_member",
            )
            town.seqs[source.public_key] -= 1

        await town.close(after_ms=30_000)  # the deadline passes with this ledger
        decided = (await client.get("/proposals/DEMOS-1")).json()
        assert decided["status"] == "passed"
        assert (await client.get("/currencies/DEMOS")).json()["default_credit_limit"] == 2000
        assert (await client.get("/proposals", params={"status": "open"})).json()["items"] == []
