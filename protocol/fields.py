"""Field types shared by operations, actions and state entries: keys, currency codes, amounts and
currency kinds, with their strict decoders.

A leaf module (it imports only the codec), so operation, governance and state modules can all use
it without importing each other.
"""

from __future__ import annotations

import enum
import functools
import re

from protocol import codec
from protocol.codec import INT64_MAX

KEY = 32
MAX_CODE_LEN = 12
MAX_STEWARDS = 20
CODE_PATTERN = re.compile(r"[A-Z0-9]{1,12}")


class CurrencyKind(enum.Enum):
    """What kind of money a currency is; the value is its stable name."""

    MUTUAL = "mutual"  # LETS / mutual credit: zero-sum, balances may go down to -credit_limit
    TIME = "time"  # time bank: mutual credit counted in hours with 2 decimals
    ISSUED = "issued"  # backed local currency: an issuer mints and redeems, never below zero

    @property
    def is_mutual_credit(self) -> bool:
        return self is not CurrencyKind.ISSUED


def valid_code(code: str) -> bool:
    """Currency codes are 1–12 characters of A–Z and 0–9."""
    return len(code) <= MAX_CODE_LEN and _valid_short_code(code)


@functools.lru_cache(maxsize=4096)
def _valid_short_code(code: str) -> bool:
    # cached: a handful of codes are checked on every payment (only short strings get here,
    # so the cache stays small whatever a client sends)
    return CODE_PATTERN.fullmatch(code) is not None


def decode_key(obj: object, what: str) -> bytes:
    """A 32-byte public key (or derived address)."""
    return codec.blob(obj, what, size=KEY)


def decode_code(obj: object) -> str:
    """A currency code's text (its alphabet is checked by ``valid_code``, giving ``malformed``)."""
    return codec.text(obj, "currency code", max_len=MAX_CODE_LEN)


def decode_amount(obj: object, what: str) -> int:
    """A non-negative amount or limit in minor units that fits in an int64."""
    return codec.integer(obj, what, hi=INT64_MAX)


def stewards_well_formed(stewards: tuple[bytes, ...], threshold: int) -> bool:
    """1–20 distinct stewards and a threshold they can reach (1 ≤ threshold ≤ count)."""
    return (
        0 < len(stewards) <= MAX_STEWARDS
        and len(set(stewards)) == len(stewards)
        and 1 <= threshold <= len(stewards)
    )
