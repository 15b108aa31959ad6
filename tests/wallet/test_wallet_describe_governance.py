"""Governance operations in plain words: every action and operation has a sentence."""

from __future__ import annotations

from protocol.governance.actions import Expel, PayFromFund, SetDemurrage, SetMaxBalance
from protocol.governance.operations import CastVote, LeaveCurrency, Propose, VoteChoice, Vouch
from wallet.describe import Units, describe_operation

KEY = bytes(range(32))
UNITS = {"HOUR": Units(None, 2)}


def _name(key: bytes) -> str:
    return "alice" if key == KEY else "someone"


def test_governance_operations_read_as_sentences() -> None:
    propose = Propose(
        "HOUR",
        "Garden tools",
        b"",
        (PayFromFund(KEY, 150), SetDemurrage(50_000), Expel(KEY), SetMaxBalance(0)),
    )
    words = describe_operation(propose, UNITS, _name)
    assert "“Garden tools”" in words
    assert "pay 1.50 HOUR from the commons fund to alice" in words
    assert "5 % a year" in words
    assert "expel alice" in words
    assert "remove the balance ceiling" in words
    assert (
        describe_operation(CastVote("HOUR", 2, VoteChoice.NO), UNITS, _name) == "vote no on proposal HOUR-2"
    )
    assert describe_operation(Vouch("HOUR", KEY), UNITS, _name) == "vouch for alice to join HOUR"
    assert describe_operation(LeaveCurrency("HOUR"), UNITS, _name).startswith("leave HOUR")
