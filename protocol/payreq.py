"""Payment requests: the ``tally:`` URI that a QR code or a message carries ("pay me 1.50 h").

Format, version 1 (one line, at most ``MAX_URI_CHARS`` characters)::

    tally:ADDRESS?v=1&net=NETTAG[&cur=CODE[&amt=AMOUNT]][&memo=TEXT][&for=REF]

* ``ADDRESS``  the recipient's ``tly1…`` address (bech32m, lower case);
* ``v``        the format version, always first; a parser refuses versions it does not know;
* ``net``      the network tag: the first 8 bytes of the network ID (BLAKE2b-256 of the network
  passphrase) as 16 hex digits, so a testnet request is refused by a wallet on another network;
* ``cur``      the currency code (A-Z, 0-9; at most 12);
* ``amt``      the amount in the currency's own units, as the member reads it ("1.50" hours, not
  minor units): digits, optionally a point and 1 to 8 decimals, no sign, no exponent, no leading
  zero, more than zero. It needs ``cur``. Without ``amt`` the payer chooses the amount ("pay me");
* ``memo``     the note the payment carries: UTF-8, percent-encoded, at most 64 bytes, no control
  characters or direction overrides;
* ``for``      the reference of the board listing the payment settles (``protocol.listings``).

Parsing is strict: the scheme is ``tally`` (any case, as RFC 3986 allows), every other character is
an unreserved one (``A-Z a-z 0-9 - . _ ~``) or a ``%XX`` escape (``+`` is not a space), each key
appears once, unknown keys are refused. ``build_uri`` writes the keys in the order above, so a
request has one text form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from protocol.addresses import decode_account, encode_account
from protocol.errors import AddressError, ProtocolError
from protocol.listings import MEMO_LINK_PREFIX, REF_CHARS, clean_text, is_listing_ref
from protocol.operations import valid_code
from protocol.transactions import MAX_MEMO_BYTES

SCHEME = "tally"
VERSION = 1
NET_TAG_BYTES = 8
MAX_URI_CHARS = 512
KEYS = ("v", "net", "cur", "amt", "memo", "for")

_AMOUNT = re.compile(r"(0|[1-9][0-9]{0,18})(\.[0-9]{1,8})?")
_NET_TAG = re.compile(r"[0-9a-f]{16}")
_VALUE = re.compile(r"(?:[A-Za-z0-9\-._~]|%[0-9A-Fa-f]{2})*")
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


class RequestError(ProtocolError, ValueError):
    """Text that is not a valid payment request (the message says what is wrong)."""


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    recipient: bytes  # public key
    network_tag: bytes  # the first NET_TAG_BYTES of the network ID
    currency: str | None = None
    amount: str | None = None  # decimal text in the currency's units, e.g. "1.50"
    memo: str = ""
    listing: str | None = None  # a listing reference (protocol.listings.listing_ref)

    def for_network(self, network_id: bytes) -> bool:
        return self.network_tag == network_tag(network_id)


def network_tag(network_id: bytes) -> bytes:
    return network_id[:NET_TAG_BYTES]


def build_uri(request: PaymentRequest) -> str:
    """The URI of ``request``.

    Raises:
        RequestError: a field the format cannot carry (an amount without currency, a long memo…).
    """
    _check(request)
    parts = [f"v={VERSION}", f"net={request.network_tag.hex()}"]
    if request.currency is not None:
        parts.append(f"cur={request.currency}")
    if request.amount is not None:
        parts.append(f"amt={request.amount}")
    if request.memo:
        parts.append(f"memo={_escape(request.memo)}")
    if request.listing is not None:
        parts.append(f"for={request.listing}")
    uri = f"{SCHEME}:{encode_account(request.recipient)}?{'&'.join(parts)}"
    if len(uri) > MAX_URI_CHARS:  # pragma: no cover - every field is bounded well below this
        raise RequestError(f"the request is {len(uri)} characters; at most {MAX_URI_CHARS}")
    return uri


def parse_uri(text: str) -> PaymentRequest:
    """The payment request ``text`` carries.

    Raises:
        RequestError: not a ``tally:`` URI of a version this software knows, or any field that is
            malformed, out of range or over its size (the message names it).
    """
    uri = text.strip()
    if len(uri) > MAX_URI_CHARS:
        raise RequestError(
            f"a payment request is at most {MAX_URI_CHARS} characters; this one has {len(uri)}"
        )
    scheme, colon, rest = uri.partition(":")
    if not colon or scheme.lower() != SCHEME:
        raise RequestError("a payment request starts with 'tally:'")
    address_text, question, query = rest.partition("?")
    if not question:
        raise RequestError("the request has no '?v=1&net=…' part: it is an address, not a payment request")
    try:
        recipient = decode_account(address_text)
    except AddressError as exc:
        raise RequestError(f"the recipient: {exc}") from None
    if address_text != address_text.lower():
        raise RequestError("the recipient's address must be written in lower case")
    fields = _fields(query)
    request = PaymentRequest(
        recipient=recipient,
        network_tag=bytes.fromhex(fields["net"]),
        currency=fields.get("cur"),
        amount=fields.get("amt"),
        memo=_unescape(fields.get("memo", ""), "memo"),
        listing=fields.get("for"),
    )
    _check(request)
    return request


def _fields(query: str) -> dict[str, str]:
    pairs = query.split("&")
    fields: dict[str, str] = {}
    for index, pair in enumerate(pairs):
        key, equals, value = pair.partition("=")
        if not equals:
            raise RequestError(f"{pair[:20]!r} is not key=value")
        if index == 0 and key != "v":
            raise RequestError("the version (v=1) must come first")
        if key not in KEYS:
            raise RequestError(
                f"unknown field {key[:20]!r} (a version-{VERSION} request has {', '.join(KEYS)})"
            )
        if key in fields:
            raise RequestError(f"the field {key!r} appears twice")
        if not _VALUE.fullmatch(value):
            raise RequestError(f"the field {key!r} holds characters a URI must escape")
        fields[key] = value
    if fields["v"] != str(VERSION):
        raise RequestError(
            f"this request has format version {fields['v'][:8]!r}; this software reads version {VERSION} "
            "(a newer Tally may read it)"
        )
    if "net" not in fields or not _NET_TAG.fullmatch(fields["net"]):
        raise RequestError("the network tag (net=) must be 16 lower-case hex digits")
    return fields


def _check(request: PaymentRequest) -> None:
    if len(request.network_tag) != NET_TAG_BYTES:
        raise RequestError(f"the network tag is {NET_TAG_BYTES} bytes")
    if request.currency is not None and not valid_code(request.currency):
        raise RequestError(f"{request.currency[:20]!r} is not a currency code (1-12 of A-Z, 0-9)")
    if request.amount is not None:
        if request.currency is None:
            raise RequestError("an amount needs a currency (cur=)")
        if not _AMOUNT.fullmatch(request.amount) or not request.amount.strip("0."):
            raise RequestError(
                f"the amount {request.amount[:30]!r} is not a positive decimal like 12 or 1.50 "
                "(no sign, no leading zeros, at most 8 decimals)"
            )
    memo_size = len(request.memo.encode("utf-8"))
    if memo_size > MAX_MEMO_BYTES:
        raise RequestError(f"the memo is {memo_size} bytes; at most {MAX_MEMO_BYTES}")
    if not clean_text(request.memo):
        raise RequestError("the memo holds control characters or direction overrides")
    if request.listing is not None:
        if not is_listing_ref(request.listing):
            raise RequestError(f"the listing reference (for=) is {REF_CHARS} lower-case hex digits")
        if memo_size + len(MEMO_LINK_PREFIX) + REF_CHARS + 1 > MAX_MEMO_BYTES:
            raise RequestError(
                f"with a listing the memo is at most {MAX_MEMO_BYTES - len(MEMO_LINK_PREFIX) - REF_CHARS - 1} bytes"
            )


def _escape(text: str) -> str:
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in text.encode("utf-8"))


def _unescape(value: str, what: str) -> str:
    raw = bytearray()
    index = 0
    while index < len(value):
        if value[index] == "%":
            raw.append(int(value[index + 1 : index + 3], 16))  # _VALUE guarantees two hex digits
            index += 3
        else:
            raw.append(ord(value[index]))
            index += 1
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestError(f"the {what} is not valid UTF-8 once unescaped") from None
