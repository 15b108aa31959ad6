"""Request inputs, strictly parsed: every path and query parameter the API and the pages take goes
through one of these, which raise ``ApiError`` (400) naming what to fix."""

from __future__ import annotations

import ipaddress
import math

from starlette.requests import Request

from node.api.errors import ApiError
from protocol.addresses import decode_account
from protocol.errors import AddressError

UINT32_MAX = 2**32 - 1


def address(text: str) -> bytes:
    try:
        return decode_account(text)
    except AddressError as exc:
        raise ApiError(400, "bad_address", str(exc)) from None


def hex32(text: str, what: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError:
        value = b""
    if len(value) != 32:
        raise ApiError(400, "bad_request", f"{what} must be 64 hexadecimal characters")
    return value


def digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() is also true for '²' or '①', which int() refuses."""
    return text.isascii() and text.isdigit()


def integer(text: str, what: str, low: int, high: int) -> int:
    if not digits(text) or len(text) > 12 or not low <= int(text) <= high:
        raise ApiError(400, "bad_request", f"{what} must be an integer from {low} to {high}")
    return int(text)


def float_query(request: Request, name: str, low: float, high: float, default: float = 0.0) -> float:
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not low <= value <= high:
        raise ApiError(400, "bad_request", f"?{name} must be a number from {low:g} to {high:g}")
    return value


def cursor(text: str | None) -> tuple[int, int] | None:
    """A ``LEDGER.INDEX`` paging cursor from a previous page (``?before=``)."""
    if text is None:
        return None
    ledger, _, index = text.partition(".")
    if not (
        digits(ledger)
        and digits(index)
        and len(text) <= 24
        and int(ledger) <= UINT32_MAX
        and int(index) <= UINT32_MAX
    ):
        raise ApiError(400, "bad_request", "?before must be a cursor from a previous page (LEDGER.INDEX)")
    return int(ledger), int(index)


def client_source(request: Request) -> str:
    """Whom per-client limits count against: the client's IP address; for IPv6 its /64, which one
    subscriber usually holds whole (one host could otherwise rotate through 2^64 addresses)."""
    host = request.client.host if request.client else "?"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{host}/64", strict=False))
    return host
