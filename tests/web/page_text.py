"""What a page in another language still shows in Latin letters: its words must all come from the
catalogue, so only identifiers (addresses, hashes, codes, times, amounts), what people wrote
(memos, titles, names) and the language switcher may be Latin, and the templates mark those
``translate="no"`` (or ``lang="en"``). Visible attributes (``aria-label``, ``title``, ``alt``, the
labels narrow tables show, the live script's messages) count too."""

from __future__ import annotations

import re
from html.parser import HTMLParser

LATIN = re.compile(r"[A-Za-z]")
SHOWN_ATTRIBUTES = ("aria-label", "title", "alt", "data-label", "placeholder", "data-gap-text")
VOID = {"meta", "link", "br", "img", "input", "hr", "col", "area", "base", "source", "wbr"}
NEVER_SHOWN = {"head", "script", "style"}


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden: list[tuple[str, bool]] = []  # open elements: (tag, hidden or inside a hidden one)
        self.found: list[str] = []

    def _inside_hidden(self) -> bool:
        return bool(self.hidden) and self.hidden[-1][1]

    def _element(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        values = dict(attrs)
        hidden = (
            self._inside_hidden()
            or tag in NEVER_SHOWN
            or values.get("translate") == "no"
            or values.get("lang") not in (None, "ar")
        )
        if not hidden:
            for name in SHOWN_ATTRIBUTES:
                value = values.get(name) or ""
                if LATIN.search(value):
                    self.found.append(f"<{tag} {name}={value!r}>")
        return hidden

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        hidden = self._element(tag, attrs)
        if tag not in VOID:
            self.hidden.append((tag, hidden))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.hidden) - 1, -1, -1):
            if self.hidden[index][0] == tag:
                del self.hidden[index:]
                return

    def handle_data(self, data: str) -> None:
        if not self._inside_hidden() and LATIN.search(data):
            self.found.append(data.strip())


def untranslated(html: str) -> list[str]:
    """Every piece of visible text or visible attribute with Latin letters that is not marked as
    an identifier or as people's own words."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.found


def visible_text(html: str) -> str:
    """What a reader sees, for tests to search: block tags become spaces, inline tags nothing,
    white space collapsed (no-break spaces too)."""
    spaced = re.sub(r"</?(?:p|div|li|dt|dd|td|th|tr|h[1-6]|ul|ol|dl|section|br)\b[^>]*>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", spaced)).replace("\u00a0", " ")
