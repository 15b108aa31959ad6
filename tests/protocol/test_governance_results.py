"""One test per result code that governance (protocol version 2) added, each built from real
signed transactions in real ledgers; and what each refusal may change: a transaction-level code
nothing at all, an operation-level code only the source's sequence number."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
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
    governed_currency,
)
from protocol_support import account_entry_key

from protocol.governance.actions import (
    Action,
    Expel,
    PayFromFund,
    SetDefaultCreditLimit,
    SetDemurrage,
    SetRules,
    Suspend,
)
from protocol.governance.fund import fund_address
from protocol.governance.operations import CastVote, LeaveCurrency, Propose, VoteChoice, Vouch
from protocol.governance.proposals import MAX_OPEN_PROPOSALS
from protocol.governance.rules import GovernanceRules
from protocol.keys import Keypair
from protocol.operations import AdmitMember, Operation, Payment, SetCreditLimit
from protocol.results import ResultCode, TxResult
from protocol.versions import PROTOCOL_V1

R = ResultCode


class Attempt:
    """The chain, its state just before the refused transaction, and the result."""

    def __init__(
        self, chain: Chain, source: Keypair, ops: list[Operation], signers: list[Keypair] | None = None
    ):
        self.chain = chain
        self.source = source
        self.before = chain.snapshot()
        self.seq_before = chain.next_seq(source) - 1
        self.result: TxResult = chain.run(source, ops, signers=signers)


def _propose(code: str, *actions: Action) -> list[Operation]:
    return [Propose(code, "test", b"", actions)]


def _with_open_proposal() -> Chain:
    """DEMOS-1 open (ALICE voted yes); GINA admitted after it was made."""
    chain = community()
    assert chain.propose(ALICE, "DEMOS", SetDefaultCreditLimit(2000)).ok
    assert chain.vote(ALICE, "DEMOS", 1, VoteChoice.YES).ok
    assert chain.run(STEWARD, [AdmitMember("DEMOS", GINA.public_key)]).ok
    return chain


def _with_stewards_decisions() -> Chain:
    """In LETS (governed by STEWARD's proposals, which run at once): ALICE owes BOB 100, then
    BOB is suspended and ERIN expelled."""
    chain = community()
    assert chain.run(ALICE, [Payment(BOB.public_key, "LETS", 100)]).ok
    assert chain.run(STEWARD, _propose("LETS", Suspend(BOB.public_key))).ok
    assert chain.run(STEWARD, _propose("LETS", Expel(ERIN.public_key))).ok
    return chain


def _protocol_too_old() -> Attempt:
    chain = Chain(PROTOCOL_V1)
    assert chain.run(STEWARD, [governed_currency("LETS", rules=None)]).ok
    return Attempt(chain, ALICE, [CastVote("LETS", 1, VoteChoice.YES)])


def _needs_proposal() -> Attempt:
    return Attempt(community(), STEWARD, [SetCreditLimit("DEMOS", ALICE.public_key, 5)])


def _wrong_admission_policy() -> Attempt:
    return Attempt(community(), STEWARD, [AdmitMember("VOUCHY", CAROL.public_key)])


def _suspended() -> Attempt:
    return Attempt(_with_stewards_decisions(), BOB, [Payment(ALICE.public_key, "LETS", 1)])


def _expelled() -> Attempt:
    return Attempt(_with_stewards_decisions(), ALICE, [Payment(ERIN.public_key, "LETS", 1)])


def _issuer_protected() -> Attempt:
    return Attempt(community(), STEWARD, _propose("EUROK", Suspend(ISSUER.public_key)))


def _in_debt() -> Attempt:
    return Attempt(_with_stewards_decisions(), ALICE, [LeaveCurrency("LETS")])


def _already_vouched() -> Attempt:
    chain = community()
    assert chain.run(ALICE, [Vouch("VOUCHY", FRANK.public_key)]).ok
    return Attempt(chain, ALICE, [Vouch("VOUCHY", FRANK.public_key)])


def _no_proposal() -> Attempt:
    return Attempt(community(), ALICE, [CastVote("DEMOS", 99, VoteChoice.YES)])


def _voting_closed() -> Attempt:
    chain = _with_open_proposal()
    chain.close(after_ms=3600 * 1000)  # the deadline passes: DEMOS-1 is decided
    return Attempt(chain, BOB, [CastVote("DEMOS", 1, VoteChoice.NO)])


def _already_voted() -> Attempt:
    return Attempt(_with_open_proposal(), ALICE, [CastVote("DEMOS", 1, VoteChoice.NO)])


def _not_in_electorate() -> Attempt:
    return Attempt(_with_open_proposal(), GINA, [CastVote("DEMOS", 1, VoteChoice.YES)])


def _conflicting_actions() -> Attempt:
    return Attempt(community(), ALICE, _propose("DEMOS", SetDefaultCreditLimit(1), SetDefaultCreditLimit(2)))


def _bad_voting_period() -> Attempt:
    rules = replace(community().currency("DEMOS").extension.rules, voting_period_s=10)
    return Attempt(community(), ALICE, _propose("DEMOS", SetRules(rules)))


def _bad_governance_rules() -> Attempt:
    return Attempt(community(), ALICE, _propose("DEMOS", SetRules(GovernanceRules(quorum_pct=101))))


def _bad_rate() -> Attempt:
    return Attempt(community(), ALICE, _propose("DEMOS", SetDemurrage(600_000)))


def _fund_short() -> Attempt:
    return Attempt(community(), ALICE, _propose("DEMOS", PayFromFund(BOB.public_key, 1)))


def _fund_account() -> Attempt:
    return Attempt(community(), STEWARD, [AdmitMember("DEMOS", fund_address("DEMOS"))])


def _too_many_open_proposals() -> Attempt:
    chain = community()
    for limit in range(MAX_OPEN_PROPOSALS):
        assert chain.propose(BOB, "DEMOS", SetDefaultCreditLimit(limit)).ok
    return Attempt(chain, ALICE, _propose("DEMOS", SetDefaultCreditLimit(7)))


GOVERNANCE_CASES: dict[ResultCode, Callable[[], Attempt]] = {
    R.PROTOCOL_TOO_OLD: _protocol_too_old,
    R.NEEDS_PROPOSAL: _needs_proposal,
    R.WRONG_ADMISSION_POLICY: _wrong_admission_policy,
    R.SUSPENDED: _suspended,
    R.EXPELLED: _expelled,
    R.ISSUER_PROTECTED: _issuer_protected,
    R.IN_DEBT: _in_debt,
    R.ALREADY_VOUCHED: _already_vouched,
    R.NO_PROPOSAL: _no_proposal,
    R.VOTING_CLOSED: _voting_closed,
    R.ALREADY_VOTED: _already_voted,
    R.NOT_IN_ELECTORATE: _not_in_electorate,
    R.CONFLICTING_ACTIONS: _conflicting_actions,
    R.BAD_VOTING_PERIOD: _bad_voting_period,
    R.BAD_GOVERNANCE_RULES: _bad_governance_rules,
    R.BAD_RATE: _bad_rate,
    R.FUND_SHORT: _fund_short,
    R.FUND_ACCOUNT: _fund_account,
    R.TOO_MANY_OPEN_PROPOSALS: _too_many_open_proposals,
}


@pytest.mark.parametrize("code", list(GOVERNANCE_CASES), ids=lambda c: c.value)
def test_every_governance_result_code_changes_at_most_the_sequence(code: ResultCode) -> None:
    attempt = GOVERNANCE_CASES[code]()
    assert attempt.result.code is code
    assert code.explanation
    after = attempt.chain.snapshot()
    changed = {
        key for key in attempt.before.keys() | after.keys() if attempt.before.get(key) != after.get(key)
    }
    if code.consumes_sequence:
        assert attempt.result.op_index == 0
        assert changed == {account_entry_key(attempt.source)}
        assert attempt.chain.next_seq(attempt.source) == attempt.seq_before + 2
    else:
        assert attempt.result.op_index == -1
        assert changed == set()
