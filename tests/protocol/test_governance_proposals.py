"""Proposals and votes end to end through real ledgers: counted in the first ledger at or after
the deadline, passed / rejected / failed as the rules say, the electorate fixed when the proposal
is made, and the stewards' policy deciding at once."""

from __future__ import annotations

from dataclasses import replace

from governance_support import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    FRANK,
    GINA,
    HANS,
    MEMBERS_RULES,
    SECOND,
    STEWARD,
    community,
)

from protocol.governance.actions import (
    Admit,
    Expel,
    PayFromFund,
    SetDefaultCreditLimit,
    SetFundCreditLimit,
    SetRules,
    SetStewards,
    Suspend,
)
from protocol.governance.deadlines import next_deadline
from protocol.governance.entries import ProposalStatus
from protocol.governance.operations import LeaveCurrency, Propose, VoteChoice
from protocol.governance.proposals import passes
from protocol.governance.rules import AdmissionPolicy, GovernancePolicy, GovernanceRules
from protocol.operations import AdmitMember, Payment
from protocol.results import ResultCode
from protocol.state import StateOverlay

R = ResultCode
YES, NO, ABSTAIN = VoteChoice.YES, VoteChoice.NO, VoteChoice.ABSTAIN
HOUR = 3600 * SECOND


def test_a_passed_proposal_runs_in_the_first_ledger_at_or_after_its_deadline() -> None:
    chain = community()
    assert chain.propose(ALICE, "DEMOS", SetDefaultCreditLimit(2000), title="More credit for all").ok
    made = chain.now
    proposal = chain.proposal("DEMOS", 1)
    assert (proposal.deadline_ms, proposal.electorate, proposal.status) == (
        made + HOUR,
        4,
        ProposalStatus.OPEN,
    )
    assert next_deadline(StateOverlay(chain.state)) == made + HOUR
    for voter in (ALICE, BOB, CAROL):
        assert chain.vote(voter, "DEMOS", 1, YES).ok
    chain.close(after_ms=made + HOUR - 1 - chain.now)  # one millisecond before: still open
    assert chain.proposal("DEMOS", 1).status is ProposalStatus.OPEN
    assert chain.currency("DEMOS").default_credit_limit == 1000
    chain.close(after_ms=1)  # exactly at the deadline
    decided = chain.proposal("DEMOS", 1)
    assert (decided.status, decided.yes, decided.no, decided.abstain) == (ProposalStatus.PASSED, 3, 0, 0)
    assert chain.currency("DEMOS").default_credit_limit == 2000
    assert chain.currency("DEMOS").extension.open_proposals == 0
    assert next_deadline(StateOverlay(chain.state)) is None
    # newcomers get the new default
    assert chain.run(STEWARD, [AdmitMember("DEMOS", FRANK.public_key)]).ok
    frank = chain.holding(FRANK, "DEMOS")
    assert frank is not None
    assert frank.credit_limit == 2000


def test_a_long_silence_still_decides_every_due_proposal_once_in_deadline_order() -> None:
    chain = community()
    assert chain.propose(ALICE, "DEMOS", SetDefaultCreditLimit(10)).ok
    assert chain.propose(BOB, "DEMOS", SetDefaultCreditLimit(20)).ok
    for number in (1, 2):
        for voter in (ALICE, BOB):
            assert chain.vote(voter, "DEMOS", number, YES).ok
    chain.close(after_ms=30 * 86_400_000)  # the network was down for a month
    assert [chain.proposal("DEMOS", n).status for n in (1, 2)] == [ProposalStatus.PASSED] * 2
    assert chain.currency("DEMOS").default_credit_limit == 20  # the later deadline ran last
    chain.close(after_ms=SECOND)
    assert chain.currency("DEMOS").default_credit_limit == 20


