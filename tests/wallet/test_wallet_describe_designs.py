"""The operations and actions of protocol version 3 in plain words."""

from __future__ import annotations

from protocol.addresses import encode_account
from protocol.designs.actions import AgreeExchange, SetAccreditation
from protocol.designs.operations import (
    Accredit,
    ApproveRecovery,
    CancelRecovery,
    CreditHours,
    ExchangePay,
    FinishRecovery,
    Hop,
    RegisterBusiness,
    SetGuardians,
)
from protocol.governance.operations import Propose
from protocol.operations import CurrencyKind
from wallet.cli.history_cmd import seen_from
from wallet.describe import Units, describe_operation
from wallet.describe_designs import duration_text
from wallet.views import OperationView

KEY, OTHER = bytes(range(32)), bytes(32)
UNITS = {"CARE": Units(CurrencyKind.TIME, 2), "HOUR": Units(CurrencyKind.TIME, 2), "LETS": Units(None, 2)}


def _name(key: bytes) -> str:
    return "alice" if key == KEY else "bob"


def _words(op: object) -> str:
    return describe_operation(op, UNITS, _name)  # type: ignore[arg-type]


def test_design_operations_read_as_sentences() -> None:
    assert _words(Accredit("CARE", KEY, 1000)) == "accredit alice to credit up to 10.00 h of CARE in all"
    assert _words(Accredit("CARE", KEY, 0, active=False)) == "withdraw the accreditation of alice in CARE"
    assert _words(CreditHours("CARE", KEY, 150, "visits")) == "credit 1.50 h of CARE to alice for “visits”"
    shop = _words(RegisterBusiness("PND", KEY, "Corner Shop", "groceries", "5 % off"))
    assert shop == "register alice as “Corner Shop” (groceries) in PND, offering “5 % off”"
    pay = _words(ExchangePay(KEY, 1000, "HOUR", 100, (Hop("LETS", 2),)))
    assert pay == "pay 10.00 LETS to alice, paying at most 1.00 h of HOUR (exchange, agreement LETS v2)"
    guard = _words(SetGuardians((KEY, OTHER), 2, 259_200))
    assert guard.startswith("name alice, bob as guardians: 2 of them")
    assert "3 days after they agree" in guard
    assert _words(ApproveRecovery(KEY, OTHER)) == "as a guardian, approve replacing the key of alice with bob"
    assert _words(CancelRecovery()).startswith("cancel the key recovery")
    assert _words(FinishRecovery(KEY)).startswith("finish the key recovery of alice")


def test_design_actions_read_inside_a_proposal() -> None:
    words = _words(
        Propose("HOUR", "trade", b"", (AgreeExchange("LETS", 10, 1, 500, 5000), SetAccreditation(KEY, 200)))
    )
    assert "agree to exchange with LETS: 0.10 LETS for every 0.01 h of HOUR" in words
    assert "LETS's within 50.00 LETS" in words
    assert "accredit alice to credit up to 2.00 h of HOUR in all" in words


def test_durations_read_in_the_largest_whole_unit() -> None:
    assert [duration_text(s) for s in (259_200, 3600, 7200, 90, 60, 30)] == [
        "3 days",
        "1 hour",
        "2 hours",
        "90 s",
        "1 minute",
        "30 s",
    ]


def test_history_reads_credits_and_exchanges_from_each_side() -> None:
    org, volunteer = encode_account(KEY), encode_account(OTHER)
    credit = OperationView("credit_hours", org, volunteer, None, "CARE", None, 300)
    assert seen_from(credit, org, volunteer) == ("received", org, "CARE", 300)
    assert seen_from(credit, org, org) == ("credited", volunteer, "CARE", 300)
    pay = OperationView("exchange_pay", org, volunteer, None, "HOUR", None, 1000, receive_currency="LETS")
    assert seen_from(pay, org, volunteer) == ("received", org, "LETS", 1000)
    assert seen_from(pay, org, org) == ("exchanged", volunteer, "HOUR", None)
