"""Reading governance input on the command line, and reading the node's governance answers."""

from __future__ import annotations

import pytest

from protocol.addresses import encode_account
from protocol.governance.actions import Admit, PayFromFund, SetRules
from protocol.governance.rules import AdmissionPolicy, GovernancePolicy, GovernanceRules
from wallet.cli.governance_args import (
    parse_duration,
    parse_pair,
    parse_proposal_id,
    parse_rate,
    rules_from_flags,
)
from wallet.errors import BadInput, BadResponse
from wallet.fields import Fields
from wallet.governance_views import ProposalView, parse_action

KEY = bytes(range(32))


def test_durations_rates_pairs_and_ids() -> None:
    assert [parse_duration(t) for t in ("30s", "30", "10m", "2h", "7d", "90d")] == [
        30,
        30,
        600,
        7200,
        604_800,
        7_776_000,
    ]
    for bad in ("29s", "91d", "soon", "-5s", "1w"):
        with pytest.raises(BadInput):
            parse_duration(bad)
    assert [parse_rate(t, "--levy") for t in ("5", "2.5", "0.0001", "100%")] == [50_000, 25_000, 1, 1_000_000]
    for bad in ("101", "-1", "abc", "1.23456"):
        with pytest.raises(BadInput):
            parse_rate(bad, "--levy")
    assert parse_pair("bob=5", "--set-limit") == ("bob", "5")
    with pytest.raises(BadInput):
        parse_pair("bob", "--set-limit")
    assert parse_proposal_id("demos-3") == ("DEMOS", 3)
    for bad in ("DEMOS", "DEMOS-0", "DE MOS-1", "-3"):
        with pytest.raises(BadInput):
            parse_proposal_id(bad)


def test_rules_from_flags_keep_what_is_not_said() -> None:
    assert (
        rules_from_flags(
            None, governance=None, voting_period=None, quorum_pct=None, majority_pct=None, admission=None
        )
        is None
    )
    base = GovernanceRules(GovernancePolicy.MEMBERS, 60, 30, 60, AdmissionPolicy.VOTE)
    changed = rules_from_flags(
        base, governance=None, voting_period="2h", quorum_pct=None, majority_pct=None, admission="vouch:3"
    )
    assert changed == GovernanceRules(GovernancePolicy.MEMBERS, 7200, 30, 60, AdmissionPolicy.VOUCH, 3)
    with pytest.raises(BadInput):
        rules_from_flags(
            base,
            governance="everyone",
            voting_period=None,
            quorum_pct=None,
            majority_pct=None,
            admission=None,
        )
    with pytest.raises(BadInput):
        rules_from_flags(
            base, governance=None, voting_period=None, quorum_pct=None, majority_pct=None, admission="vouch:0"
        )


def test_actions_parse_back_into_the_protocols_actions() -> None:
    address = encode_account(KEY)
    assert parse_action(Fields({"action": "admit", "member": address, "credit_limit": None}, "a")) == Admit(
        KEY
    )
    assert parse_action(Fields({"action": "pay_from_fund", "to": address, "amount": 5}, "a")) == PayFromFund(
        KEY, 5
    )
    rules = {
        "action": "set_rules",
        "governance": "members",
        "voting_period_s": 30,
        "quorum_pct": 50,
        "majority_pct": 50,
        "admission": "vouch:2",
    }
    assert parse_action(Fields(rules, "a")) == SetRules(
        GovernanceRules(GovernancePolicy.MEMBERS, 30, 50, 50, AdmissionPolicy.VOUCH, 2)
    )
    with pytest.raises(BadResponse):
        parse_action(Fields({"action": "launch_rockets"}, "a"))


def test_a_proposal_answer_is_checked_field_by_field() -> None:
    answer = {
        "proposal": "DEMOS-1",
        "currency": "DEMOS",
        "number": 1,
        "title": "t",
        "text_hash": None,
        "proposer": encode_account(KEY),
        "actions": [],
        "decided_by": "members",
        "status": "open",
        "yes": 1,
        "no": 0,
        "abstain": 0,
        "electorate": 3,
        "quorum_pct": 50,
        "majority_pct": 50,
        "passing": False,
        "created_ms": 1,
        "deadline": 30_001,
        "failure": None,
        "failure_explanation": None,
        "failed_action": None,
    }
    assert ProposalView.parse(Fields(answer, "p")).deadline == 30_001
    with pytest.raises(BadResponse):
        ProposalView.parse(Fields({**answer, "status": "maybe"}, "p"))
