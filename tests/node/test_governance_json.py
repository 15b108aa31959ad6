"""The API's JSON for governance operations: every action and operation renders, with stable
names, addresses for keys and plain integers for amounts."""

from __future__ import annotations

import json

from node.api.governance_json import action_json
from node.api.views import operation_json
from protocol.designs.actions import AgreeExchange, DelistBusiness, ListBusiness, SetAccreditation
from protocol.governance.actions import (
    ACTION_NAMES,
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
from protocol.governance.operations import CastVote, LeaveCurrency, Propose, VoteChoice, Vouch
from protocol.governance.rules import AdmissionPolicy, GovernancePolicy, GovernanceRules

KEY = bytes(range(32))
ONE_OF_EACH: list[Action] = [
    SetDefaultCreditLimit(20),
    SetMemberCreditLimit(KEY, 5),
    Admit(KEY),
    Reinstate(KEY),
    Suspend(KEY),
    Expel(KEY),
    SetStewards((KEY,), 1),
    SetRules(GovernanceRules(GovernancePolicy.MEMBERS, 30, 50, 60, AdmissionPolicy.VOUCH, 3)),
    SetDemurrage(50_000),
    SetLevy(10_000),
    SetMaxBalance(0),
    SetFundCreditLimit(100),
    PayFromFund(KEY, 150),
    # protocol version 3 (tests/node/test_designs_json.py covers their fields)
    SetAccreditation(KEY, 1000),
    ListBusiness(KEY, "Corner Shop", "groceries", "5 % off"),
    DelistBusiness(KEY),
    AgreeExchange("LETS", 10, 1, 500, 5000),
]


def test_every_action_renders_with_its_stable_name() -> None:
    assert {type(a) for a in ONE_OF_EACH} == set(ACTION_NAMES)
    for action in ONE_OF_EACH:
        body = action_json(action)
        assert body["action"] == ACTION_NAMES[type(action)]
        json.dumps(body)
    assert action_json(ONE_OF_EACH[7])["admission"] == "vouch:3"
    assert action_json(PayFromFund(KEY, 150))["amount"] == 150


def test_every_governance_operation_renders() -> None:
    propose = operation_json(Propose("DEMOS", "Tools", bytes(32), tuple(ONE_OF_EACH[:8])), KEY)
    assert (propose["type"], propose["title"], len(propose["actions"])) == ("propose", "Tools", 8)
    assert propose["text_hash"] == "00" * 32
    assert operation_json(CastVote("DEMOS", 3, VoteChoice.ABSTAIN), KEY) == {
        "type": "vote",
        "currency": "DEMOS",
        "proposal": "DEMOS-3",
        "choice": "abstain",
    }
    assert operation_json(Vouch("DEMOS", KEY), KEY)["candidate"].startswith("tly1")
    assert operation_json(LeaveCurrency("DEMOS"), KEY) == {"type": "leave", "currency": "DEMOS"}
