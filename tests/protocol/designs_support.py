"""Helpers for the tests of protocol version 3: a town with a guaranteed care-time currency, a
spend-locally pound and two communities that exchange, on a chain of real closed ledgers."""

from __future__ import annotations

from governance_support import ALICE, BOB, CAROL, ISSUER, STEWARD, Chain, governed_currency
from protocol_support import KEYS

from protocol.designs.actions import AgreeExchange
from protocol.designs.clearing import clearing_address
from protocol.designs.entries import Accreditation, ExchangeAgreement, accreditation_key, agreement_key
from protocol.designs.operations import Accredit, ExchangePay, Hop, RegisterBusiness
from protocol.designs.terms import Acceptance, CurrencyTerms
from protocol.governance.operations import Propose
from protocol.governance.rules import GovernanceRules
from protocol.keys import Keypair
from protocol.operations import AdmitMember, CreateCurrency, CurrencyKind, Mint, Operation
from protocol.results import TxResult
from protocol.state import StateOverlay
from protocol.versions import PROTOCOL_V3

CITY, ORG, SHOP, BAKERY, NEWKEY = KEYS[5], KEYS[6], KEYS[7], KEYS[10], KEYS[11]
HOUR_QUOTA = 1000  # 10.00 h
GUARANTEED = CurrencyTerms(guaranteed=True, accept=Acceptance.PROVIDERS)
REGISTERED = CurrencyTerms(accept=Acceptance.REGISTERED)
LETS_PER_HOUR = 10  # 1.00 h buys 10.00 LETS (both with 2 decimals)
HOUR_LIMIT, LETS_LIMIT = 500, 5000  # 5.00 h and 50.00 LETS


def care_currency(
    code: str = "CARE", terms: CurrencyTerms = GUARANTEED, rules: GovernanceRules | None = None
) -> CreateCurrency:
    return CreateCurrency(code, CurrencyKind.TIME, 2, (CITY.public_key,), 1, 0, 0, 0, rules, terms)


def pound(code: str = "PND") -> CreateCurrency:
    return CreateCurrency(code, CurrencyKind.ISSUED, 2, (ISSUER.public_key,), 1, 0, 0, 0, None, REGISTERED)


def agree(code: str, partner: str, num: int, den: int, own: int, other: int) -> Operation:
    """A steward-signed proposal: the stewards' policy runs it at once."""
    return Propose(code, f"exchange with {partner}", b"", (AgreeExchange(partner, num, den, own, other),))


def town() -> Chain:
    """CARE (guaranteed by CITY, redeemed with providers; ORG accredited for 10 h; ALICE, BOB
    members), PND (spend locally; SHOP registered; ALICE holds 50.00), and HOUR (time) and LETS
    (mutual) of STEWARD with ALICE, BOB, CAROL members, exchanging 1 h for 10 LETS, each clearing account within 5 h or
    50 LETS."""
    chain = Chain(PROTOCOL_V3)
    assert chain.run(CITY, [care_currency()]).ok
    assert chain.run(
        CITY,
        [
            Accredit("CARE", ORG.public_key, HOUR_QUOTA),
            AdmitMember("CARE", ALICE.public_key),
            AdmitMember("CARE", BOB.public_key),
        ],
    ).ok
    assert chain.run(ISSUER, [pound()]).ok
    assert chain.run(
        ISSUER,
        [
            RegisterBusiness("PND", SHOP.public_key, "Corner Shop", "groceries", "5 % off"),
            Mint("PND", ALICE.public_key, 5000),
        ],
    ).ok
    assert chain.run(
        STEWARD,
        [
            governed_currency("HOUR", kind=CurrencyKind.TIME, rules=None, limit=1000),
            governed_currency("LETS", rules=None, limit=10_000),
        ],
    ).ok
    members = [k.public_key for k in (ALICE, BOB, CAROL)]
    assert chain.run(STEWARD, [AdmitMember(c, m) for c in ("HOUR", "LETS") for m in members]).ok
    assert chain.run(
        STEWARD,
        [
            agree("HOUR", "LETS", LETS_PER_HOUR, 1, HOUR_LIMIT, LETS_LIMIT),
            agree("LETS", "HOUR", 1, LETS_PER_HOUR, LETS_LIMIT, HOUR_LIMIT),
        ],
    ).ok
    return chain


def run(chain: Chain, source: Keypair, *ops: Operation, signers: list[Keypair] | None = None) -> TxResult:
    return chain.run(source, list(ops), signers=signers)


def accreditation(chain: Chain, organisation: Keypair, code: str = "CARE") -> Accreditation:
    found = StateOverlay(chain.state).get(accreditation_key(code, organisation.public_key))
    assert isinstance(found, Accreditation)
    return found


def agreement(chain: Chain, a: str = "HOUR", b: str = "LETS") -> ExchangeAgreement:
    found = StateOverlay(chain.state).get(agreement_key(a, b))
    assert isinstance(found, ExchangeAgreement)
    return found


def clearing(chain: Chain, code: str, partner: str) -> int:
    return chain.balance(clearing_address(code, partner), code)


def exchange(
    to: Keypair, amount: int, pay_in: str, receive_in: str, version: int = 1, most: int = 10**9
) -> ExchangePay:
    return ExchangePay(to.public_key, amount, pay_in, most, (Hop(receive_in, version),))
