"""Reading one JSON object of a node answer field by field, each checked for presence, type and range.

A problem raises ``BadResponse`` naming the field (``account.balances[0].balance: expected an
integer …``), never a ``KeyError`` or ``TypeError`` later in a command.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from protocol.addresses import decode_account
from protocol.errors import AddressError
from protocol.operations import CurrencyKind
from wallet.errors import BadResponse

INT64 = 2**63
UINT32_MAX = 2**32 - 1
MAX_TEXT = 4096

_KINDS = {kind.value: kind for kind in CurrencyKind}
T = TypeVar("T")


class Fields:
    """One JSON object of an answer, read field by field; ``where`` names it in error messages."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, dict):
            raise BadResponse(f"{where}: expected a JSON object, got {_short(data)}")
        self._data: dict[str, Any] = data
        self.where = where

    def _value(self, key: str, optional: bool) -> object:
        value = self._data.get(key)
        if value is None and not optional:
            raise BadResponse(f"{self.where}.{key} is missing")
        return value

    def _wrong(self, key: str, expected: str, value: object) -> BadResponse:
        return BadResponse(f"{self.where}.{key}: expected {expected}, got {_short(value)}")

    def opt_integer(self, key: str, lo: int = -INT64, hi: int = INT64 - 1) -> int | None:
        value = self._value(key, optional=True)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise self._wrong(key, f"an integer from {lo} to {hi}", value)
        return value

    def integer(self, key: str, lo: int = -INT64, hi: int = INT64 - 1) -> int:
        self._value(key, optional=False)
        return cast(int, self.opt_integer(key, lo, hi))

    def opt_text(self, key: str, max_len: int = MAX_TEXT) -> str | None:
        value = self._value(key, optional=True)
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > max_len:
            raise self._wrong(key, f"text of at most {max_len} characters", value)
        return value

    def text(self, key: str, max_len: int = MAX_TEXT) -> str:
        self._value(key, optional=False)
        return cast(str, self.opt_text(key, max_len))

    def flag(self, key: str) -> bool:
        value = self._value(key, optional=False)
        if not isinstance(value, bool):
            raise self._wrong(key, "true or false", value)
        return value

    def opt_address(self, key: str) -> str | None:
        text = self.opt_text(key, max_len=128)
        if text is not None and not _is_address(text):
            raise self._wrong(key, "an account address (tly1…)", text)
        return text

    def address(self, key: str) -> str:
        self._value(key, optional=False)
        return cast(str, self.opt_address(key))

    def opt_kind(self, key: str) -> CurrencyKind | None:
        text = self.opt_text(key, max_len=32)
        if text is not None and text not in _KINDS:
            raise self._wrong(key, f"a currency kind ({', '.join(_KINDS)})", text)
        return None if text is None else _KINDS[text]

    def kind(self, key: str) -> CurrencyKind:
        self._value(key, optional=False)
        return cast(CurrencyKind, self.opt_kind(key))

    def list_of(self, key: str, parse: Callable[[Fields], T], *, optional: bool = False) -> tuple[T, ...]:
        value = self._value(key, optional)
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self._wrong(key, "a list", value)
        return tuple(parse(Fields(item, f"{self.where}.{key}[{i}]")) for i, item in enumerate(value))

    def addresses(self, key: str) -> tuple[str, ...]:
        value = self._value(key, optional=False)
        if not isinstance(value, list) or not all(
            isinstance(item, str) and _is_address(item) for item in value
        ):
            raise self._wrong(key, "a list of account addresses", value)
        return tuple(value)

    def nested(self, key: str) -> Fields:
        return Fields(self._value(key, optional=True) or {}, f"{self.where}.{key}")


def _is_address(text: str) -> bool:
    try:
        decode_account(text)
    except AddressError:
        return False
    return True


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"
