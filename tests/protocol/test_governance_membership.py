"""Admission by vouching, suspension, reinstatement, expulsion and leaving: who may do what, and
that no value ever disappears (every close re-checks the zero sum and the supply)."""

from __future__ import annotations

from governance_support import (
    ALICE,
    BOB,
    CAROL,
    ERIN,
    FRANK,
    GINA,
    ISSUER,
    STEWARD,
    Chain,
    community,
)

from protocol.governance.actions import Admit, Expel, Reinstate, Suspend
from protocol.governance.entries import Candidacy, candidacy_key
from protocol.governance.fund import fund_address
from protocol.governance.operations import LeaveCurrency, Propose, Vouch
from protocol.operations import AdmitMember, Mint, Payment, Redeem
from protocol.results import ResultCode
from protocol.state import Role, StateOverlay

R = ResultCode


def _steward_decides(chain: Chain, code: str, *actions: object) -> ResultCode:
    return chain.run(STEWARD, [Propose(code, "stewards decide", b"", actions)]).code  # type: ignore[arg-type]


def test_vouch_n_admits_on_the_nth_distinct_vouch_and_keeps_the_record() -> None:
    chain = community()
    assert chain.run(CAROL, [Vouch("VOUCHY", FRANK.public_key)]).code is R.NOT_MEMBER
    assert chain.run(FRANK, [Vouch("VOUCHY", FRANK.public_key)]).code is R.MALFORMED  # not for oneself
    assert chain.run(ALICE, [Vouch("VOUCHY", FRANK.public_key)]).ok
    assert chain.holding(FRANK, "VOUCHY") is None
    assert chain.run(ALICE, [Vouch("VOUCHY", FRANK.public_key)]).code is R.ALREADY_VOUCHED
    assert chain.run(BOB, [Vouch("VOUCHY", FRANK.public_key)]).ok
    frank = chain.holding(FRANK, "VOUCHY")
    assert frank is not None
    assert (frank.role, frank.credit_limit) == (Role.MEMBER, 1000)
    record = StateOverlay(chain.state).get(candidacy_key(FRANK.public_key, "VOUCHY"))
    assert record == Candidacy(FRANK.public_key, "VOUCHY", (ALICE.public_key, BOB.public_key), True)
    assert chain.run(ALICE, [Vouch("VOUCHY", FRANK.public_key)]).code is R.ALREADY_MEMBER
    # the founders' bootstrap is over: stewards no longer admit directly
    assert chain.run(STEWARD, [AdmitMember("VOUCHY", GINA.public_key)]).code is R.WRONG_ADMISSION_POLICY
    assert chain.run(ALICE, [Vouch("DEMOS", GINA.public_key)]).code is R.WRONG_ADMISSION_POLICY
    assert chain.run(ALICE, [Vouch("EUROK", GINA.public_key)]).code is R.WRONG_KIND


def test_expulsion_moves_credit_or_debt_to_the_fund_and_shuts_the_member_out() -> None:
    chain = community()
    assert chain.run(ALICE, [Payment(ERIN.public_key, "LETS", 300)]).ok
    assert chain.run(ERIN, [Payment(BOB.public_key, "LETS", 100)]).ok
    # ALICE owes 300, ERIN holds 200, BOB 100
    assert _steward_decides(chain, "LETS", Expel(ALICE.public_key)) is R.OK
    alice = chain.holding(ALICE, "LETS")
    assert alice is not None
    assert (alice.role, alice.balance, alice.credit_limit) == (Role.EXPELLED, 0, 0)
    assert chain.fund("LETS") == -300  # the community now carries the debt
    assert chain.currency("LETS").members == 2
    assert chain.run(ALICE, [Payment(BOB.public_key, "LETS", 1)]).code is R.EXPELLED
    assert chain.run(BOB, [Payment(ALICE.public_key, "LETS", 1)]).code is R.EXPELLED
    assert chain.run(STEWARD, [AdmitMember("LETS", ALICE.public_key)]).code is R.EXPELLED
    assert _steward_decides(chain, "LETS", Expel(ALICE.public_key)) is R.EXPELLED
    assert _steward_decides(chain, "LETS", Expel(ERIN.public_key)) is R.OK
    assert chain.fund("LETS") == -100
    # a proposal may reinstate: back as a member with the default limit, balance zero
    assert _steward_decides(chain, "LETS", Reinstate(ALICE.public_key)) is R.OK
    alice = chain.holding(ALICE, "LETS")
    assert alice is not None
    assert (alice.role, alice.balance, alice.credit_limit) == (Role.MEMBER, 0, 1000)
    assert chain.run(ALICE, [Payment(BOB.public_key, "LETS", 1)]).ok


