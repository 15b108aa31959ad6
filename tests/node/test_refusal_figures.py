"""A refused transaction's answer carries the figures behind the refusal (node.refusals): the mempool
reports them and ``POST /tx`` returns them as ``figures``, so a client never re-checks the rules."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from node.api.app import create_app
from node.mempool import Admission, Mempool
from node.tx_status import TxStatus
from protocol.addresses import encode_account
from protocol.hashing import network_id
from protocol.keys import Keypair
from protocol.operations import (
    AdmitMember,
    CreateCurrency,
    CurrencyKind,
    Mint,
    Operation,
    Payment,
    Redeem,
    SetSigners,
)
from protocol.state import MemoryState
from protocol.transactions import Transaction, TransactionBody, TxHeader, build_transaction

NETWORK = network_id("Tally refusal figures test network")
STEWARD, ALICE, BOB, CAROL = (Keypair(bytes([n]) * 32) for n in (1, 2, 3, 4))


class Chain:
    """One mempool; each account's next sequence number counted here."""

    def __init__(self) -> None:
        self.mempool = Mempool(MemoryState(), 2)
        self.seq: dict[bytes, int] = {}

    def tx(self, source: Keypair, *ops: Operation, seq: int | None = None, last: int = 1000) -> Transaction:
        number = seq if seq is not None else self.seq.get(source.public_key, 0) + 1
        body = TransactionBody(source.public_key, number, last, b"", tuple(ops))
        return build_transaction(NETWORK, body, (source,))

    def add(self, source: Keypair, *ops: Operation, **kw: Any) -> Admission:
        admission = self.mempool.add(self.tx(source, *ops, **kw))
        if admission.accepted:
            self.seq[source.public_key] = self.seq.get(source.public_key, 0) + 1
        return admission

    def ok(self, source: Keypair, *ops: Operation) -> None:
        admission = self.add(source, *ops)
        assert admission.accepted, admission


def community() -> Chain:
    """HOUR (time bank, credit limit 10.00 h) with alice and bob; BRX (issued) with 5.00 for alice."""
    chain = Chain()
    steward = STEWARD.public_key
    chain.ok(STEWARD, CreateCurrency("HOUR", CurrencyKind.TIME, 2, (steward,), 1, 1000))
    chain.ok(STEWARD, *(AdmitMember("HOUR", k.public_key, None) for k in (ALICE, BOB)))
    chain.ok(STEWARD, CreateCurrency("BRX", CurrencyKind.ISSUED, 2, (steward,), 1, 0, 2000))
    chain.ok(STEWARD, Mint("BRX", ALICE.public_key, 500))
    return chain


def test_over_credit_limit_reports_available_and_asked_after_earlier_operations() -> None:
    chain = community()
    chain.ok(ALICE, Payment(BOB.public_key, "HOUR", 150))
    single = chain.add(ALICE, Payment(BOB.public_key, "HOUR", 1200))
    assert (single.code, dict(single.figures)) == (
        "over_credit_limit",
        {"op_index": 0, "currency": "HOUR", "available": 850, "asked": 1200},
    )
    # the second payment meets the state the first one left: 8.50 - 3.00 = 5.50 h available
    double = chain.add(ALICE, Payment(BOB.public_key, "HOUR", 300), Payment(BOB.public_key, "HOUR", 600))
    assert dict(double.figures) == {"op_index": 1, "currency": "HOUR", "available": 550, "asked": 600}


