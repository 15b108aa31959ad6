"""Social key recovery: guardians replace a lost key, but only after the delay the owner chose,
during which the owner's key can cancel; stewards, issuers and guarantors recover too."""

from __future__ import annotations

from designs_support import CITY, NEWKEY, ORG, run, town
from governance_support import ALICE, BOB, CAROL, DAVE, ERIN, ISSUER, SECOND, STEWARD, Chain

from protocol.designs.operations import (
    Accredit,
    ApproveRecovery,
    CancelRecovery,
    FinishRecovery,
    SetGuardians,
)
from protocol.keys import Keypair
from protocol.operations import AdmitMember, Mint, Payment
from protocol.results import ResultCode
from protocol.state import StateOverlay

R = ResultCode
HOUR_S = 3600


def _guard(
    chain: Chain, owner: Keypair, *guardians: Keypair, threshold: int = 2, delay_s: int = HOUR_S
) -> None:
    assert run(chain, owner, SetGuardians(tuple(g.public_key for g in guardians), threshold, delay_s)).ok


def _approve(chain: Chain, guardian: Keypair, owner: Keypair, new: Keypair = NEWKEY) -> ResultCode:
    return run(chain, guardian, ApproveRecovery(owner.public_key, new.public_key)).code


def _finish(chain: Chain, owner: Keypair, after_ms: int = SECOND) -> ResultCode:
    return chain.run(NEWKEY, [FinishRecovery(owner.public_key)], after_ms=after_ms).code


def _signers(chain: Chain, owner: Keypair) -> tuple[tuple[bytes, int], ...]:
    return StateOverlay(chain.state).account(owner.public_key).signers


def test_guardians_replace_a_lost_key_after_the_delay() -> None:
    chain = town()
    _guard(chain, ALICE, BOB, CAROL, DAVE)
    assert _approve(chain, BOB, ALICE) is R.OK
    assert _finish(chain, ALICE) is R.TOO_FEW_GUARDIANS
    assert _approve(chain, CAROL, ALICE) is R.OK  # two of three: the delay starts now
    assert _finish(chain, ALICE, after_ms=HOUR_S * 1000 - SECOND) is R.RECOVERY_NOT_DUE
    assert _finish(chain, ALICE) is R.OK  # exactly an hour after the second approval
    assert _signers(chain, ALICE) == ((NEWKEY.public_key, 1),)
    # the account keeps its address and money; the new key signs for it, the old one no more
    assert run(chain, ALICE, Payment(BOB.public_key, "LETS", 100), signers=[NEWKEY]).ok
    assert run(chain, ALICE, Payment(BOB.public_key, "LETS", 100)).code is R.BAD_AUTH
    assert _finish(chain, ALICE) is R.NO_RECOVERY  # done: nothing under way


def test_the_owner_cancels_during_the_delay() -> None:
    chain = town()
    _guard(chain, ALICE, BOB, CAROL)
    assert _approve(chain, BOB, ALICE) is R.OK
    assert _approve(chain, CAROL, ALICE) is R.OK
    assert run(chain, ALICE, CancelRecovery()).ok  # the old key still works, and says no
    assert _finish(chain, ALICE, after_ms=2 * HOUR_S * 1000) is R.NO_RECOVERY
    assert _signers(chain, ALICE) == ((ALICE.public_key, 1),)
    assert run(chain, ALICE, CancelRecovery()).code is R.NO_RECOVERY


def test_new_guardians_cancel_a_recovery_and_outsiders_cannot_approve() -> None:
    chain = town()
    _guard(chain, ALICE, BOB, CAROL)
    assert _approve(chain, BOB, ALICE) is R.OK
    assert _approve(chain, CAROL, ALICE) is R.OK
    _guard(chain, ALICE, CAROL, DAVE, threshold=1)
    assert _finish(chain, ALICE, after_ms=2 * HOUR_S * 1000) is R.NO_RECOVERY
    assert _approve(chain, BOB, ALICE) is R.NOT_GUARDIAN
    assert run(chain, ALICE, SetGuardians((), 0, 0)).ok  # no guardians any more
    assert _approve(chain, CAROL, ALICE) is R.NO_RECOVERY
    assert run(chain, ALICE, SetGuardians((BOB.public_key,), 2, HOUR_S)).code is R.BAD_GUARDIANS
    assert run(chain, ALICE, SetGuardians((BOB.public_key,), 1, 5)).code is R.BAD_GUARDIANS  # delay too short


def test_a_guardian_naming_another_key_cannot_block_the_others() -> None:
    chain = town()
    _guard(chain, ALICE, BOB, CAROL, DAVE)
    assert _approve(chain, BOB, ALICE, new=ERIN) is R.OK  # a compromised guardian
    assert _approve(chain, CAROL, ALICE) is R.OK
    assert _approve(chain, DAVE, ALICE) is R.OK
    assert _approve(chain, BOB, ALICE, new=ERIN) is R.OK  # too late to change the started key
    assert _finish(chain, ALICE, after_ms=HOUR_S * 1000) is R.OK
    assert _signers(chain, ALICE) == ((NEWKEY.public_key, 1),)


def test_stewards_issuers_and_guarantors_recover_their_roles() -> None:
    chain = town()
    for owner in (STEWARD, ISSUER, CITY):
        _guard(chain, owner, BOB, CAROL, delay_s=60)
        assert _approve(chain, BOB, owner) is R.OK
        assert _approve(chain, CAROL, owner) is R.OK
    chain.close(after_ms=60 * SECOND)
    for owner in (STEWARD, ISSUER, CITY):
        assert _finish(chain, owner) is R.OK
    # a steward approves as its account signs: the new key admits, the lost one no longer does
    assert run(chain, STEWARD, AdmitMember("LETS", ERIN.public_key), signers=[NEWKEY]).ok
    assert (
        run(chain, BOB, AdmitMember("LETS", DAVE.public_key), signers=[BOB, STEWARD]).code
        is R.BAD_STEWARD_AUTH
    )
    assert run(chain, ISSUER, Mint("PND", BOB.public_key, 100), signers=[NEWKEY]).ok
    assert run(chain, CITY, Accredit("CARE", ORG.public_key, 2000), signers=[NEWKEY]).ok
