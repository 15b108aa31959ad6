"""The board's pages: ``/web/board`` (offers and requests, filtered by currency, kind and category,
newest first, paged) and ``/web/board/{listing}`` (one listing in full with the payments that
settled it, and for an offer with an amount a QR code to pay its author for it).

They read the same board and the same views as ``GET /board`` (``node.board``); the text members
wrote goes through the templates' autoescaping like every memo.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from node.api.explorer import ExplorerNode
from node.board.board import BoardQuery
from node.board.views import LinkedPayment, linked_payments
from node.web import inputs
from node.web.context import Units
from node.web.qr import qr_svg
from node.web.site import Page, PageError
from protocol.addresses import encode_account
from protocol.amounts import format_amount
from protocol.listings import Category, Listing, ListingKind, listing_ref
from protocol.payreq import PaymentRequest, build_uri, network_tag

BOARD_PAGE = 20


def _(message: str) -> str:
    """Marks a message for the catalogue; it is translated when a page shows it."""
    return message


CATEGORY_NAMES = {
    Category.CARE: _("Care and company"),
    Category.HOUSEHOLD: _("Household"),
    Category.GARDEN: _("Garden"),
    Category.REPAIRS: _("Repairs"),
    Category.TRANSPORT: _("Transport"),
    Category.LEARNING: _("Learning"),
    Category.HEALTH: _("Health and wellbeing"),
    Category.ADMIN: _("Paperwork"),
    Category.TECH: _("Phones and computers"),
    Category.CREATIVE: _("Crafts and music"),
    Category.FOOD: _("Food"),
    Category.OTHER: _("Other"),
}
KIND_NAMES = {ListingKind.OFFER: _("Offer"), ListingKind.REQUEST: _("Request")}
_KINDS = {kind.value: kind for kind in ListingKind}
_CATEGORIES = {category.value: category for category in Category}


@dataclass(frozen=True, slots=True)
class PaymentRow:
    ledger: int
    payer: str
    payee: str
    amount: int
    tx_hash: str


@dataclass(frozen=True, slots=True)
class ListingCard:
    """A listing as the pages show it."""

    listing: Listing
    ref: str
    kind: str
    category: str
    author: str
    payments: list[PaymentRow]

    @property
    def body(self) -> Any:
        return self.listing.body


class BoardPages:
    def __init__(self, node: ExplorerNode) -> None:
        self.node = node
        self.board = node.board.board

    def _card(self, page: Page, listing: Listing) -> ListingCard:
        return ListingCard(
            listing,
            listing_ref(listing.id),
            page.gettext(KIND_NAMES[listing.body.kind]),
            page.gettext(CATEGORY_NAMES[listing.body.category]),
            encode_account(listing.author),
            [_payment_row(p) for p in linked_payments(self.node.reads, listing)],
        )

    async def board_page(self, page: Page) -> Response:
        params = page.request.query_params
        currency = params.get("currency") or None
        kind = params.get("kind") or None
        category = params.get("category") or None
        if kind is not None and kind not in _KINDS:
            raise PageError(400, page.gettext("Choose offers, requests or both."))
        if category is not None and category not in _CATEGORIES:
            raise PageError(400, page.gettext("There is no such category."))
        before = _cursor(page, params.get("before"))
        code = None if currency is None else inputs.currency(page, self.node.reads, currency).code
        found = self.board.query(
            BoardQuery(
                currency=code,
                kind=None if kind is None else _KINDS[kind],
                category=None if category is None else _CATEGORIES[category],
                before=before,
                limit=BOARD_PAGE + 1,
            )
        )
        shown = found[:BOARD_PAGE]
        older = None
        if len(found) > BOARD_PAGE:
            older = f"{shown[-1].body.created_ms}.{shown[-1].id.hex()}"
        filters = {"currency": code or "", "kind": kind or "", "category": category or ""}
        return page.render(
            "board.html",
            {
                "units": Units(self.node, page),
                "cards": [self._card(page, x) for x in shown],
                "filters": filters,
                "query": "&".join(f"{k}={v}" for k, v in filters.items() if v),
                "older": older,
                "paged": before is not None,
                "currencies": [c.code for c in self.node.reads.currencies()],
                "kinds": [(k.value, page.gettext(KIND_NAMES[k])) for k in ListingKind],
                "categories": [(c.value, page.gettext(CATEGORY_NAMES[c])) for c in Category],
            },
        )

    async def listing_page(self, page: Page) -> Response:
        text = page.request.path_params["listing"]
        if not (len(text) in (20, 64) and all(c in "0123456789abcdefABCDEF" for c in text)):
            raise PageError(400, page.gettext("A listing is named by its 20-character reference."))
        item_id = self.board.resolve(text)
        listing = None if item_id is None else self.board.get(item_id)
        if listing is None:
            if item_id is not None and self.board.is_withdrawn(item_id):
                raise PageError(404, page.gettext("Its author withdrew this listing."))
            raise PageError(404, page.gettext("This node's board has no such listing (it may have expired)."))
        card = self._card(page, listing)
        context: dict[str, Any] = {"units": Units(self.node, page), "card": card, "pay_uri": None, "qr": None}
        currency = self.node.reads.currency(listing.body.currency)
        if listing.body.kind is ListingKind.OFFER and listing.body.amount > 0 and currency is not None:
            request = PaymentRequest(
                listing.author,
                network_tag(self.node.reads.network_id),
                currency.code,
                format_amount(listing.body.amount, currency.decimals),
                listing.body.title[:30].encode("utf-8")[:30].decode("utf-8", "ignore"),
                card.ref,
            )
            uri = build_uri(request)
            context["pay_uri"] = uri
            context["qr"] = qr_svg(uri, page.gettext("QR code to pay for this offer"))
        return page.render("listing.html", context)


def _payment_row(payment: LinkedPayment) -> PaymentRow:
    return PaymentRow(
        payment.ledger,
        encode_account(payment.payer),
        encode_account(payment.payee),
        payment.amount,
        payment.tx_hash.hex(),
    )


def _cursor(page: Page, text: str | None) -> tuple[int, bytes] | None:
    if text is None:
        return None
    created, _dot, hex_id = text.partition(".")
    if not (created.isascii() and created.isdigit() and len(created) <= 20 and len(hex_id) == 64):
        raise PageError(400, page.gettext("This page link is not valid."))
    try:
        return int(created), bytes.fromhex(hex_id)
    except ValueError:
        raise PageError(400, page.gettext("This page link is not valid.")) from None
