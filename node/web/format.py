"""How ledger values read on a page: amounts in the currency's units, times, months.

Amounts are integers in minor units on the ledger; a page shows ``1.50 h`` for a time currency
(the unit translated) and ``12.00 LETS`` for the others, like the wallet does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from markupsafe import Markup

from protocol.amounts import format_amount
from protocol.state import Currency

Gettext = Callable[[str], str]


def amount(value: int, currency: Currency | None, code: str, _: Gettext) -> str:
    if currency is None:
        return f"{value} {code}"
    text = format_amount(value, currency.decimals)
    unit = _("h") if currency.kind.value == "time" else code
    return f"{text}\u00a0{unit}"  # no line break between a number and its unit


def iso_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def time(ms: int) -> Markup:
    """``2026-03-01 14:05 UTC``: one unambiguous form for every reader and node (the date and
    the time each kept on one line)."""
    when = datetime.fromtimestamp(ms / 1000, UTC)
    return Markup('<span class="nowrap">%s</span> <span class="nowrap">%s UTC</span>') % (
        when.strftime("%Y-%m-%d"),
        when.strftime("%H:%M"),
    )


def month(yyyymm: int) -> str:
    return f"{yyyymm // 100:04d}-{yyyymm % 100:02d}"


def percent(ppm: int) -> str:
    """A rate in parts per million as a percentage: ``20000`` → ``2``, ``12500`` → ``1.25``."""
    whole, rest = divmod(ppm, 10_000)
    return str(whole) if rest == 0 else f"{whole}.{rest:04d}".rstrip("0")


def _(message: str) -> str:
    """Marks a message for the catalogue; translated where a page shows it."""
    return message


DURATION_UNITS = ((86_400, _("d")), (3600, _("h")), (60, _("min")), (1, _("s")))


def duration(seconds: int, _: Gettext) -> str:
    """``12000`` → ``3 h 20 min``: the largest unit and the next one when not zero, the unit
    names translated."""
    left = max(0, seconds)
    index = next(i for i, (size, _unit) in enumerate(DURATION_UNITS) if left >= size or size == 1)
    size, unit = DURATION_UNITS[index]
    count, rest = divmod(left, size)
    text = f"{count}\u00a0{_(unit)}"
    if index + 1 < len(DURATION_UNITS) and rest >= DURATION_UNITS[index + 1][0]:
        smaller, smaller_unit = DURATION_UNITS[index + 1]
        text += f" {rest // smaller}\u00a0{_(smaller_unit)}"
    return text


def relative(target_ms: int, now_ms: int, _: Gettext) -> str:
    """``in 3 h 20 min`` or ``3 h 20 min ago``."""
    if target_ms >= now_ms:
        return _("in %(span)s") % {"span": duration((target_ms - now_ms) // 1000, _)}
    return _("%(span)s ago") % {"span": duration((now_ms - target_ms) // 1000, _)}
