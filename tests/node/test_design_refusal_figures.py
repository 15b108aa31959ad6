"""Refusals of protocol version 3 carry their figures (node.design_refusals) and the wallet puts
them into words (wallet.design_refusals): quotas, whom a currency may be paid to, exchange
versions, costs and limits, recovery delays and approvals."""

from __future__ import annotations

from typing import Any

from node.mempool import Admission, Mempool
from protocol.addresses import encode_account
from protocol.designs.actions import AgreeExchange
from protocol.designs.operations import (
    Accredit,
    ApproveRecovery,
    CreditHours,
    ExchangePay,
    FinishRecovery,
    Hop,
    RegisterBusiness,
    SetGuardians,
)
from protocol.designs.terms import Acceptance, CurrencyTerms
from protocol.governance.operations import Propose
from protocol.hashing import network_id
from protocol.keys import Keypair
from protocol.operations import AdmitMember, CreateCurrency, CurrencyKind, Mint, Operation, Payment
from protocol.state import MemoryState
from protocol.transactions import Transaction, TransactionBody, build_transaction
from protocol.versions import PROTOCOL_V3
from wallet.describe import Units
from wallet.fields import Fields
from wallet.refusals import refusal_message
from wallet.views import TxResultView

NETWORK = network_id("Tally design refusal figures test network")
CITY, ORG, ALICE, BOB, SHOP, ISSUER, STEWARD, NEW = (Keypair(bytes([n]) * 32) for n in range(1, 9))
UNITS = {
    "CARE": Units(CurrencyKind.TIME, 2),
    "HOUR": Units(CurrencyKind.TIME, 2),
    "LETS": Units(CurrencyKind.MUTUAL, 2),
    "PND": Units(CurrencyKind.ISSUED, 2),
}


class Pool:
    def __init__(self) -> None:
        self.mempool = Mempool(MemoryState(), 2, protocol_version=PROTOCOL_V3)
        self.seq: dict[bytes, int] = {}

    def tx(self, source: Keypair, *ops: Operation) -> Transaction:
        body = TransactionBody(
            source.public_key, self.seq.get(source.public_key, 0) + 1, 1000, b"", tuple(ops)
        )
        return build_transaction(NETWORK, body, (source,))

    def add(self, source: Keypair, *ops: Operation) -> Admission:
        admission = self.mempool.add(self.tx(source, *ops))
        if admission.accepted:
            self.seq[source.public_key] = self.seq.get(source.public_key, 0) + 1
        return admission

    def ok(self, source: Keypair, *ops: Operation) -> None:
        admission = self.add(source, *ops)
        assert admission.accepted, admission

    def words(self, source: Keypair, *ops: Operation) -> tuple[str, dict[str, Any], str]:
        """(code, figures, the wallet's sentence) of a refused transaction."""
        admission = self.add(source, *ops)
        assert not admission.accepted
        answer = {
            "hash": "00" * 32,
            "status": "rejected",
            "code": str(admission.code),
            "figures": dict(admission.figures),
        }
        view = TxResultView.parse(Fields(answer, "result"))
        return str(admission.code), dict(admission.figures), refusal_message(view, ops, UNITS)


