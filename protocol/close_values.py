"""Which close values a validator votes for, and how confirmed candidates combine into one.

The rules behind ``validate_value`` and ``combine_candidates`` of a node's consensus driver,
pure so the node and the simulator share them and tests can drive them with any clock.

*Upgrades* (a new protocol version, a new ``max_tx_set_size``) follow stellar-core: while
nominating, a validator votes only for values whose upgrades are exactly what its operator
configured it to want (``UpgradeWishes``), so no upgrade becomes a candidate unless a quorum of
validators wants it; in the ballot phase it accepts any upgrade that may apply, so a minority can
never block a ledger the others agreed on. Before this, one validator alone could raise or lower
``max_tx_set_size`` for everyone (candidates combined by taking the highest, never checked).

*Close time* bounds the skew any minority can cause. A nominated close time may lead the
validator's own clock by at most ``MAX_CLOSE_TIME_DRIFT_MS`` (it must always be after the last
ledger's), and candidates combine to the *median* of their close times instead of the latest: a
value with a far-future time is never voted for by honest validators, and among confirmed
candidates one extreme time cannot move the result past the middle one. Deadlines and demurrage
run on close times, so this is what makes them trustworthy.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from protocol.ledger import (
    UPGRADE_MAX_TX_SET_SIZE,
    UPGRADE_PROTOCOL_VERSION,
    CloseValue,
    LedgerHeader,
    upgrade_applies,
)

MAX_CLOSE_TIME_DRIFT_MS = 5_000
"""How far a nominated close time may lead a validator's clock: clocks kept by NTP agree within
a fraction of a second, and every ledger's time is pulled back to honest clocks at most this far
ahead."""


@dataclass(frozen=True, slots=True)
class UpgradeWishes:
    """The upgrades this validator's operator configured it to vote for (name → value)."""

    settings: tuple[tuple[str, int], ...] = ()

    def wants(self, name: str, value: int) -> bool:
        return (name, value) in self.settings

    def for_ledger_after(self, last: LedgerHeader) -> tuple[tuple[str, int], ...]:
        """The wished upgrades that would still change something after ``last`` (to nominate)."""
        return tuple(
            sorted((n, v) for n, v in self.settings if upgrade_applies(last, n, v) and _changes(last, n, v))
        )


class ValueProblem(enum.Enum):
    """Why a close value is not voted for; the value is a stable name for logs and metrics."""

    NOT_AFTER_LAST = "not_after_last"  # its close time is not after the previous ledger's
    TOO_FAR_AHEAD = "too_far_ahead"  # its close time leads our clock by more than the drift
    INAPPLICABLE_UPGRADE = "inapplicable_upgrade"  # unknown, out of bounds, or a version going back
    UNWANTED_UPGRADE = "unwanted_upgrade"  # an upgrade our operator did not configure (nomination)


def close_value_problem(
    value: CloseValue, last: LedgerHeader, now_ms: int, wishes: UpgradeWishes, *, nomination: bool
) -> ValueProblem | None:
    """What is wrong with ``value`` as the ledger after ``last`` (None: nothing)."""
    if value.close_time_ms <= last.close_time_ms:
        return ValueProblem.NOT_AFTER_LAST
    # last + 1 always passes: a ledger must be able to follow one whose time ran ahead of us
    if nomination and value.close_time_ms > max(now_ms + MAX_CLOSE_TIME_DRIFT_MS, last.close_time_ms + 1):
        return ValueProblem.TOO_FAR_AHEAD
    for name, setting in value.upgrades:
        if not upgrade_applies(last, name, setting):
            return ValueProblem.INAPPLICABLE_UPGRADE
        if nomination and not wishes.wants(name, setting):
            return ValueProblem.UNWANTED_UPGRADE
    return None


def combine_close_values(candidates: Sequence[CloseValue], tx_set_size: Callable[[bytes], int]) -> CloseValue:
    """One value from the confirmed candidates: the largest tx set (ties: the higher hash), the
    median close time (the lower middle of an even count), and for each upgrade name the value
    most candidates carry (ties: the lower one)."""
    if not candidates:
        raise ValueError("combining needs at least one candidate")
    best = max(candidates, key=lambda c: (tx_set_size(c.tx_set_hash), c.tx_set_hash))
    times = sorted(c.close_time_ms for c in candidates)
    median = times[(len(times) - 1) // 2]
    votes = Counter(upgrade for c in candidates for upgrade in c.upgrades)
    chosen: dict[str, tuple[int, int]] = {}
    for (name, setting), count in votes.items():
        if name not in chosen or (count, -setting) > (chosen[name][0], -chosen[name][1]):
            chosen[name] = (count, setting)
    upgrades = tuple(sorted((name, setting) for name, (_count, setting) in chosen.items()))
    return CloseValue(best.tx_set_hash, median, upgrades)


def _changes(last: LedgerHeader, name: str, value: int) -> bool:
    current = {UPGRADE_MAX_TX_SET_SIZE: last.params.max_tx_set_size, UPGRADE_PROTOCOL_VERSION: last.version}
    return current.get(name) != value
