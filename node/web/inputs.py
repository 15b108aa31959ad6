"""What a page reads from its path and query, strictly: each bad input becomes a ``PageError``
with a message in the page's language that names what to fix.

The API's parsers (``node.api.params``) answer in English for scripts; a page reader deserves
their own language, so the pages parse here. What the reader typed is echoed at most
``ECHO_CHARS`` characters long: a 300-character path is not repeated back in full.
"""

from __future__ import annotations

from bech32m.codecs import CHARSET
from markupsafe import Markup, escape

from node.reads import LedgerReads
from node.web.site import Page, PageError
from protocol.addresses import ACCOUNT_PREFIX, decode_account
from protocol.errors import AddressError
from protocol.operations import valid_code
from protocol.state import Currency

ECHO_CHARS = 40
UINT32_MAX = 2**32 - 1


def shorten(text: str, limit: int = ECHO_CHARS) -> str:
    """``text`` cut to ``limit`` characters (an ellipsis marks the cut)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def verbatim(text: str) -> Markup:
    """An identifier or what the reader typed, inside a translated message: kept as written,
    left to right, and marked not to be translated (``translate="no"``)."""
    return Markup('<code translate="no" dir="ltr">%s</code>') % text


def say(template: str, **values: str | int | Markup) -> Markup:
    """A translated message with its values: text values escaped, ``verbatim`` ones kept."""
    return escape(template) % values


def account(page: Page, text: str) -> bytes:
    """The key of a ``tly1…`` account address."""
    try:
        return decode_account(text)
    except AddressError:
        raise PageError(400, _address_problem(page, text)) from None


def _address_problem(page: Page, text: str) -> str | Markup:
    cleaned = text.strip().lower()
    start = ACCOUNT_PREFIX + "1"
    if not cleaned:
        return page.gettext("The account address is empty.")
    if not cleaned.startswith(start):
        return say(
            page.gettext("%(text)s is not an account address: it should start with %(prefix)s."),
            text=verbatim(shorten(text.strip())),
            prefix=verbatim(start),
        )
    for position, char in enumerate(cleaned[len(start) :], start=len(start) + 1):
        if char not in CHARSET:
            return say(
                page.gettext(
                    "Character %(position)s (%(char)s) never appears in an account address: is it mistyped?"
                ),
                position=position,
                char=verbatim(char),
            )
    return page.gettext("This account address does not check out: a character is mistyped, missing or extra.")


def tx_hash(page: Page, text: str) -> bytes:
    value = _hex(text, 32)
    if value is None:
        raise PageError(
            400,
            say(
                page.gettext("A transaction hash is 64 hexadecimal characters: digits and %(letters)s."),
                letters=verbatim("a-f"),
            ),
        )
    return value


def _hex(text: str, size: int) -> bytes | None:
    if len(text) != 2 * size:
        return None
    try:
        return bytes.fromhex(text)
    except ValueError:
        return None


def ledger_number(page: Page, text: str) -> int:
    number = _number(text, 1, UINT32_MAX)
    if number is None:
        raise PageError(
            400, page.gettext("A ledger number is a whole number from 1 to %(max)s.") % {"max": UINT32_MAX}
        )
    return number


def _number(text: str, low: int, high: int) -> int | None:
    if not (text.isascii() and text.isdigit() and len(text) <= 12):
        return None
    value = int(text)
    return value if low <= value <= high else None


def history_cursor(page: Page, text: str | None) -> tuple[int, int] | None:
    """A ``LEDGER.INDEX`` paging cursor from a previous page (``?before=``)."""
    if text is None:
        return None
    ledger, _dot, index = text.partition(".")
    found = (_number(ledger, 0, UINT32_MAX), _number(index, 0, UINT32_MAX))
    if found[0] is None or found[1] is None:
        raise PageError(400, page.gettext("This page link is not valid."))
    return found[0], found[1]


def page_number(page: Page, text: str | None) -> int | None:
    """A numbered paging cursor (``?before=N``) from a previous page."""
    if text is None:
        return None
    found = _number(text, 1, UINT32_MAX)
    if found is None:
        raise PageError(400, page.gettext("This page link is not valid."))
    return found


def currency(page: Page, reads: LedgerReads, text: str) -> Currency:
    """The currency a code names (``hour`` and ``HOUR`` alike)."""
    code = text.upper()
    if not valid_code(code):
        raise PageError(
            400,
            say(
                page.gettext(
                    "A currency code is 1 to 12 characters: capital letters %(letters)s and digits."
                ),
                letters=verbatim("A-Z"),
            ),
        )
    found = reads.currency(code)
    if found is None:
        raise PageError(
            404, say(page.gettext("There is no currency %(code)s on this ledger."), code=verbatim(code))
        )
    return found