def town() -> Pool:
    pool = Pool()
    guaranteed = CurrencyTerms(guaranteed=True, accept=Acceptance.PROVIDERS)
    pool.ok(
        CITY, CreateCurrency("CARE", CurrencyKind.TIME, 2, (CITY.public_key,), 1, 0, 0, 0, None, guaranteed)
    )
    pool.ok(CITY, Accredit("CARE", ORG.public_key, 1000), AdmitMember("CARE", ALICE.public_key))
    registered = CurrencyTerms(accept=Acceptance.REGISTERED)
    pool.ok(
        ISSUER,
        CreateCurrency("PND", CurrencyKind.ISSUED, 2, (ISSUER.public_key,), 1, 0, 0, 0, None, registered),
    )
    pool.ok(
        ISSUER, RegisterBusiness("PND", SHOP.public_key, "Shop", "food"), Mint("PND", ALICE.public_key, 500)
    )
    steward = (STEWARD.public_key,)
    pool.ok(STEWARD, CreateCurrency("HOUR", CurrencyKind.TIME, 2, steward, 1, 1000))
    pool.ok(STEWARD, CreateCurrency("LETS", CurrencyKind.MUTUAL, 2, steward, 1, 10_000))
    pool.ok(STEWARD, *(AdmitMember(c, k.public_key) for c in ("HOUR", "LETS") for k in (ALICE, BOB)))
    pool.ok(
        STEWARD,
        Propose("HOUR", "x", b"", (AgreeExchange("LETS", 10, 1, 300, 3000),)),
        Propose("LETS", "x", b"", (AgreeExchange("HOUR", 1, 10, 3000, 300),)),
    )
    return pool


def test_guaranteed_credits_and_spend_locally_refusals_in_numbers() -> None:
    pool = town()
    code, figures, words = pool.words(ORG, CreditHours("CARE", ALICE.public_key, 1200, "care"))
    assert (code, figures["quota"], figures["credited"], figures["asked"]) == ("over_quota", 1000, 0, 1200)
    assert "10.00 h are left, asked 12.00 h" in words
    code, figures, words = pool.words(ALICE, Payment(BOB.public_key, "PND", 100))
    assert (code, figures["account"]) == ("not_registered", encode_account(BOB.public_key))
    assert "PND is spent only with registered businesses" in words
    assert "tally currency businesses PND" in words
    code, _figures, words = pool.words(ALICE, CreditHours("CARE", BOB.public_key, 1, "x"))
    assert code == "not_accredited"
    assert "not accredited to credit hours in CARE" in words


def test_exchange_refusals_in_numbers() -> None:
    pool = town()
    stale = pool.words(ALICE, ExchangePay(BOB.public_key, 100, "HOUR", 10, (Hop("LETS", 2),)))
    assert (stale[0], stale[1]["version"], stale[1]["signed_version"]) == ("stale_rate", 1, 2)
    assert "version 1, this payment was signed for version 2" in stale[2]
    costly = pool.words(ALICE, ExchangePay(BOB.public_key, 1000, "HOUR", 99, (Hop("LETS", 1),)))
    assert (costly[0], costly[1]["asked"], costly[1]["send_max"]) == ("over_send_max", 100, 99)
    far = pool.words(ALICE, ExchangePay(BOB.public_key, 4000, "HOUR", 400, (Hop("LETS", 1),)))
    assert far[0] == "over_exchange_limit"
    assert {k: far[1][k] for k in ("partner", "limit", "position", "partner_limit")} == {
        "partner": "LETS",
        "limit": 300,
        "position": 0,
        "partner_limit": 3000,
    }
    assert "HOUR's clearing account stands at 0.00 h of ±3.00 h" in far[2]


def test_recovery_refusals_in_numbers() -> None:
    pool = town()
    pool.ok(ALICE, SetGuardians((BOB.public_key, CITY.public_key), 2, 3600))
    pool.ok(BOB, ApproveRecovery(ALICE.public_key, NEW.public_key))
    few = pool.words(NEW, FinishRecovery(ALICE.public_key))
    assert (few[0], few[1]["approvals"], few[1]["threshold"]) == ("too_few_guardians", 1, 2)
    assert "1 approved the same new key, 2 must" in few[2]
    pool.ok(CITY, ApproveRecovery(ALICE.public_key, NEW.public_key))
    early = pool.words(NEW, FinishRecovery(ALICE.public_key))
    assert (early[0], early[1]["due_ms"]) == ("recovery_not_due", 3_600_000)
    assert "it can finish from 1970-01-01 01:00 UTC" in early[2]
    outsider = pool.words(SHOP, ApproveRecovery(ALICE.public_key, NEW.public_key))
    assert (outsider[0], outsider[1]["account"]) == ("not_guardian", encode_account(ALICE.public_key))
