"""The API's JSON for the operations and actions of protocol version 3: every one renders with a
stable type name, addresses for keys and plain integers for amounts."""

from __future__ import annotations

import json

from node.api.governance_json import action_json
from node.api.views import operation_json
from protocol.addresses import encode_account
from protocol.designs.actions import AgreeExchange, ListBusiness, SetAccreditation
from protocol.designs.operations import (
    Accredit,
    ApproveRecovery,
    CancelRecovery,
    CreditHours,
    DesignOperation,
    ExchangePay,
    FinishRecovery,
    Hop,
    RegisterBusiness,
    RemoveBusiness,
    SetGuardians,
)

KEY, OTHER = bytes(range(32)), bytes(32)
ONE_OF_EACH: list[tuple[DesignOperation, str]] = [
    (Accredit("CARE", KEY, 1000), "accredit"),
    (CreditHours("CARE", KEY, 150, "visiting Mrs. M"), "credit_hours"),
    (RegisterBusiness("PND", KEY, "Corner Shop", "groceries", "5 % off"), "register_business"),
    (RemoveBusiness("PND", KEY), "remove_business"),
    (ExchangePay(KEY, 1000, "HOUR", 100, (Hop("LETS", 3),)), "exchange_pay"),
    (SetGuardians((KEY, OTHER), 2, 259_200), "set_guardians"),
    (ApproveRecovery(KEY, OTHER), "approve_recovery"),
    (CancelRecovery(), "cancel_recovery"),
    (FinishRecovery(KEY), "finish_recovery"),
]


def test_every_design_operation_renders_with_its_stable_type() -> None:
    for op, name in ONE_OF_EACH:
        body = operation_json(op, OTHER)
        assert body["type"] == name
        json.dumps(body)
    credit = operation_json(ONE_OF_EACH[1][0], OTHER)
    assert (credit["from"], credit["to"], credit["amount"]) == (
        encode_account(OTHER),
        encode_account(KEY),
        150,
    )
    exchange = operation_json(ONE_OF_EACH[4][0], OTHER)
    assert (exchange["currency"], exchange["receive_currency"], exchange["send_max"]) == ("HOUR", "LETS", 100)
    assert exchange["path"] == [{"currency": "LETS", "agreement_version": 3}]


def test_design_actions_render_their_fields() -> None:
    assert action_json(SetAccreditation(KEY, 500, active=False)) == {
        "action": "set_accreditation",
        "organisation": encode_account(KEY),
        "quota": 500,
        "active": False,
    }
    assert action_json(ListBusiness(KEY, "Bakery", "food"))["offer"] == ""
    agreed = action_json(AgreeExchange("LETS", 10, 1, 500, 5000))
    assert (agreed["action"], agreed["partner"], agreed["rate_num"]) == ("agree_exchange", "LETS", 10)
