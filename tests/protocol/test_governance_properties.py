"""Property tests over random schedules of payments, proposals, votes, vouches, departures,
mint/redeem, demurrage, levies and time: every invariant after every ledger (zero sum, supply =
minted − redeemed, counters, the deadline queue, the state hash from scratch), the same state
hash on two nodes, and a proposal's outcome independent of the order its votes arrive in."""

from __future__ import annotations

import random
from dataclasses import dataclass

from governance_support import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    ERIN,
    FRANK,
    GINA,
    HANS,
    ISSUER,
    SECOND,
    STEWARD,
    Chain,
    governed_currency,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from protocol_support import NETWORK

from protocol.governance.actions import (
    Action,
    Admit,
    Expel,
    PayFromFund,
    Reinstate,
    SetDefaultCreditLimit,
    SetDemurrage,
    SetFundCreditLimit,
    SetLevy,
    SetMaxBalance,
    SetMemberCreditLimit,
    SetRules,
    Suspend,
)
from protocol.governance.entries import ProposalStatus
from protocol.governance.fund import fund_address
from protocol.governance.operations import CastVote, LeaveCurrency, Propose, VoteChoice, Vouch
from protocol.governance.proposals import passes
from protocol.governance.rules import AdmissionPolicy, GovernancePolicy, GovernanceRules
from protocol.keys import Keypair
from protocol.ledger import decode_tx_set, make_tx_set
from protocol.operations import AdmitMember, CurrencyKind, Mint, Operation, Payment, Redeem
from protocol.transactions import Transaction

PEOPLE = [ALICE, BOB, CAROL, DAVE, ERIN, FRANK, GINA, HANS]
FOUNDERS = PEOPLE[:5]
RULES = GovernanceRules(GovernancePolicy.MEMBERS, 60, 25, 50, AdmissionPolicy.VOUCH, 2)
PROPERTY = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def _town() -> Chain:
    """DEMOS: mutual credit, 20 %/yr demurrage, a 1 % levy, governed by its members (60 s votes,
    quorum 25 %, majority 50 %), admission vouch:2; founders ALICE..ERIN. BRX: issued by ISSUER
    with 10 %/yr demurrage, 1,000 minted to each founder."""
    chain = Chain()
    assert chain.run(STEWARD, [governed_currency("DEMOS", rules=None, limit=500, demurrage_ppm=200_000)]).ok
    assert chain.run(STEWARD, [AdmitMember("DEMOS", k.public_key) for k in FOUNDERS]).ok
    steward_actions: tuple[Action, ...] = (SetLevy(10_000), SetFundCreditLimit(200), SetRules(RULES))
    assert chain.run(STEWARD, [Propose("DEMOS", "Our rules", b"", steward_actions)]).ok
    brx = governed_currency("BRX", kind=CurrencyKind.ISSUED, rules=None, demurrage_ppm=100_000)
    assert chain.run(ISSUER, [brx]).ok
    assert chain.run(ISSUER, [Mint("BRX", k.public_key, 1000) for k in FOUNDERS]).ok
    return chain


people = st.sampled_from(FOUNDERS * 3 + PEOPLE)  # mostly members, sometimes not
keys = people.map(lambda k: k.public_key)
small_amounts = st.integers(min_value=1, max_value=400)
actions: st.SearchStrategy[Action] = st.one_of(
    st.builds(SetDefaultCreditLimit, st.integers(0, 800)),
    st.builds(SetMemberCreditLimit, keys, st.integers(0, 800)),
    st.builds(Admit, keys, st.none() | st.integers(0, 800)),
    st.builds(Reinstate, keys),
    st.builds(Suspend, keys),
    st.builds(Expel, keys),
    st.builds(SetDemurrage, st.sampled_from([0, 50_000, 500_000, 600_000])),
    st.builds(SetLevy, st.sampled_from([0, 20_000, 200_000])),
    st.builds(SetMaxBalance, st.sampled_from([0, 300, 5000])),
    st.builds(SetFundCreditLimit, st.integers(0, 500)),
    st.builds(PayFromFund, keys, small_amounts),
    st.builds(
        SetRules,
        st.builds(
            GovernanceRules,
            st.sampled_from(GovernancePolicy),
            st.sampled_from([10, 60, 3600]),
            st.sampled_from([0, 25, 101]),
            st.sampled_from([50, 100]),
            st.just(AdmissionPolicy.VOUCH),
            st.sampled_from([1, 2, 3]),
        ),
    ),
)