def test_underfunded_membership_ceiling_issuer_and_kind_figures() -> None:
    chain = community()
    alice, bob, carol = (encode_account(k.public_key) for k in (ALICE, BOB, CAROL))
    under = chain.add(ALICE, Payment(BOB.public_key, "BRX", 501))
    assert (under.code, under.figures["available"], under.figures["asked"]) == ("underfunded", 500, 501)
    redeem = chain.add(STEWARD, Redeem("BRX", 1))
    assert (redeem.code, redeem.figures["available"]) == ("underfunded", 0)
    ceiling = chain.add(STEWARD, Mint("BRX", ALICE.public_key, 1501))
    assert (ceiling.code, dict(ceiling.figures)) == (
        "over_max_balance",
        {
            "op_index": 0,
            "currency": "BRX",
            "account": alice,
            "balance": 500,
            "asked": 1501,
            "max_balance": 2000,
        },
    )
    stranger = chain.add(CAROL, Payment(ALICE.public_key, "HOUR", 1))
    assert (stranger.code, stranger.figures["account"]) == ("not_member", carol)
    to_stranger = chain.add(ALICE, Payment(CAROL.public_key, "HOUR", 1))
    assert (to_stranger.code, to_stranger.figures["account"]) == ("destination_not_member", carol)
    twice = chain.add(STEWARD, AdmitMember("HOUR", BOB.public_key, None))
    assert (twice.code, twice.figures["account"]) == ("already_member", bob)
    not_issuer = chain.add(ALICE, Mint("BRX", ALICE.public_key, 1))
    assert (not_issuer.code, not_issuer.figures["issuer"]) == (
        "not_issuer",
        encode_account(STEWARD.public_key),
    )
    kind = chain.add(STEWARD, Mint("HOUR", ALICE.public_key, 1))
    assert (kind.code, kind.figures["kind"]) == ("wrong_kind", "time")
    steward = chain.add(ALICE, AdmitMember("HOUR", CAROL.public_key, None))
    assert (steward.code, steward.figures["steward_threshold"], steward.figures["steward_signatures"]) == (
        "bad_steward_auth",
        1,
        0,
    )
    signers = chain.add(ALICE, SetSigners(((ALICE.public_key, 1),), 2))
    assert (signers.code, signers.figures["threshold"], signers.figures["total_weight"]) == (
        "bad_signers",
        2,
        1,
    )


def test_transaction_level_figures() -> None:
    chain = community()
    used = chain.add(STEWARD, Mint("BRX", ALICE.public_key, 1), seq=1)
    assert (used.code, dict(used.figures)) == ("bad_seq", {"expected_seq": 5, "seq": 1})
    far = chain.add(STEWARD, Mint("BRX", ALICE.public_key, 1), seq=500)
    assert (far.code, far.figures["expected_seq"]) == ("bad_seq", 5)
    late = chain.add(ALICE, Payment(BOB.public_key, "HOUR", 1), last=1)
    assert (late.code, dict(late.figures)) == ("too_late", {"last_valid_ledger": 1, "ledger": 2})
    chain.ok(ALICE, SetSigners(((ALICE.public_key, 1), (BOB.public_key, 1)), 2))
    alone = chain.add(ALICE, Payment(BOB.public_key, "HOUR", 1))
    assert (alone.code, dict(alone.figures)) == ("bad_auth", {"threshold": 2, "signed_weight": 1})


class _ApiNode:
    """The real mempool behind the API, nothing else."""

    network_id = NETWORK

    def __init__(self, chain: Chain) -> None:
        self.chain = chain

    def submit(self, transactions: list[Transaction], source: str | None = None) -> list[Admission]:
        return [self.chain.mempool.add(tx, source) for tx in transactions]

    def refuse_early(self, header: TxHeader, source: str | None = None) -> Admission | None:
        return self.chain.mempool.refuse_early(header, source)

    async def wait_for(self, tx_hashes: list[bytes], timeout_s: float) -> None:
        return None

    def tx_status(self, tx_hash: bytes) -> TxStatus:
        return TxStatus("pending")


async def test_post_tx_returns_the_figures_of_a_refusal_beside_the_existing_keys() -> None:
    chain = community()
    refused = chain.tx(ALICE, Payment(BOB.public_key, "HOUR", 1200))
    accepted = chain.tx(ALICE, Payment(BOB.public_key, "HOUR", 100))
    app = create_app(_ApiNode(chain))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://node") as client:
        body = {"txs": [base64.b64encode(tx.encode()).decode() for tx in (refused, accepted)] + ["AAAA"]}
        answer = (await client.post("/tx", json=body)).json()
    first, second, third = answer["results"]
    assert {"hash", "status", "code", "explanation", "ledger"} <= set(first)
    assert (first["status"], first["code"]) == ("rejected", "over_credit_limit")
    assert first["figures"] == {"op_index": 0, "currency": "HOUR", "available": 1000, "asked": 1200}
    assert second["status"] == "pending"
    assert "figures" not in second
    assert (third["code"], third["figures"]) == ("malformed", {})
