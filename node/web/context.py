"""What every page's templates may use beside their own context: ``units(value, code)`` writes an
amount in its currency's units, ``explain(code)`` a result code's explanation, both in the page's
language."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from markupsafe import Markup

from node.api.explorer import ExplorerNode
from node.web import format as fmt
from node.web.site import Page
from protocol.results import ResultCode
from protocol.state import Currency


class Units:
    """Amounts of any currency in its units, looking each currency up once per page."""

    def __init__(self, node: ExplorerNode, page: Page) -> None:
        self.node, self.page = node, page
        self._known: dict[str, Currency | None] = {}

    def text(self, value: int, code: str) -> str:
        return fmt.amount(value, self._currency(code), code, self.page.gettext)

    def rate(self, code: str, partner: str, num: int, den: int) -> tuple[Markup, Markup, bool]:
        """An exchange rate for people: one whole unit of ``code`` and what it is worth in
        ``partner`` (``num`` minor units of ``partner`` for every ``den`` of ``code``), rounded to
        a minor unit, and whether that was exact."""
        found = self._currency(code)
        one = 10 ** (0 if found is None else found.decimals)
        worth = Fraction(num * one, den)
        return self(one, code), self(round(worth), partner), worth.denominator == 1

    def _currency(self, code: str) -> Currency | None:
        if code not in self._known:
            self._known[code] = self.node.reads.currency(code)
        return self._known[code]

    def __call__(self, value: int, code: str) -> Markup:
        """For templates: isolated left-to-right, so a minus sign stays in front in Arabic too."""
        return Markup('<bdi class="amount" dir="ltr" translate="no">%s</bdi>') % self.text(value, code)


_RESULT_CODES = {c.value: c for c in ResultCode}


def shared_context(node: ExplorerNode, page: Page) -> dict[str, Any]:
    """``units`` and ``explain`` for one page."""

    def explain(code: str) -> str:
        known = _RESULT_CODES.get(code)
        return page.gettext(known.explanation) if known else code

    return {"units": Units(node, page), "explain": explain}
