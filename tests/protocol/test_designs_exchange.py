"""Exchange between communities: agreed by each community's own governance, paid in one
transaction through the two clearing accounts within the agreed limits, rounded so that no value
is created, refused at a stale rate."""

from __future__ import annotations

from dataclasses import replace

import pytest
from designs_support import (
    HOUR_LIMIT,
    LETS_LIMIT,
    SHOP,
    agree,
    agreement,
    clearing,
    exchange,
    run,
    town,
)
from governance_support import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    ISSUER,
    MEMBERS_RULES,
    STEWARD,
    Chain,
    governed_currency,
)

from protocol.designs.actions import AgreeExchange
from protocol.designs.clearing import clearing_address
from protocol.designs.exchange import cost
from protocol.designs.operations import RegisterBusiness
from protocol.governance.operations import CastVote, Propose, VoteChoice
from protocol.operations import AdmitMember, CurrencyKind, Mint
from protocol.results import ResultCode
from protocol.versions import PROTOCOL_V3

R = ResultCode


def test_a_member_pays_in_her_currency_and_the_recipient_gets_his() -> None:
    chain = town()
    assert run(chain, ALICE, exchange(BOB, 2500, "HOUR", "LETS")).ok  # 25.00 LETS for 2.50 h
    assert chain.balance(ALICE, "HOUR") == -250
    assert chain.balance(BOB, "LETS") == 2500
    # HOUR's community holds 2.50 h for LETS's; LETS's community paid out 25.00 LETS
    assert (clearing(chain, "HOUR", "LETS"), clearing(chain, "LETS", "HOUR")) == (250, -2500)
    # and back: BOB pays CAROL in hours with his LETS, unwinding the positions
    assert run(chain, BOB, exchange(CAROL, 100, "LETS", "HOUR")).ok
    assert chain.balance(BOB, "LETS") == 1500
    assert (clearing(chain, "HOUR", "LETS"), clearing(chain, "LETS", "HOUR")) == (150, -1500)
    # converting one's own money is a payment to oneself
    assert run(chain, CAROL, exchange(CAROL, 1000, "HOUR", "LETS")).ok
    assert (chain.balance(CAROL, "HOUR"), chain.balance(CAROL, "LETS")) == (0, 1000)


def test_both_communities_must_agree_to_the_same_terms() -> None:
    chain = Chain(PROTOCOL_V3)
    assert run(chain, STEWARD, governed_currency("HOUR", kind=CurrencyKind.TIME, rules=None)).ok
    assert run(chain, STEWARD, governed_currency("LETS", rules=None)).ok
    assert run(chain, STEWARD, AdmitMember("HOUR", ALICE.public_key), AdmitMember("LETS", BOB.public_key)).ok
    assert run(chain, STEWARD, agree("HOUR", "LETS", 10, 1, 1000, 10_000)).ok
    assert not agreement(chain).in_force
    assert run(chain, ALICE, exchange(BOB, 100, "HOUR", "LETS")).code is R.NO_AGREEMENT
    # the same terms seen from the other side (and an unreduced rate) are the same terms
    assert run(chain, STEWARD, agree("LETS", "HOUR", 20, 200, 10_000, 1000)).ok
    assert agreement(chain).in_force
    assert agreement(chain).version == 1
    assert run(chain, ALICE, exchange(BOB, 100, "HOUR", "LETS")).ok


def test_a_changed_agreement_pauses_exchanges_and_makes_signed_payments_stale() -> None:
    chain = town()
    signed_at_version_1 = exchange(BOB, 1000, "HOUR", "LETS", version=1)
    assert run(chain, STEWARD, agree("HOUR", "LETS", 12, 1, HOUR_LIMIT, LETS_LIMIT)).ok  # HOUR wants 12
    assert agreement(chain).version == 2
    assert run(chain, ALICE, signed_at_version_1).code is R.NO_AGREEMENT  # LETS has not agreed yet
    assert run(chain, STEWARD, agree("LETS", "HOUR", 1, 12, LETS_LIMIT, HOUR_LIMIT)).ok
    assert run(chain, ALICE, signed_at_version_1).code is R.STALE_RATE
    assert run(chain, ALICE, exchange(BOB, 1200, "HOUR", "LETS", version=2)).ok
    assert chain.balance(ALICE, "HOUR") == -100


@pytest.mark.parametrize(("num", "den", "amount", "expected"), [(10, 1, 1, 1), (3, 7, 10, 24), (7, 3, 10, 5)])
def test_amounts_round_up_against_the_payer(num: int, den: int, amount: int, expected: int) -> None:
    assert cost(amount, (num, den)) == expected
    assert expected * num >= amount * den  # what is paid is worth at least what is received
    assert (expected - 1) * num < amount * den  # and by less than one unit more


