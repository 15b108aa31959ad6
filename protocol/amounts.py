"""Decimal text ↔ integer minor units, per currency's number of decimals.

Amounts on the ledger are integers (no floats anywhere): a time currency with 2 decimals stores
1.50 hours as 150. Parsing refuses anything the currency cannot represent exactly instead of
rounding: silently paying 1.49 h for "1.499" would be a bug a member never notices.
"""

from __future__ import annotations

import re

from protocol.codec import INT64_MAX
from protocol.errors import AmountError

MAX_DECIMALS = 8
_AMOUNT = re.compile(r"([+-]?)(\d*)(?:\.(\d*))?")


def parse_amount(text: str, decimals: int, *, allow_zero: bool = False, allow_negative: bool = False) -> int:
    """``"1.5"`` with 2 decimals → ``150``.

    Raises:
        AmountError: not a plain decimal number, more decimals than the currency has, zero or
            negative (unless allowed), or too large to store.
    """
    cleaned = text.strip().replace("_", "")
    match = _AMOUNT.fullmatch(cleaned)
    if not cleaned or match is None or not (match.group(2) or match.group(3)):
        raise AmountError(f"{text!r} is not a number (write amounts like 12 or 1.50)")
    sign, whole, fraction = match.group(1), match.group(2) or "0", match.group(3) or ""
    fraction = fraction.rstrip("0")
    if len(fraction) > decimals:
        places = (
            "no decimals" if decimals == 0 else f"at most {decimals} decimal{'s' if decimals > 1 else ''}"
        )
        raise AmountError(f"{text!r} has too many decimals: this currency allows {places}")
    value = int(whole) * _scale(decimals) + int(fraction.ljust(decimals, "0") or "0")
    if sign == "-":
        value = -value
    if value > INT64_MAX or value < -INT64_MAX:
        raise AmountError(f"{text!r} is too large")
    if value < 0 and not allow_negative:
        raise AmountError(f"{text!r} is negative; amounts must be positive")
    if value == 0 and not allow_zero:
        raise AmountError("the amount must be more than zero")
    return value


def format_amount(value: int, decimals: int) -> str:
    """``-150`` with 2 decimals → ``"-1.50"`` (always exactly ``decimals`` places)."""
    sign = "-" if value < 0 else ""
    whole, fraction = divmod(abs(value), _scale(decimals))
    if decimals == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:0{decimals}d}"


def _scale(decimals: int) -> int:
    if not 0 <= decimals <= MAX_DECIMALS:
        raise ValueError(f"a currency has 0 to {MAX_DECIMALS} decimals, not {decimals}")
    return int(10**decimals)
