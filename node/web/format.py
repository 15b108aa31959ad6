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