def test_suspension_freezes_and_reinstatement_thaws() -> None:
    chain = community()
    assert chain.run(ALICE, [Payment(BOB.public_key, "LETS", 40)]).ok
    assert _steward_decides(chain, "LETS", Suspend(BOB.public_key)) is R.OK
    bob = chain.holding(BOB, "LETS")
    assert bob is not None
    assert (bob.role, bob.balance) == (Role.SUSPENDED, 40)
    assert chain.currency("LETS").members == 2
    assert chain.run(BOB, [Payment(ALICE.public_key, "LETS", 1)]).code is R.SUSPENDED
    assert chain.run(ALICE, [Payment(BOB.public_key, "LETS", 1)]).code is R.SUSPENDED
    assert _steward_decides(chain, "LETS", Suspend(BOB.public_key)) is R.SUSPENDED
    assert _steward_decides(chain, "LETS", Admit(BOB.public_key)) is R.SUSPENDED
    assert _steward_decides(chain, "LETS", Reinstate(CAROL.public_key)) is R.NOT_MEMBER
    assert _steward_decides(chain, "LETS", Reinstate(ALICE.public_key)) is R.ALREADY_MEMBER
    assert _steward_decides(chain, "LETS", Reinstate(BOB.public_key)) is R.OK
    assert chain.run(BOB, [Payment(ALICE.public_key, "LETS", 40)]).ok
    # suspended then expelled: the balance still goes to the fund
    assert chain.run(ALICE, [Payment(BOB.public_key, "LETS", 25)]).ok
    assert _steward_decides(chain, "LETS", Suspend(BOB.public_key)) is R.OK
    assert _steward_decides(chain, "LETS", Expel(BOB.public_key)) is R.OK
    assert chain.fund("LETS") == 25
    assert chain.currency("LETS").members == 2


def test_issued_currency_freeze_and_expulsion_keep_supply_equal_to_minted_minus_redeemed() -> None:
    chain = community()
    assert chain.run(ALICE, [Payment(BOB.public_key, "EUROK", 200)]).ok
    assert _steward_decides(chain, "EUROK", Suspend(ISSUER.public_key)) is R.ISSUER_PROTECTED
    assert _steward_decides(chain, "EUROK", Suspend(BOB.public_key)) is R.OK
    assert chain.run(ISSUER, [Mint("EUROK", BOB.public_key, 5)]).code is R.SUSPENDED
    assert chain.run(BOB, [Payment(ALICE.public_key, "EUROK", 5)]).code is R.SUSPENDED
    assert _steward_decides(chain, "EUROK", Expel(BOB.public_key)) is R.OK
    assert chain.fund("EUROK") == 200
    assert chain.currency("EUROK").supply == 500
    assert chain.run(ALICE, [Payment(ISSUER.public_key, "EUROK", 300)]).ok
    assert chain.run(ISSUER, [Redeem("EUROK", 300)]).ok
    assert chain.currency("EUROK").supply == 200 == chain.fund("EUROK")
    assert _steward_decides(chain, "EUROK", Reinstate(BOB.public_key)) is R.OK
    bob = chain.holding(BOB, "EUROK")
    assert bob is not None
    assert bob.role is Role.HOLDER
    assert chain.run(ALICE, [LeaveCurrency("EUROK")]).code is R.WRONG_KIND


def test_leaving_hands_a_credit_to_the_fund_refuses_a_debt_and_allows_coming_back() -> None:
    chain = community()
    assert chain.run(ALICE, [Payment(BOB.public_key, "DEMOS", 70)]).ok
    assert chain.run(ALICE, [LeaveCurrency("DEMOS")]).code is R.IN_DEBT
    assert chain.run(BOB, [LeaveCurrency("DEMOS")]).ok
    bob = chain.holding(BOB, "DEMOS")
    assert bob is not None
    assert (bob.role, bob.balance) == (Role.HOLDER, 0)
    assert chain.fund("DEMOS") == 70
    assert chain.currency("DEMOS").members == 3
    assert chain.run(BOB, [LeaveCurrency("DEMOS")]).code is R.NOT_MEMBER
    assert chain.run(CAROL, [Payment(BOB.public_key, "DEMOS", 1)]).code is R.DESTINATION_NOT_MEMBER
    assert chain.run(STEWARD, [AdmitMember("DEMOS", BOB.public_key)]).ok
    assert chain.run(CAROL, [Payment(BOB.public_key, "DEMOS", 1)]).ok


def test_members_may_give_to_the_fund_but_it_is_never_a_member() -> None:
    chain = community()
    fund = fund_address("DEMOS")
    assert chain.run(ALICE, [Payment(fund, "DEMOS", 30)]).ok
    assert chain.fund("DEMOS") == 30
    holding = chain.holding(fund, "DEMOS")
    assert holding is not None
    assert holding.role is Role.FUND
    assert chain.run(ALICE, [Vouch("VOUCHY", fund_address("VOUCHY"))]).code is R.MALFORMED
    assert chain.run(STEWARD, [Propose("LETS", "t", b"", (Expel(fund_address("LETS")),))]).code is R.MALFORMED
