"""Spend-locally money: holders pay only registered businesses; businesses pay each other and give
change to anyone; the issuer mints to anyone and businesses redeem with it; the issuer (or a
stewards' proposal) registers and removes businesses."""

from __future__ import annotations

from dataclasses import replace

from designs_support import BAKERY, SHOP, pound, run, town
from governance_support import ALICE, BOB, CAROL, ISSUER, STEWARD, Chain

from protocol.designs.actions import DelistBusiness, ListBusiness
from protocol.designs.entries import Business, business_key
from protocol.designs.operations import RegisterBusiness, RemoveBusiness
from protocol.governance.operations import Propose
from protocol.operations import Mint, Payment, Redeem
from protocol.results import ResultCode
from protocol.state import StateOverlay

R = ResultCode


def _pay(chain: Chain, payer: object, payee: object, amount: int) -> ResultCode:
    return run(chain, payer, Payment(payee.public_key, "PND", amount)).code  # type: ignore[arg-type, attr-defined]


def test_the_pound_circulates_between_people_and_local_businesses() -> None:
    chain = town()
    assert run(chain, ISSUER, Mint("PND", BOB.public_key, 1000)).ok  # the issuer mints to anyone
    assert run(chain, ISSUER, RegisterBusiness("PND", BAKERY.public_key, "Bakery", "food")).ok
    assert _pay(chain, ALICE, SHOP, 500) is R.OK
    assert _pay(chain, ALICE, BOB, 100) is R.NOT_REGISTERED  # people pay businesses only
    assert _pay(chain, SHOP, BAKERY, 200) is R.OK  # businesses pay each other
    assert _pay(chain, SHOP, CAROL, 50) is R.OK  # and give change to anyone
    assert _pay(chain, CAROL, BAKERY, 50) is R.OK
    assert _pay(chain, ALICE, ISSUER, 100) is R.NOT_REGISTERED  # only businesses redeem
    assert _pay(chain, BAKERY, ISSUER, 250) is R.OK  # the bakery redeems with the issuer
    assert run(chain, ISSUER, Redeem("PND", 250)).ok
    assert chain.currency("PND").supply == 5000 + 1000 - 250


def test_the_issuer_registers_and_removes_businesses() -> None:
    chain = town()
    found = StateOverlay(chain.state).get(business_key("PND", SHOP.public_key))
    assert found == Business("PND", SHOP.public_key, "Corner Shop", "groceries", "5 % off")
    assert run(chain, ISSUER, RemoveBusiness("PND", SHOP.public_key)).ok
    assert _pay(chain, ALICE, SHOP, 100) is R.NOT_REGISTERED
    assert run(chain, ISSUER, RemoveBusiness("PND", SHOP.public_key)).code is R.NOT_REGISTERED
    assert run(chain, ALICE, RegisterBusiness("PND", ALICE.public_key, "Me", "shop")).code is R.NOT_ISSUER
    assert run(chain, ISSUER, RegisterBusiness("PND", SHOP.public_key, "Corner Shop", "groceries")).ok
    assert _pay(chain, ALICE, SHOP, 100) is R.OK
    # only spend-locally currencies have businesses
    assert run(chain, STEWARD, RegisterBusiness("LETS", SHOP.public_key, "Shop", "food")).code is R.WRONG_KIND


def test_blank_names_and_control_characters_are_malformed() -> None:
    chain = town()
    for name, category, offer in (("", "food", ""), ("Shop", " ", ""), ("Shop", "food", "line\nbreak")):
        op = RegisterBusiness("PND", BAKERY.public_key, name, category, offer)
        assert run(chain, ISSUER, op).code is R.MALFORMED


def test_stewards_register_businesses_by_proposal() -> None:
    chain = town()
    listing = Propose(
        "PND", "a bakery", b"", (ListBusiness(BAKERY.public_key, "Bakery", "food", "a free roll"),)
    )
    assert run(chain, ISSUER, listing).ok  # the issuer is PND's only steward: it runs at once
    assert _pay(chain, ALICE, BAKERY, 100) is R.OK
    assert run(chain, ISSUER, Propose("PND", "gone", b"", (DelistBusiness(BAKERY.public_key),))).ok
    assert _pay(chain, ALICE, BAKERY, 100) is R.NOT_REGISTERED


def test_a_plain_issued_currency_is_paid_to_anyone_as_before() -> None:
    chain = town()
    assert run(chain, ISSUER, replace(pound("FREE"), terms=None)).ok
    assert run(chain, ISSUER, Mint("FREE", ALICE.public_key, 100)).ok
    assert run(chain, ALICE, Payment(BOB.public_key, "FREE", 100)).ok