def test_quorum_counts_abstentions_and_majority_needs_more_yes_than_no() -> None:
    # 1: one yes of four members: no quorum (50 %)
    # 2: one yes, one abstain: quorum (2 of 4), majority (1 yes, 0 no): passes
    # 3: one yes, one no: quorum, but a tie is no majority
    chain = community()
    assert chain.propose(ALICE, "DEMOS", SetDefaultCreditLimit(5)).ok
    assert chain.propose(BOB, "DEMOS", SetFundCreditLimit(5)).ok
    assert chain.propose(CAROL, "DEMOS", SetStewards((ALICE.public_key,), 1)).ok
    assert chain.vote(ALICE, "DEMOS", 1, YES).ok
    assert chain.vote(ALICE, "DEMOS", 2, YES).ok
    assert chain.vote(BOB, "DEMOS", 2, ABSTAIN).ok
    assert chain.vote(ALICE, "DEMOS", 3, YES).ok
    assert chain.vote(BOB, "DEMOS", 3, NO).ok
    chain.close(after_ms=2 * HOUR)
    statuses = [chain.proposal("DEMOS", n).status for n in (1, 2, 3)]
    assert statuses == [ProposalStatus.REJECTED, ProposalStatus.PASSED, ProposalStatus.REJECTED]
    assert chain.currency("DEMOS").default_credit_limit == 1000
    assert chain.currency("DEMOS").stewards == (STEWARD.public_key,)


def test_a_passed_proposal_that_cannot_run_fails_with_the_reason_and_changes_nothing() -> None:
    chain = community()
    assert chain.propose(ALICE, "DEMOS", SetFundCreditLimit(100)).ok  # the fund may owe 100
    for voter in (ALICE, BOB):
        assert chain.vote(voter, "DEMOS", 1, YES).ok
    chain.close(after_ms=HOUR)
    assert chain.proposal("DEMOS", 1).status is ProposalStatus.PASSED
    # two budgets of 60 each: both can run today, not both together
    assert chain.propose(ALICE, "DEMOS", PayFromFund(CAROL.public_key, 60), title="Garden tools").ok
    assert chain.propose(BOB, "DEMOS", PayFromFund(DAVE.public_key, 60), SetDefaultCreditLimit(7)).ok
    for number in (2, 3):
        for voter in (ALICE, BOB, CAROL):
            assert chain.vote(voter, "DEMOS", number, YES).ok
    before = chain.snapshot()
    chain.close(after_ms=HOUR)
    first, second = chain.proposal("DEMOS", 2), chain.proposal("DEMOS", 3)
    assert first.status is ProposalStatus.PASSED
    assert (second.status, second.failure, second.failed_action) == (ProposalStatus.FAILED, R.FUND_SHORT, 0)
    assert chain.balance(CAROL, "DEMOS") == 60
    assert chain.balance(DAVE, "DEMOS") == 0
    assert chain.fund("DEMOS") == -60
    assert chain.currency("DEMOS").default_credit_limit == 1000  # the whole proposal did nothing
    assert before != chain.snapshot()


def test_the_electorate_is_fixed_when_the_proposal_is_made() -> None:
    chain = community()
    assert chain.propose(ALICE, "DEMOS", SetDefaultCreditLimit(3)).ok
    for newcomer in (FRANK, GINA, HANS):
        assert chain.run(STEWARD, [AdmitMember("DEMOS", newcomer.public_key)]).ok
        assert chain.vote(newcomer, "DEMOS", 1, NO).code is R.NOT_IN_ELECTORATE
    assert chain.vote(ALICE, "DEMOS", 1, YES).ok
    assert chain.vote(BOB, "DEMOS", 1, YES).ok  # 2 of the 4 members then: quorum met
    chain.close(after_ms=HOUR)
    assert chain.proposal("DEMOS", 1).status is ProposalStatus.PASSED


