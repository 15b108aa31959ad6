"""Languages of the pages: which one a request gets, and its message catalogue.

Catalogues are gettext ``.po`` files under ``node/web/locale/<lang>/LC_MESSAGES/messages.po``
(English is the source language and needs none). They are compiled in memory when the node
starts, so the ``.po`` file a translator edits is the only copy: no compiled ``.mo`` to forget.
``scripts/web_messages.py`` extracts the messages and updates the catalogues (README: Web).

The language is, in order: ``?lang=`` (which the page also remembers in a cookie), the ``lang``
cookie, the best match in ``Accept-Language``, English.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from starlette.requests import Request

DEFAULT = "en"
COOKIE = "lang"
MAX_ACCEPT_LANGUAGE = 512  # characters of the header worth reading


@dataclass(frozen=True, slots=True)
class Language:
    code: str
    name: str  # in the language itself, for the switcher
    rtl: bool

    @property
    def direction(self) -> str:
        return "rtl" if self.rtl else "ltr"


LANGUAGES = {
    "en": Language("en", "English", rtl=False),
    "ar": Language("ar", "العربية", rtl=True),
}


def choose(request: Request) -> tuple[Language, bool]:
    """The request's language, and whether it was asked for with ``?lang=`` (then remembered)."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return LANGUAGES[asked], True
    cookie = request.cookies.get(COOKIE)
    if cookie in LANGUAGES:
        return LANGUAGES[cookie], False
    return LANGUAGES[_from_accept(request.headers.get("accept-language", ""))], False


def _from_accept(header: str) -> str:
    """The best-weighted supported language of an Accept-Language header (``ar-MA;q=0.9``)."""
    best, best_weight = DEFAULT, 0.0
    for position, item in enumerate(header[:MAX_ACCEPT_LANGUAGE].split(",")[:20]):
        tag, _, params = item.strip().partition(";")
        code = tag.strip().lower().split("-")[0]
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        weight -= position * 1e-6  # the earlier of equal weights wins
        if code in LANGUAGES and weight > best_weight:
            best, best_weight = code, weight
    return best


@cache
def translations(code: str) -> NullTranslations:
    """The compiled catalogue of a language (English: the messages themselves)."""
    if code == DEFAULT:
        return NullTranslations()
    source = resources.files("node.web") / "locale" / code / "LC_MESSAGES" / "messages.po"
    with source.open("rb") as po_file:
        catalog = read_po(po_file, locale=code)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)
