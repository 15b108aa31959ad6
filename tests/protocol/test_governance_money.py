"""The commons fund, the levy and demurrage: lazy, integer-only, from ledger close times, and
never creating or destroying value (mutual credit stays zero-sum, an issued currency's supply
stays minted minus redeemed: every close re-checks both)."""

from __future__ import annotations

import pytest
from governance_support import (
    ALICE,
    BOB,
    CAROL,
    DAY,
    ISSUER,
    SECOND,
    STEWARD,
    Chain,
    community,
    governed_currency,
)

from protocol.governance import demurrage
from protocol.governance.actions import PayFromFund, SetDemurrage, SetFundCreditLimit, SetLevy
from protocol.governance.operations import Propose
from protocol.operations import AdmitMember, CurrencyKind, Mint, Payment, Redeem
from protocol.results import ResultCode

R = ResultCode
YEAR = 365 * DAY


def _decide(chain: Chain, code: str, *actions: object) -> ResultCode:
    return chain.run(STEWARD, [Propose(code, "stewards decide", b"", actions)]).code  # type: ignore[arg-type]


def _rotting(rate_ppm: int, kind: CurrencyKind = CurrencyKind.MUTUAL) -> Chain:
    """ROT with ``rate_ppm`` demurrage, stewards-governed; ALICE and BOB members (mutual) or
    ALICE holding 10,000 (issued)."""
    chain = Chain()
    source = ISSUER if kind is CurrencyKind.ISSUED else STEWARD
    op = governed_currency("ROT", kind=kind, rules=None, limit=100_000, demurrage_ppm=rate_ppm)
    assert chain.run(source, [op]).ok
    if kind is CurrencyKind.ISSUED:
        assert chain.run(ISSUER, [Mint("ROT", ALICE.public_key, 10_000)]).ok
    else:
        assert chain.run(STEWARD, [AdmitMember("ROT", k.public_key) for k in (ALICE, BOB, CAROL)]).ok
        assert chain.run(ALICE, [Payment(BOB.public_key, "ROT", 10_000)]).ok
    return chain


def test_demurrage_takes_the_yearly_rate_from_an_untouched_balance_and_gives_it_to_the_fund() -> None:
    chain = _rotting(100_000)  # 10 % a year
    chain.close(after_ms=YEAR - SECOND)
    assert chain.balance(BOB, "ROT") == 10_000  # lazy: nothing is charged until BOB's holding is touched
    assert chain.run(CAROL, [Payment(BOB.public_key, "ROT", 1)], after_ms=SECOND).ok  # a year after BOB's
    assert chain.balance(BOB, "ROT") == 9_001  # 10,000 kept 90 %, then +1
    assert chain.fund("ROT") == 1_000
    assert chain.balance(ALICE, "ROT") == -10_000  # debts do not decay
    # a second touch in the same ledger time charges nothing more
    assert chain.run(BOB, [Payment(CAROL.public_key, "ROT", 1)], after_ms=0).ok
    assert chain.fund("ROT") == 1_000


