"""Protocol version 3: its operations, actions and currency terms wait for the version, and a
chain that uses none of them closes to the very same state under version 3 as under version 2."""

from __future__ import annotations

import governance_support
import pytest
from designs_support import CITY, agree, care_currency, exchange
from governance_support import ALICE, BOB, STEWARD, Chain, governed_currency
from test_protocol_v2_frozen import EXPECTED, _close_chain

from protocol.designs.operations import CancelRecovery, SetGuardians
from protocol.operations import AdmitMember, CurrencyKind, min_protocol
from protocol.results import ResultCode
from protocol.versions import PROTOCOL_V2, PROTOCOL_V3

R = ResultCode


def test_version_3_operations_wait_for_version_3() -> None:
    chain = Chain(PROTOCOL_V2)
    assert chain.run(STEWARD, [governed_currency("HOUR", kind=CurrencyKind.TIME, rules=None)]).ok
    assert chain.run(STEWARD, [governed_currency("LETS", rules=None)]).ok
    assert chain.run(STEWARD, [AdmitMember("HOUR", ALICE.public_key)]).ok
    before = chain.snapshot()
    refused = [
        chain.run(CITY, [care_currency()]),  # terms at creation
        chain.run(STEWARD, [agree("HOUR", "LETS", 1, 1, 10, 10)]),  # a version-3 action
        chain.run(ALICE, [exchange(BOB, 1, "HOUR", "LETS")]),
        chain.run(ALICE, [SetGuardians((BOB.public_key,), 1, 60)]),
        chain.run(ALICE, [CancelRecovery()]),
    ]
    assert [r.code for r in refused] == [R.PROTOCOL_TOO_OLD] * len(refused)
    assert chain.snapshot() == before
    assert min_protocol(care_currency()) == PROTOCOL_V3
    chain.close(upgrades=(("protocol_version", PROTOCOL_V3),))
    assert chain.run(CITY, [care_currency()]).ok


def test_a_version_2_chain_keeps_its_state_under_version_3(monkeypatch: pytest.MonkeyPatch) -> None:
    """The frozen version-2 chain closed from a version-3 header: other header hashes (the version
    is in them), the same state."""
    original = governance_support.Chain.__init__

    def at_version_3(self: Chain, version: int = PROTOCOL_V3, start_ms: int = governance_support.T0) -> None:
        original(self, PROTOCOL_V3, start_ms)

    monkeypatch.setattr(governance_support.Chain, "__init__", at_version_3)
    hashes = _close_chain()
    assert hashes[-1] == EXPECTED[-1]  # the state hash
    assert hashes[:-1] != EXPECTED[:-1]
