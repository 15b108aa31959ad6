"""One test per result code protocol version 3 added, each built from real signed transactions
in real ledgers: every refusal leaves the state as it was but for the source's sequence number."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from designs_support import CITY, GUARANTEED, ORG, care_currency, exchange, pound, run, town
from governance_support import ALICE, BOB, CAROL, DAVE, Chain
from protocol_support import account_entry_key
from test_governance_results import Attempt

from protocol.designs.clearing import clearing_address
from protocol.designs.operations import (
    Accredit,
    ApproveRecovery,
    CancelRecovery,
    CreditHours,
    FinishRecovery,
    SetGuardians,
)
from protocol.designs.terms import Acceptance, CurrencyTerms
from protocol.governance.actions import SetDemurrage
from protocol.governance.operations import Propose
from protocol.operations import CurrencyKind, Payment
from protocol.results import ResultCode

R = ResultCode


def _credited_town() -> Chain:
    chain = town()
    assert run(chain, ORG, CreditHours("CARE", ALICE.public_key, 300, "visits")).ok
    return chain


def _guarded_town(*approving: object) -> Chain:
    """ALICE names BOB and CAROL as guardians, both needed, a delay of one hour."""
    chain = town()
    assert run(chain, ALICE, SetGuardians((BOB.public_key, CAROL.public_key), 2, 3600)).ok
    for guardian in approving:
        assert run(chain, guardian, ApproveRecovery(ALICE.public_key, DAVE.public_key)).ok  # type: ignore[arg-type]
    return chain


DESIGN_CASES: dict[ResultCode, Callable[[], Attempt]] = {
    R.NOT_GUARANTOR: lambda: Attempt(town(), ALICE, [Accredit("CARE", BOB.public_key, 100)]),
    R.NOT_ACCREDITED: lambda: Attempt(town(), BOB, [CreditHours("CARE", ALICE.public_key, 100, "help")]),
    R.OVER_QUOTA: lambda: Attempt(town(), ORG, [CreditHours("CARE", ALICE.public_key, 1001, "a lot")]),
    R.NOT_PROVIDER: lambda: Attempt(_credited_town(), ALICE, [Payment(BOB.public_key, "CARE", 100)]),
    R.GUARANTEED_CREDITS: lambda: Attempt(
        town(), CITY, [Propose("CARE", "let them rot", b"", (SetDemurrage(10_000),))]
    ),
    R.NOT_REGISTERED: lambda: Attempt(town(), ALICE, [Payment(BOB.public_key, "PND", 100)]),
    R.NO_AGREEMENT: lambda: Attempt(town(), ALICE, [exchange(BOB, 100, "HOUR", "PND")]),
    R.STALE_RATE: lambda: Attempt(town(), ALICE, [exchange(BOB, 100, "HOUR", "LETS", version=2)]),
    R.OVER_EXCHANGE_LIMIT: lambda: Attempt(town(), ALICE, [exchange(BOB, 6000, "HOUR", "LETS")]),
    R.OVER_SEND_MAX: lambda: Attempt(town(), ALICE, [exchange(BOB, 1000, "HOUR", "LETS", most=99)]),
    R.CLEARING_ACCOUNT: lambda: Attempt(
        town(), ALICE, [Payment(clearing_address("LETS", "HOUR"), "LETS", 100)]
    ),
    R.BAD_GUARDIANS: lambda: Attempt(town(), ALICE, [SetGuardians((ALICE.public_key,), 1, 3600)]),
    R.NOT_GUARDIAN: lambda: Attempt(
        _guarded_town(), DAVE, [ApproveRecovery(ALICE.public_key, DAVE.public_key)]
    ),
    R.NO_RECOVERY: lambda: Attempt(_guarded_town(), ALICE, [CancelRecovery()]),
    R.TOO_FEW_GUARDIANS: lambda: Attempt(_guarded_town(BOB), DAVE, [FinishRecovery(ALICE.public_key)]),
    R.RECOVERY_NOT_DUE: lambda: Attempt(_guarded_town(BOB, CAROL), DAVE, [FinishRecovery(ALICE.public_key)]),
}


@pytest.mark.parametrize("code", list(DESIGN_CASES), ids=lambda c: c.value)
def test_every_design_result_code_changes_only_the_sequence(code: ResultCode) -> None:
    attempt = DESIGN_CASES[code]()
    assert attempt.result.code is code
    assert code.explanation
    after = attempt.chain.snapshot()
    changed = {
        key for key in attempt.before.keys() | after.keys() if attempt.before.get(key) != after.get(key)
    }
    assert attempt.result.op_index == 0
    assert changed == {account_entry_key(attempt.source)}


def test_terms_fit_only_their_kind_of_currency() -> None:
    chain = town()
    care = care_currency("ROT")
    assert run(chain, CITY, replace(care, demurrage_ppm=10_000)).code is R.GUARANTEED_CREDITS
    assert run(chain, CITY, replace(care, kind=CurrencyKind.MUTUAL)).code is R.WRONG_KIND
    assert run(chain, CITY, replace(pound("NOPE"), kind=CurrencyKind.MUTUAL)).code is R.WRONG_KIND
    providers_only = CurrencyTerms(accept=Acceptance.PROVIDERS)  # providers need a guarantor
    assert run(chain, CITY, replace(care, terms=providers_only)).code is R.WRONG_KIND
    assert chain.currency("CARE").extension.terms == GUARANTEED
