"""The pages of the currency designs (protocol version 3), beside a currency's page:

* ``/web/currencies/{code}/businesses`` — a spend-locally currency's registered businesses (name,
  category, discount offer, address);
* ``/web/currencies/{code}/credits`` — guaranteed time credits: the guarantor, the outstanding
  credits (its liability), each accredited organisation's quota and use;
  ``/web/currencies/{code}/credits/{address}`` — one organisation's report with its latest credits;
* ``/web/exchange`` and ``/web/currencies/{code}/exchange`` — the exchange agreements between
  communities: rate, limits, clearing balances, who owes whom, and one community's net position.

Plus the summaries the currency page shows (``designs_summary``) and an account's guardians and
any key recovery under way (``recovery``). Everything comes from what the API reads and shows
(``node.designs_reads``, ``node.api.designs_json``), so a page and ``GET /…`` never disagree.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from node.api.designs_json import (
    business_entry_json,
    guarantor_report_json,
    guardianship_json,
    organisation_report_json,
    position_json,
)
from node.api.explorer import ExplorerNode
from node.designs_reads import DesignReads
from node.web import inputs
from node.web.context import shared_context
from node.web.site import Page, PageError
from protocol.designs.terms import Acceptance
from protocol.state import Currency

CREDITS_SHOWN = 50  # an organisation's latest credits on its page


class DesignPages:
    def __init__(self, node: ExplorerNode) -> None:
        self.node = node
        self.reads = node.reads
        self.designs = DesignReads(node.reads)

    def _currency(self, page: Page) -> Currency:
        return inputs.currency(page, self.reads, page.request.path_params["code"])

    def _render(self, page: Page, name: str, context: dict[str, Any]) -> Response:
        return page.render(name, {**shared_context(self.node, page), **context})

    async def businesses_page(self, page: Page) -> Response:
        currency = self._currency(page)
        if currency.extension.terms.accept is not Acceptance.REGISTERED:
            raise PageError(
                404,
                inputs.say(
                    page.gettext("%(code)s is not spent only with registered businesses."),
                    code=inputs.verbatim(currency.code),
                ),
            )
        items = [business_entry_json(b) for b in self.designs.businesses(currency.code)]
        return self._render(page, "businesses.html", {"currency": currency, "businesses": items})

    def _guaranteed(self, page: Page) -> Currency:
        currency = self._currency(page)
        if not currency.extension.terms.guaranteed:
            raise PageError(
                404,
                inputs.say(
                    page.gettext("%(code)s is not a currency of guaranteed time credits."),
                    code=inputs.verbatim(currency.code),
                ),
            )
        return currency

    async def credits_page(self, page: Page) -> Response:
        currency = self._guaranteed(page)
        report = guarantor_report_json(self.designs.guarantor_report(currency))
        return self._render(page, "credits.html", {"currency": currency, "report": report})

    async def organisation_page(self, page: Page) -> Response:
        currency = self._guaranteed(page)
        organisation = inputs.account(page, page.request.path_params["address"])
        found = self.designs.organisation_report(currency, organisation, CREDITS_SHOWN)
        if found is None:
            raise PageError(404, page.gettext("This account was never accredited in this currency."))
        report = organisation_report_json(currency, found)
        return self._render(page, "organisation.html", {"currency": currency, "report": report})

    async def exchange_page(self, page: Page) -> Response:
        code = page.request.path_params.get("code")
        currency = None if code is None else self._currency(page)
        positions = self.designs.positions(None if currency is None else currency.code)
        context: dict[str, Any] = {
            "currency": currency,
            "agreements": [position_json(p) for p in positions],
            "net": None if currency is None else sum(p.balance_of(currency.code) for p in positions),
        }
        return self._render(page, "exchange.html", context)

    # -- parts of the currency and account pages ---------------------------------------------------

    def designs_summary(self, currency: Currency) -> dict[str, Any]:
        """What the currency page says of its designs: its businesses, its guarantee, its
        exchange agreements (each only when it has them)."""
        terms = currency.extension.terms
        positions = self.designs.positions(currency.code)
        summary: dict[str, Any] = {
            "businesses": None,
            "credits": None,
            "accept": terms.accept.value,
            "agreements": len(positions),
            "net": sum(p.balance_of(currency.code) for p in positions),
        }
        if terms.accept is Acceptance.REGISTERED:
            summary["businesses"] = len(self.designs.businesses(currency.code))
        if terms.guaranteed:
            summary["credits"] = guarantor_report_json(self.designs.guarantor_report(currency))
        return summary

    def recovery(self, account: bytes) -> dict[str, Any]:
        """An account's guardians and any key recovery under way (``recovery.due_ms``: when the
        new key may take over, by ledger close time)."""
        return guardianship_json(account, self.designs.guardianship(account), self.reads.last.close_time_ms)