def test_expelled_suspended_and_departed_members_cannot_vote() -> None:
    chain = community()
    assert chain.propose(ALICE, "DEMOS", Expel(DAVE.public_key), Suspend(CAROL.public_key)).ok
    chain.close(after_ms=600 * SECOND)
    assert chain.propose(ALICE, "DEMOS", SetDefaultCreditLimit(1)).ok
    assert chain.run(BOB, [LeaveCurrency("DEMOS")]).ok
    for voter in (ALICE, DAVE):
        assert chain.vote(voter, "DEMOS", 1, YES).ok
    chain.close(after_ms=chain.proposal("DEMOS", 1).deadline_ms - chain.now)  # 1 decided, 2 still open
    assert chain.proposal("DEMOS", 1).status is ProposalStatus.PASSED
    assert chain.proposal("DEMOS", 2).status is ProposalStatus.OPEN
    assert chain.vote(DAVE, "DEMOS", 2, YES).code is R.EXPELLED
    assert chain.vote(CAROL, "DEMOS", 2, YES).code is R.SUSPENDED
    assert chain.vote(BOB, "DEMOS", 2, YES).code is R.NOT_MEMBER
    assert chain.vote(FRANK, "DEMOS", 2, YES).code is R.NOT_MEMBER
    assert chain.propose(DAVE, "DEMOS", SetDefaultCreditLimit(9)).code is R.EXPELLED


def test_a_proposal_is_dry_run_when_made() -> None:
    chain = community()
    assert chain.propose(ALICE, "DEMOS", Admit(BOB.public_key)).code is R.ALREADY_MEMBER
    assert chain.propose(ALICE, "DEMOS", Suspend(FRANK.public_key)).code is R.NOT_MEMBER
    assert chain.propose(ALICE, "EUROK", SetDefaultCreditLimit(1)).code is R.BAD_STEWARD_AUTH
    assert chain.run(STEWARD, [Propose("EUROK", "t", b"", (SetDefaultCreditLimit(1),))]).code is R.WRONG_KIND
    assert chain.propose(ALICE, "NOPE", SetDefaultCreditLimit(1)).code is R.NO_CURRENCY
    assert chain.currency("DEMOS").extension.proposals == 0


def test_under_the_stewards_policy_a_proposal_runs_at_once() -> None:
    chain = community()
    members = GovernanceRules(GovernancePolicy.MEMBERS, 60, 25, 60, AdmissionPolicy.VOTE)
    assert chain.propose(ALICE, "LETS", SetRules(members)).code is R.BAD_STEWARD_AUTH
    assert chain.run(
        STEWARD, [Propose("LETS", "Members decide from now on", bytes(32), (SetRules(members),))]
    ).ok
    decided = chain.proposal("LETS", 1)
    assert (decided.status, decided.policy, decided.deadline_ms) == (
        ProposalStatus.PASSED,
        GovernancePolicy.STEWARDS,
        decided.created_ms,
    )
    assert chain.currency("LETS").extension.rules == members
    # now members decide, and admission is by vote
    assert chain.run(STEWARD, [AdmitMember("LETS", FRANK.public_key)]).code is R.WRONG_ADMISSION_POLICY
    assert chain.propose(ALICE, "LETS", Admit(FRANK.public_key, 50)).ok
    assert chain.vote(ALICE, "LETS", 2, YES).ok
    chain.close(after_ms=60 * SECOND)
    frank = chain.holding(FRANK, "LETS")
    assert frank is not None
    assert (frank.member, frank.credit_limit) == (True, 50)
    assert chain.run(FRANK, [Payment(ALICE.public_key, "LETS", 50)]).ok


def test_passes_is_the_documented_rule() -> None:
    chain = community()
    assert chain.propose(ALICE, "DEMOS", SetDefaultCreditLimit(5)).ok
    base = chain.proposal("DEMOS", 1)
    rule = MEMBERS_RULES
    assert (rule.quorum_pct, rule.majority_pct, base.electorate) == (50, 50, 4)
    assert passes(replace(base, yes=2))
    assert not passes(replace(base, yes=1, abstain=0))
    assert passes(replace(base, yes=1, abstain=1))
    assert not passes(replace(base, yes=1, no=1))
    assert passes(replace(base, yes=2, no=1))
    assert not passes(replace(base, abstain=4))
    strict = replace(base, majority_pct=100)
    assert passes(replace(strict, yes=2))
    assert not passes(replace(strict, yes=3, no=1))
