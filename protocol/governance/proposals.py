"""Making, voting on and deciding proposals.

* Under the ``stewards`` policy a proposal is decided by the steward multisig: the transaction
  carrying it must be signed by enough stewards, and its actions run at once (or the operation
  fails with the first action's reason).
* Under the ``members`` policy any member in good standing proposes; the electorate, quorum and
  majority are fixed then; each member of the electorate votes once, finally; the count happens
  in the first ledger whose close time is at or after the deadline, before that ledger's
  transactions, in (deadline, currency, number) order. Counts are sums, so the outcome does not
  depend on the order votes arrived in.
"""

from __future__ import annotations

from dataclasses import replace

from protocol.context import LedgerContext
from protocol.designs.approval import stewards_approve
from protocol.governance import deadlines
from protocol.governance.actions import conflicting
from protocol.governance.entries import Proposal, ProposalStatus, VoteRecord, proposal_key, vote_key
from protocol.governance.execute import run_actions
from protocol.governance.operations import MAX_PROPOSAL_NUMBER, CastVote, Propose, VoteChoice
from protocol.governance.rules import GovernancePolicy, GovernanceRules
from protocol.governance.transfer import member_refusal
from protocol.results import ResultCode
from protocol.state import Currency, StateOverlay

R = ResultCode
MAX_OPEN_PROPOSALS = 16  # per currency: one member cannot bury the others' proposals


def propose(
    state: StateOverlay, op: Propose, source: bytes, signers: frozenset[bytes], ctx: LedgerContext
) -> ResultCode:
    currency = state.currency(op.currency)
    if currency is None:
        return R.NO_CURRENCY
    if conflicting(op.actions):
        return R.CONFLICTING_ACTIONS
    ext = currency.extension
    if ext.proposals >= MAX_PROPOSAL_NUMBER:
        return R.TOO_MANY_OPEN_PROPOSALS
    if ext.rules.policy is GovernancePolicy.STEWARDS:
        if not stewards_approve(state, currency, signers, ctx):
            return R.BAD_STEWARD_AUTH
        result, _index = run_actions(state, op.currency, op.actions, ctx, commit=True)
        if result is not R.OK:
            return result
        # the actions may have changed the currency (even its rules): count on its new entry,
        # record the rules that decided
        _record(
            state, state.currency(op.currency) or currency, ext.rules, op, source, ctx, ProposalStatus.PASSED
        )
        return R.OK
    refusal = member_refusal(state.holding(source, op.currency))
    if refusal is not None:
        return refusal
    if ext.open_proposals >= MAX_OPEN_PROPOSALS:
        return R.TOO_MANY_OPEN_PROPOSALS
    result, _index = run_actions(state, op.currency, op.actions, ctx, commit=False)  # dry run
    if result is not R.OK:
        return result
    number = ext.proposals + 1
    deadline = ctx.close_time_ms + ext.rules.voting_period_s * 1000
    if not deadlines.enqueue(state, deadline, op.currency, number):
        return R.TOO_MANY_OPEN_PROPOSALS
    _record(state, currency, ext.rules, op, source, ctx, ProposalStatus.OPEN)
    return R.OK


def _record(
    state: StateOverlay,
    currency: Currency,
    rules: GovernanceRules,
    op: Propose,
    source: bytes,
    ctx: LedgerContext,
    status: ProposalStatus,
) -> None:
    ext = currency.extension
    is_open = status is ProposalStatus.OPEN
    number = ext.proposals + 1
    state.put(
        Proposal(
            op.currency,
            number,
            source,
            op.title,
            op.text_hash,
            op.actions,
            rules.policy,
            ctx.close_time_ms,
            ctx.close_time_ms + rules.voting_period_s * 1000 if is_open else ctx.close_time_ms,
            currency.members if is_open else 0,
            ext.admissions,
            rules.quorum_pct,
            rules.majority_pct,
            status=status,
        )
    )
    counters = replace(ext, proposals=number, open_proposals=ext.open_proposals + int(is_open))
    state.put(replace(currency, extension=counters))


def vote(state: StateOverlay, op: CastVote, source: bytes, ctx: LedgerContext) -> ResultCode:
    if state.currency(op.currency) is None:
        return R.NO_CURRENCY
    found = state.get(proposal_key(op.currency, op.number))
    if not isinstance(found, Proposal):
        return R.NO_PROPOSAL
    if found.status is not ProposalStatus.OPEN or ctx.close_time_ms >= found.deadline_ms:
        return R.VOTING_CLOSED
    voter = state.holding(source, op.currency)
    refusal = member_refusal(voter)
    if refusal is not None:
        return refusal
    assert voter is not None
    if voter.admission > found.admission_cutoff:
        return R.NOT_IN_ELECTORATE
    if state.get(vote_key(op.currency, op.number, source)) is not None:
        return R.ALREADY_VOTED
    state.put(VoteRecord(op.currency, op.number, source, op.choice))
    state.put(
        replace(
            found,
            yes=found.yes + (op.choice is VoteChoice.YES),
            no=found.no + (op.choice is VoteChoice.NO),
            abstain=found.abstain + (op.choice is VoteChoice.ABSTAIN),
        )
    )
    return R.OK


def decide_due(state: StateOverlay, ctx: LedgerContext) -> list[Proposal]:
    """Count and settle every proposal whose deadline is at or before the ledger's close time;
    returns them as decided (for logs and tests)."""
    decided = []
    for _deadline, code, number in deadlines.pop_due(state, ctx.close_time_ms):
        found = state.get(proposal_key(code, number))
        if isinstance(found, Proposal) and found.status is ProposalStatus.OPEN:
            decided.append(_decide(state, found, ctx))
    return decided


def passes(proposal: Proposal) -> bool:
    """Quorum: yes + no + abstain reach ``quorum_pct`` % of the electorate. Majority: more yes
    than no, and yes at least ``majority_pct`` % of yes + no."""
    turnout = proposal.yes + proposal.no + proposal.abstain
    quorum = turnout * 100 >= proposal.quorum_pct * proposal.electorate
    decisive = proposal.yes + proposal.no
    majority = proposal.yes > proposal.no and proposal.yes * 100 >= proposal.majority_pct * decisive
    return quorum and majority


def _decide(state: StateOverlay, proposal: Proposal, ctx: LedgerContext) -> Proposal:
    if not passes(proposal):
        decided = replace(proposal, status=ProposalStatus.REJECTED)
    else:
        result, index = run_actions(state, proposal.currency, proposal.actions, ctx, commit=True)
        if result is R.OK:
            decided = replace(proposal, status=ProposalStatus.PASSED)
        else:
            decided = replace(proposal, status=ProposalStatus.FAILED, failure=result, failed_action=index)
    state.put(decided)
    currency = state.currency(proposal.currency)
    if currency is not None:
        ext = currency.extension
        state.put(replace(currency, extension=replace(ext, open_proposals=ext.open_proposals - 1)))
    return decided
