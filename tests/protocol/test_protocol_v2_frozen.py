"""Protocol version 2 is frozen: a fixed chain of governance operations, closed under version 2,
hashes exactly as it did when version 2 was released.

The hashes below were recorded on main at commit 1c5233f, before protocol version 3 existed. If
this test fails, ledgers closed under version 2 by running networks would no longer verify: a
change to version-2 behaviour must become a new protocol version instead.
"""

from __future__ import annotations

from governance_support import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    DAY,
    ERIN,
    ISSUER,
    STEWARD,
    Chain,
    governed_currency,
)

from protocol.governance.actions import (
    Expel,
    PayFromFund,
    SetDefaultCreditLimit,
    SetDemurrage,
    SetFundCreditLimit,
    SetLevy,
    Suspend,
)
from protocol.governance.operations import CastVote, LeaveCurrency, Propose, VoteChoice, Vouch
from protocol.governance.rules import AdmissionPolicy, GovernanceRules
from protocol.operations import AdmitMember, CurrencyKind, Mint, Payment, Redeem, SetSigners
from protocol.versions import PROTOCOL_V2


def _close_chain() -> list[str]:
    """Every version-2 operation and a few refusals, in ledgers a few hours to a day apart."""
    chain = Chain(PROTOCOL_V2)
    vouch = GovernanceRules(admission=AdmissionPolicy.VOUCH, vouches_needed=2)
    hashes = []

    def close(*txs: object, after_ms: int = 1000) -> None:
        chain.close(list(txs), after_ms=after_ms)  # type: ignore[arg-type]
        hashes.append(chain.header.hash.hex())

    close(
        chain.tx(
            STEWARD,
            [
                governed_currency("DEMOS", demurrage_ppm=50_000),
                governed_currency("LETS", rules=None),
                governed_currency("VOUCHY", rules=vouch),
            ],
        ),
        chain.tx(ISSUER, [governed_currency("EUROK", kind=CurrencyKind.ISSUED, rules=None)]),
    )
    members = [k.public_key for k in (ALICE, BOB, CAROL, DAVE)]
    close(
        chain.tx(
            STEWARD,
            [AdmitMember("DEMOS", m) for m in members]
            + [AdmitMember("LETS", m) for m in members[:3]]
            + [AdmitMember("VOUCHY", m) for m in members[:2]],
        ),
        chain.tx(ISSUER, [Mint("EUROK", ALICE.public_key, 5000)]),
    )
    close(
        chain.tx(ALICE, [Payment(BOB.public_key, "DEMOS", 300), Vouch("VOUCHY", ERIN.public_key)]),
        chain.tx(BOB, [Vouch("VOUCHY", ERIN.public_key)]),
        chain.tx(
            STEWARD,
            [
                Propose("LETS", "a levy and a fund", b"", (SetLevy(10_000), SetFundCreditLimit(500))),
                Propose("EUROK", "no more", b"", (Suspend(DAVE.public_key),)),
            ],
        ),
    )
    close(
        chain.tx(CAROL, [Propose("DEMOS", "more credit", bytes(32), (SetDefaultCreditLimit(2000),))]),
        chain.tx(ALICE, [Payment(CAROL.public_key, "LETS", 200), Payment(BOB.public_key, "EUROK", 700)]),
        after_ms=DAY,
    )
    close(
        chain.tx(ALICE, [CastVote("DEMOS", 1, VoteChoice.YES)]),
        chain.tx(BOB, [CastVote("DEMOS", 1, VoteChoice.NO)]),
        chain.tx(CAROL, [CastVote("DEMOS", 1, VoteChoice.YES)]),
        chain.tx(DAVE, [CastVote("DEMOS", 1, VoteChoice.ABSTAIN)]),
        chain.tx(BOB, [CastVote("DEMOS", 1, VoteChoice.YES)]),  # the same sequence: bad_seq
    )
    close(
        chain.tx(DAVE, [Propose("DEMOS", "expel carol", b"", (Expel(CAROL.public_key),))]),
        chain.tx(ISSUER, [Redeem("EUROK", 1)]),  # underfunded
        after_ms=2 * 3_600_000,  # past the first proposal's deadline
    )
    close(
        chain.tx(ALICE, [CastVote("DEMOS", 2, VoteChoice.YES)]),
        chain.tx(DAVE, [CastVote("DEMOS", 2, VoteChoice.YES)]),
        chain.tx(BOB, [LeaveCurrency("LETS")]),
        chain.tx(STEWARD, [Propose("LETS", "pay erin", b"", (PayFromFund(CAROL.public_key, 2),))]),
        chain.tx(CAROL, [SetSigners(((CAROL.public_key, 1), (ERIN.public_key, 1)), 1)]),
    )
    close(
        chain.tx(STEWARD, [Propose("LETS", "rot", b"", (SetDemurrage(100_000),))]),
        after_ms=2 * 3_600_000,
    )
    close(chain.tx(BOB, [Payment(ALICE.public_key, "DEMOS", 100)]), after_ms=30 * DAY)
    hashes.append(chain.header.state_hash.hex())
    return hashes


# Recorded on main at commit 1c5233f: the hash of each header, then the last state hash.
EXPECTED = [
    "356b7468d4ca49c6031c2c208eebd1ff6c1ea7bb856e402356574e4c93b0b413",
    "de5b861926b036865fe59ae567abf655ec5b8651eb511535b62e6277b2f5bb01",
    "d8860df2b71e20e2e349da4a03322f3df735234e5654ea1ff8823fd951cc8a41",
    "3a51351efd93e4795190f877f970d46e8a6b724dc62c468f3b82c8f47d2f6c3a",
    "a3a477bec8c3bbcbd0082574d4ea0dfe8ff426e8db386364f3f1c1c536e4e553",
    "7bc48b68c9e94427e3825cd92756a76bdddfab01e610a1ff63b64563520aa5f3",
    "d171d11a879e194c08e1309b28e675e6de3a35aada0f59b293e89f8677b0b9a1",
    "28aba6d374c43064c6b4eba0c861318a4854de452f197f167233a82fc5455f8d",
    "79f4f2e83838f7dac4066094a72ceb9e7ea7bbc6f1c1578d69289421f308290c",
    "18dd315b5b2bab760ec2e86dc6e855ce4b60c69563ca9d86d4f56ad44c3f2967",
]


def test_a_version_2_chain_hashes_as_it_did_when_version_2_was_released() -> None:
    assert _close_chain() == EXPECTED