@st.composite
def operations(draw: st.DrawFn) -> tuple[Keypair, Operation]:
    who = draw(people)
    kind = draw(
        st.sampled_from(["pay"] * 5 + ["propose", "vote", "vote", "vouch", "leave", "mint", "redeem", "gift"])
    )
    code = draw(st.sampled_from(["DEMOS", "DEMOS", "BRX"]))
    if kind == "pay":
        return who, Payment(draw(keys.filter(lambda k: k != who.public_key)), code, draw(small_amounts))
    if kind == "propose":
        return who, Propose("DEMOS", "p", b"", tuple(draw(st.lists(actions, min_size=1, max_size=3))))
    if kind == "vote":
        return who, CastVote("DEMOS", draw(st.integers(2, 4)), draw(st.sampled_from(VoteChoice)))
    if kind == "vouch":
        return who, Vouch("DEMOS", draw(keys.filter(lambda k: k != who.public_key)))
    if kind == "leave":
        return who, LeaveCurrency(code)
    if kind == "mint":
        return ISSUER, Mint("BRX", draw(keys), draw(small_amounts))
    if kind == "redeem":
        return ISSUER, Redeem("BRX", draw(small_amounts))
    return who, Payment(fund_address(code), code, draw(small_amounts))


gaps = st.sampled_from([0, SECOND, 10 * SECOND, 60 * SECOND, 3600 * SECOND, 30 * 86_400 * SECOND])


@dataclass
class Block:
    ops: list[tuple[Keypair, Operation]]
    gap_ms: int


blocks = st.builds(Block, st.lists(operations(), min_size=0, max_size=4), gaps)


def _transactions(chain: Chain, block: Block) -> list[Transaction]:
    """One transaction per source in a block (each needs its own next sequence number)."""
    by_source: dict[bytes, tuple[Keypair, Operation]] = {}
    for who, op in block.ops:
        by_source.setdefault(who.public_key, (who, op))
    return [chain.tx(who, [op]) for who, op in by_source.values()]


@PROPERTY
@given(schedule=st.lists(blocks, min_size=3, max_size=20))
def test_random_governance_schedules_keep_every_invariant_on_two_nodes(schedule: list[Block]) -> None:
    """Each ledger closes on two nodes, one from the tx set as built, one from its wire encoding:
    same header (hence the same state hash) every time. Chain.close checks every invariant from
    scratch after each ledger; the issued supply is followed against minted − redeemed."""
    node_a, node_b = _town(), _town()
    minted_minus_redeemed = 5 * 1000
    for block in schedule:
        txs = _transactions(node_a, block)
        tx_set = make_tx_set(node_a.header.hash, txs)
        wire = decode_tx_set(tx_set.encode(), NETWORK)
        closed_a = node_a.close(txs, after_ms=block.gap_ms)
        closed_b = node_b.close(list(wire.transactions), after_ms=block.gap_ms)
        assert closed_a.header == closed_b.header
        assert closed_a.results == closed_b.results
        for tx, result in zip(tx_set.apply_order(), closed_a.results, strict=True):
            (op,) = tx.body.operations
            if result.ok and isinstance(op, Mint):
                minted_minus_redeemed += op.amount
            elif result.ok and isinstance(op, Redeem):
                minted_minus_redeemed -= op.amount
        assert node_a.currency("BRX").supply == minted_minus_redeemed
    assert node_a.state.entries == node_b.state.entries


@PROPERTY
@given(
    votes=st.dictionaries(st.sampled_from(FOUNDERS), st.sampled_from(VoteChoice), max_size=5),
    action=actions,
    seed=st.integers(0, 1 << 32),
    split=st.integers(1, 5),
)
def test_a_proposals_outcome_does_not_depend_on_the_order_of_its_votes(
    votes: dict[Keypair, VoteChoice], action: Action, seed: int, split: int
) -> None:
    outcomes = []
    for attempt in range(2):
        chain = _town()
        if not chain.run(BOB, [Propose("DEMOS", "order", b"", (action,))]).ok:
            return  # a proposal that cannot run today is refused: nothing to count
        order = list(votes.items())
        random.Random(seed + attempt).shuffle(order)
        for start in range(0, len(order), split):  # a few votes per ledger
            txs = [
                chain.tx(voter, [CastVote("DEMOS", 2, choice)])
                for voter, choice in order[start : start + split]
            ]
            assert all(r.ok for r in chain.close(txs).results)
        chain.close(after_ms=chain.proposal("DEMOS", 2).deadline_ms - chain.now)
        proposal = chain.proposal("DEMOS", 2)
        counted = (proposal.yes, proposal.no, proposal.abstain)
        assert counted == tuple(sum(c is choice for c in votes.values()) for choice in VoteChoice)
        assert proposal.status is not ProposalStatus.OPEN
        assert (proposal.status is ProposalStatus.REJECTED) == (not passes(proposal))
        outcomes.append((proposal.status, proposal.failure, chain.header.state_hash))
    assert outcomes[0] == outcomes[1]
