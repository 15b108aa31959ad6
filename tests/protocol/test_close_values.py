"""What a validator votes for and how candidates combine: upgrades only by a configured wish
while nominating, any applicable upgrade in the ballot phase, close times bounded by the drift
and combined by the median."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st
from protocol_support import NETWORK

from protocol.close_values import (
    MAX_CLOSE_TIME_DRIFT_MS,
    UpgradeWishes,
    ValueProblem,
    close_value_problem,
    combine_close_values,
)
from protocol.ledger import CloseValue, LedgerHeader, LedgerParams, genesis_header
from protocol.versions import PROTOCOL_V1, PROTOCOL_V2

NOW = 1_800_000_000_000
LAST = LedgerHeader(
    PROTOCOL_V1, 7, genesis_header(NETWORK).hash, NOW - 5000, bytes(32), bytes(32), bytes(32), LedgerParams()
)
HASH = bytes(32)
NOBODY_WANTS = UpgradeWishes()
WANTS_V2 = UpgradeWishes((("protocol_version", PROTOCOL_V2),))


def _problem(
    value: CloseValue, wishes: UpgradeWishes = NOBODY_WANTS, *, nomination: bool = True
) -> ValueProblem | None:
    return close_value_problem(value, LAST, NOW, wishes, nomination=nomination)


def test_a_validator_nominates_only_the_upgrades_its_operator_wants() -> None:
    bigger = CloseValue(HASH, NOW, (("max_tx_set_size", 50_000),))
    assert _problem(bigger) is ValueProblem.UNWANTED_UPGRADE
    assert _problem(bigger, UpgradeWishes((("max_tx_set_size", 40_000),))) is ValueProblem.UNWANTED_UPGRADE
    assert _problem(bigger, UpgradeWishes((("max_tx_set_size", 50_000),))) is None
    assert _problem(bigger, nomination=False) is None  # the ballot phase never blocks an agreed ledger
    upgrade = CloseValue(HASH, NOW, (("protocol_version", PROTOCOL_V2),))
    assert _problem(upgrade) is ValueProblem.UNWANTED_UPGRADE
    assert _problem(upgrade, WANTS_V2) is None


def test_upgrades_that_cannot_apply_are_refused_in_every_phase() -> None:
    for upgrades in ((("protocol_version", PROTOCOL_V1),), (("max_tx_set_size", 0),), (("bogus", 1),)):
        value = CloseValue(HASH, NOW, upgrades)
        wishes = UpgradeWishes(upgrades)
        assert _problem(value, wishes) is ValueProblem.INAPPLICABLE_UPGRADE
        assert _problem(value, wishes, nomination=False) is ValueProblem.INAPPLICABLE_UPGRADE


def test_close_times_must_follow_the_last_ledger_and_not_run_ahead_of_our_clock() -> None:
    assert _problem(CloseValue(HASH, LAST.close_time_ms)) is ValueProblem.NOT_AFTER_LAST
    assert _problem(CloseValue(HASH, LAST.close_time_ms + 1)) is None
    assert _problem(CloseValue(HASH, NOW + MAX_CLOSE_TIME_DRIFT_MS)) is None
    ahead = CloseValue(HASH, NOW + MAX_CLOSE_TIME_DRIFT_MS + 1)
    assert _problem(ahead) is ValueProblem.TOO_FAR_AHEAD
    assert _problem(ahead, nomination=False) is None
    # after a ledger whose time ran ahead of this clock, the next millisecond is still fine
    late_clock = close_value_problem(
        CloseValue(HASH, LAST.close_time_ms + 1),
        LAST,
        LAST.close_time_ms - 60_000,
        NOBODY_WANTS,
        nomination=True,
    )
    assert late_clock is None


def test_wishes_name_only_upgrades_that_would_change_something() -> None:
    wishes = UpgradeWishes((("max_tx_set_size", 10_000), ("protocol_version", PROTOCOL_V2)))
    assert wishes.for_ledger_after(LAST) == (("protocol_version", PROTOCOL_V2),)
    upgraded = replace(LAST, version=PROTOCOL_V2)
    assert wishes.for_ledger_after(upgraded) == ()


@given(
    honest=st.lists(st.integers(NOW - 2000, NOW + 2000), min_size=2, max_size=9),
    byzantine=st.lists(st.integers(NOW, NOW + 10**9), max_size=4),
)
def test_the_median_close_time_stays_among_honest_times_while_they_are_the_majority(
    honest: list[int], byzantine: list[int]
) -> None:
    if len(byzantine) >= len(honest):
        byzantine = byzantine[: len(honest) - 1]
    candidates = [CloseValue(bytes([i]) * 32, t) for i, t in enumerate(honest + byzantine)]
    combined = combine_close_values(candidates, lambda h: 0)
    assert min(honest) <= combined.close_time_ms <= max(honest)


def test_combining_takes_the_largest_tx_set_and_the_most_wanted_upgrade() -> None:
    small, large = bytes([1]) * 32, bytes([2]) * 32
    sizes = {small: 3, large: 9}
    combined = combine_close_values(
        [
            CloseValue(small, 10, (("max_tx_set_size", 500),)),
            CloseValue(large, 30, (("max_tx_set_size", 400),)),
            CloseValue(small, 20, (("max_tx_set_size", 500), ("protocol_version", 2))),
        ],
        sizes.__getitem__,
    )
    assert combined == CloseValue(large, 20, (("max_tx_set_size", 500), ("protocol_version", 2)))
    tie = combine_close_values(
        [CloseValue(small, 1, (("max_tx_set_size", 7),)), CloseValue(small, 2, (("max_tx_set_size", 5),))],
        sizes.__getitem__,
    )
    assert (tie.close_time_ms, tie.upgrades) == (1, (("max_tx_set_size", 5),))
