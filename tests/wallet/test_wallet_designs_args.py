"""The wallet's reading of the design commands' arguments: exchange rates in whole units become
reduced fractions of minor units, recovery delays read like 3d or 12h, and bad ones are bad usage
(exit 2) with the reason."""

from __future__ import annotations

import pytest

from protocol.designs.recovery import MAX_DELAY_S, MIN_DELAY_S
from protocol.operations import CurrencyKind
from wallet.cli.exchange_cmd import rate_terms
from wallet.cli.recovery_cmd import parse_duration
from wallet.errors import BadInput
from wallet.views import CurrencyView


def _currency(code: str, decimals: int) -> CurrencyView:
    return CurrencyView(code, CurrencyKind.MUTUAL, decimals, "tly1", (), 1, 0, 0, 0, 0, 0)


@pytest.mark.parametrize(
    ("rate", "own", "partner", "expected"),
    [
        ("10", 2, 2, (10, 1)),
        ("0.1", 2, 2, (1, 10)),
        ("1/10", 2, 2, (1, 10)),
        ("1/12", 2, 2, (1, 12)),
        ("1.5", 2, 0, (3, 200)),
        ("2", 0, 8, (200_000_000, 1)),
    ],
)
def test_rates_become_reduced_fractions_of_minor_units(
    rate: str, own: int, partner: int, expected: tuple[int, int]
) -> None:
    assert rate_terms(rate, _currency("A", own), _currency("B", partner)) == expected


@pytest.mark.parametrize("rate", ["0", "-1", "ten", "0.000000001", "1/0", "1/"])
def test_bad_rates_are_bad_usage(rate: str) -> None:
    with pytest.raises(BadInput, match="rate"):
        rate_terms(rate, _currency("A", 2), _currency("B", 2))


@pytest.mark.parametrize(
    ("text", "seconds"), [("3d", 259_200), ("12h", 43_200), ("30m", 1800), ("90s", 90), ("3600", 3600)]
)
def test_delays_read_in_days_hours_minutes_or_seconds(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "3 weeks", "-1d", f"{MIN_DELAY_S - 1}", f"{MAX_DELAY_S + 1}s", "1.5h"])
def test_bad_delays_are_bad_usage(text: str) -> None:
    with pytest.raises(BadInput, match="delay"):
        parse_duration(text)