def test_demurrage_does_not_depend_on_how_often_a_balance_is_touched() -> None:
    rarely, often = _rotting(200_000), _rotting(200_000)
    for _ in range(12):
        often.close(after_ms=YEAR // 12)
        assert often.run(ALICE, [Payment(BOB.public_key, "ROT", 1)], after_ms=0).ok
        assert often.run(BOB, [Payment(ALICE.public_key, "ROT", 1)], after_ms=0).ok
    rarely.close(after_ms=YEAR)
    assert rarely.run(ALICE, [Payment(BOB.public_key, "ROT", 1)], after_ms=0).ok
    assert rarely.run(BOB, [Payment(ALICE.public_key, "ROT", 1)], after_ms=0).ok
    assert rarely.balance(BOB, "ROT") == 8_000
    assert (
        abs(often.balance(BOB, "ROT") - rarely.balance(BOB, "ROT")) <= 12
    )  # one unit per settlement at most


def test_a_new_rate_applies_from_now_on_only() -> None:
    chain = _rotting(100_000)
    chain.close(after_ms=YEAR // 2)
    assert _decide(chain, "ROT", SetDemurrage(0)) is R.OK
    chain.close(after_ms=10 * YEAR)
    assert chain.run(CAROL, [Payment(BOB.public_key, "ROT", 1)]).ok
    half_year_kept = 10_000 * 0.9**0.5
    assert chain.balance(BOB, "ROT") - 1 == int(half_year_kept)
    assert _decide(chain, "ROT", SetDemurrage(500_001)) is R.BAD_RATE


def test_issued_supply_stays_minted_minus_redeemed_under_demurrage() -> None:
    chain = _rotting(50_000, CurrencyKind.ISSUED)
    chain.close(after_ms=2 * YEAR - SECOND)
    assert chain.run(ALICE, [Payment(ISSUER.public_key, "ROT", 1000)], after_ms=SECOND).ok
    kept = chain.balance(ALICE, "ROT") + 1000
    assert abs(kept - 10_000 * 0.95**2) <= 1
    assert chain.run(ISSUER, [Redeem("ROT", 1000)], after_ms=0).ok  # (a second later, it would have decayed)
    assert chain.currency("ROT").supply == 10_000 - 1000
    assert chain.fund("ROT") == 10_000 - kept


def test_the_levy_is_paid_by_the_payer_into_the_fund() -> None:
    chain = community()
    assert _decide(chain, "LETS", SetLevy(10_000)) is R.OK  # 1 %
    assert chain.run(ALICE, [Payment(BOB.public_key, "LETS", 500)]).ok
    assert (chain.balance(ALICE, "LETS"), chain.balance(BOB, "LETS"), chain.fund("LETS")) == (-505, 500, 5)
    assert chain.run(ALICE, [Payment(BOB.public_key, "LETS", 99)]).ok  # 0.99 rounds down to no levy
    assert chain.fund("LETS") == 5
    # the credit limit covers the payment and its levy
    assert chain.run(ALICE, [Payment(BOB.public_key, "LETS", 394)]).code is R.OVER_CREDIT_LIMIT  # +3 levy
    assert chain.run(ALICE, [Payment(BOB.public_key, "LETS", 393)]).ok
    assert chain.balance(ALICE, "LETS") == -1000
    assert _decide(chain, "LETS", SetLevy(100_001)) is R.BAD_RATE


def test_the_fund_pays_out_only_through_proposals_within_its_balance_and_credit_limit() -> None:
    chain = community()
    assert _decide(chain, "LETS", PayFromFund(BOB.public_key, 1)) is R.FUND_SHORT
    assert _decide(chain, "LETS", SetFundCreditLimit(300)) is R.OK
    assert (
        _decide(chain, "LETS", PayFromFund(BOB.public_key, 200), PayFromFund(ALICE.public_key, 100)) is R.OK
    )
    assert (chain.fund("LETS"), chain.balance(BOB, "LETS"), chain.balance(ALICE, "LETS")) == (-300, 200, 100)
    assert _decide(chain, "LETS", PayFromFund(BOB.public_key, 1)) is R.FUND_SHORT
    assert _decide(chain, "EUROK", SetFundCreditLimit(1)) is R.WRONG_KIND
    assert _decide(chain, "LETS", PayFromFund(CAROL.public_key, 1)) is R.DESTINATION_NOT_MEMBER


@pytest.mark.parametrize("rate", [1, 1000, 70_000, 100_000, 500_000])
def test_the_decay_math_matches_the_yearly_rate(rate: int) -> None:
    index = demurrage.index_at(0, 0, rate, YEAR)
    assert abs(demurrage.kept(10**12, index) - 10**12 * (1 - rate / 1e6)) <= 10**12 * 1e-9 + 1
    assert demurrage.kept(-5, index) == -5
    assert demurrage.kept(10**12, 0) == 10**12
    assert demurrage.index_at(7, YEAR, rate, 0) == 7  # time never runs backwards
    with pytest.raises(ValueError, match="demurrage rate"):
        demurrage.daily_step(500_001)
