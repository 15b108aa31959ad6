"""Hypothesis strategies for everything protocol version 2 encodes: rules, actions, governance
operations and entries, extended currencies and holdings (any value the decoders accept)."""

from __future__ import annotations

from design_strategies import design_actions, terms
from hypothesis import strategies as st

from protocol import codec
from protocol.governance.actions import (
    MAX_ACTIONS,
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
    SetStewards,
    Suspend,
)
from protocol.governance.entries import (
    Candidacy,
    DeadlineBucket,
    DeadlineIndex,
    GovernanceEntry,
    Proposal,
    ProposalStatus,
    VoteRecord,
)
from protocol.governance.operations import (
    CastVote,
    GovernanceOperation,
    LeaveCurrency,
    Propose,
    VoteChoice,
    Vouch,
)
from protocol.governance.rules import AdmissionPolicy, GovernancePolicy, GovernanceRules
from protocol.results import ResultCode
from protocol.state import CurrencyExtension

INT64_MAX = codec.INT64_MAX
keys32 = st.binary(min_size=32, max_size=32)
codes = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=12)
amounts = st.integers(min_value=0, max_value=INT64_MAX)
small = st.integers(min_value=0, max_value=255)
rates = st.integers(min_value=0, max_value=1_000_000)
numbers = st.integers(min_value=0, max_value=codec.UINT32_MAX)

rules: st.SearchStrategy[GovernanceRules] = st.builds(
    GovernanceRules,
    st.sampled_from(GovernancePolicy),
    st.integers(min_value=0, max_value=codec.UINT32_MAX),
    small,
    small,
    st.sampled_from(AdmissionPolicy),
    small,
)

actions: st.SearchStrategy[Action] = st.one_of(
    st.builds(SetDefaultCreditLimit, amounts),
    st.builds(SetMemberCreditLimit, keys32, amounts),
    st.builds(Admit, keys32, st.none() | amounts),
    st.builds(Reinstate, keys32),
    st.builds(Suspend, keys32),
    st.builds(Expel, keys32),
    st.builds(SetStewards, st.lists(keys32, max_size=20).map(tuple), small),
    st.builds(SetRules, rules),
    st.builds(SetDemurrage, rates),
    st.builds(SetLevy, rates),
    st.builds(SetMaxBalance, amounts),
    st.builds(SetFundCreditLimit, amounts),
    st.builds(PayFromFund, keys32, amounts),
    design_actions,
)

governance_operations: st.SearchStrategy[GovernanceOperation] = st.one_of(
    st.builds(
        Propose,
        codes,
        st.text(max_size=80),
        st.sampled_from([b"", bytes(32), b"\x01" * 32, b"abc"]),
        st.lists(actions, max_size=MAX_ACTIONS).map(tuple),
    ),
    st.builds(CastVote, codes, numbers, st.sampled_from(VoteChoice)),
    st.builds(Vouch, codes, keys32),
    st.builds(LeaveCurrency, codes),
)

extensions: st.SearchStrategy[CurrencyExtension] = st.builds(
    CurrencyExtension,
    rules,
    rates,
    amounts,
    amounts,
    amounts,
    numbers,
    numbers,
    terms,
)

proposals: st.SearchStrategy[Proposal] = st.builds(
    Proposal,
    codes,
    numbers,
    keys32,
    st.text(max_size=80),
    st.sampled_from([b"", bytes(32)]),
    st.lists(actions, max_size=MAX_ACTIONS).map(tuple),
    st.sampled_from(GovernancePolicy),
    amounts,
    amounts,
    amounts,
    amounts,
    small,
    small,
    amounts,
    amounts,
    amounts,
    st.sampled_from(ProposalStatus),
    st.none() | st.sampled_from(ResultCode),
    st.integers(min_value=-1, max_value=MAX_ACTIONS),
)

governance_entries: st.SearchStrategy[GovernanceEntry] = st.one_of(
    proposals,
    st.builds(VoteRecord, codes, numbers, keys32, st.sampled_from(VoteChoice)),
    st.builds(Candidacy, keys32, codes, st.lists(keys32, max_size=10).map(tuple), st.booleans()),
    st.builds(DeadlineIndex, st.lists(amounts, max_size=50).map(lambda h: tuple(sorted(h)))),
    st.builds(
        DeadlineBucket,
        amounts,
        st.lists(st.tuples(amounts, codes, numbers), max_size=30).map(lambda i: tuple(sorted(i))),
    ),
)