def test_limits_bound_each_clearing_account_and_positions_can_be_unwound() -> None:
    chain = town()
    assert run(chain, ALICE, exchange(BOB, 5000, "HOUR", "LETS")).ok  # 5.00 h: HOUR's limit exactly
    assert run(chain, CAROL, exchange(BOB, 10, "HOUR", "LETS")).code is R.OVER_EXCHANGE_LIMIT
    # both communities pause the exchange: limits 0
    assert run(chain, STEWARD, agree("HOUR", "LETS", 10, 1, 0, 0), agree("LETS", "HOUR", 1, 10, 0, 0)).ok
    version = agreement(chain).version
    assert run(chain, CAROL, exchange(BOB, 10, "HOUR", "LETS", version)).code is R.OVER_EXCHANGE_LIMIT
    assert run(chain, BOB, exchange(CAROL, 100, "LETS", "HOUR", version)).ok  # back towards zero
    assert (clearing(chain, "HOUR", "LETS"), clearing(chain, "LETS", "HOUR")) == (400, -4000)


def test_an_issued_currencys_clearing_account_pays_only_what_it_holds() -> None:
    chain = town()
    assert run(
        chain, ISSUER, governed_currency("BRX", kind=CurrencyKind.ISSUED, rules=None, stewards=[ISSUER])
    ).ok
    assert run(chain, ISSUER, Mint("BRX", CAROL.public_key, 1000)).ok
    assert run(chain, ISSUER, agree("BRX", "LETS", 1, 1, 5000, 5000)).ok
    assert run(chain, STEWARD, agree("LETS", "BRX", 1, 1, 5000, 5000)).ok
    assert run(chain, ALICE, exchange(CAROL, 100, "LETS", "BRX")).code is R.OVER_EXCHANGE_LIMIT
    assert run(chain, CAROL, exchange(ALICE, 300, "BRX", "LETS")).ok  # BRX flows in first
    assert run(chain, ALICE, exchange(CAROL, 100, "LETS", "BRX")).ok
    assert chain.balance(clearing_address("BRX", "LETS"), "BRX") == 200
    assert chain.currency("BRX").supply == 1000  # minted, and never created by an exchange


def test_spend_locally_money_leaves_only_through_registered_accounts() -> None:
    chain = town()
    assert run(chain, ISSUER, agree("PND", "LETS", 1, 1, 5000, 5000)).ok
    assert run(chain, STEWARD, agree("LETS", "PND", 1, 1, 5000, 5000)).ok
    clearing_pnd = clearing_address("PND", "LETS")
    assert run(chain, ALICE, exchange(BOB, 100, "PND", "LETS")).code is R.NOT_REGISTERED
    assert run(chain, ALICE, exchange(SHOP, 100, "LETS", "PND")).code is R.OVER_EXCHANGE_LIMIT  # holds none
    assert run(chain, ISSUER, Mint("PND", clearing_pnd, 1000)).ok  # the issuer funds its side
    assert run(chain, ALICE, exchange(SHOP, 100, "LETS", "PND")).ok  # into the pound: to anyone
    assert run(chain, SHOP, exchange(ALICE, 50, "PND", "LETS")).ok  # a business pays anyone
    # registering the clearing account as a business lets every holder exchange out
    assert run(chain, ISSUER, RegisterBusiness("PND", clearing_pnd, "LETS exchange", "exchange")).ok
    assert run(chain, ALICE, exchange(BOB, 10, "PND", "LETS")).ok
    assert chain.balance(clearing_pnd, "PND") == 1000 - 100 + 50 + 10


def test_members_vote_on_their_side_of_an_agreement() -> None:
    chain = town()
    assert run(chain, STEWARD, governed_currency("DEMOS", rules=MEMBERS_RULES)).ok
    assert run(
        chain, STEWARD, AdmitMember("DEMOS", ALICE.public_key), AdmitMember("DEMOS", DAVE.public_key)
    ).ok
    assert run(chain, STEWARD, agree("LETS", "DEMOS", 1, 1, 1000, 1000)).ok
    terms = AgreeExchange("LETS", 1, 1, 1000, 1000)
    assert run(chain, ALICE, Propose("DEMOS", "trade with LETS", b"", (terms,))).ok
    assert run(chain, ALICE, CastVote("DEMOS", 1, VoteChoice.YES)).ok
    assert run(chain, DAVE, CastVote("DEMOS", 1, VoteChoice.YES)).ok
    assert run(chain, DAVE, exchange(BOB, 100, "DEMOS", "LETS")).code is R.NO_AGREEMENT
    chain.close(after_ms=3600 * 1000)
    assert agreement(chain, "DEMOS", "LETS").in_force
    assert run(chain, DAVE, exchange(BOB, 100, "DEMOS", "LETS")).ok


def test_clearing_accounts_are_nobodys_and_guaranteed_credits_are_not_exchanged() -> None:
    chain = town()
    clearing_hour = clearing_address("HOUR", "LETS")
    assert run(chain, STEWARD, AdmitMember("HOUR", clearing_hour)).code is R.CLEARING_ACCOUNT
    # a clearing address admitted before the agreement blocks it, with the reason
    assert run(chain, STEWARD, AdmitMember("HOUR", clearing_address("HOUR", "PND"))).ok
    assert run(chain, STEWARD, agree("HOUR", "PND", 1, 1, 10, 10)).ok
    assert run(chain, ISSUER, agree("PND", "HOUR", 1, 1, 10, 10)).code is R.CLEARING_ACCOUNT
    assert run(chain, STEWARD, agree("HOUR", "CARE", 1, 1, 10, 10)).code is R.GUARANTEED_CREDITS
    assert run(chain, ALICE, replace(exchange(BOB, 1, "HOUR", "LETS"), hops=())).code is R.MALFORMED
