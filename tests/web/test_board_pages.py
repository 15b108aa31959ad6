"""The board's pages on a real node's store: listings with their filters and paging, one listing
with the payments that settled it and a QR code to pay for an offer, Arabic, text that stays text,
and bad input answered with an HTML error page."""

from __future__ import annotations

import dataclasses
import html as html_lib
import re
from typing import Any

import httpx
import pytest
from web_node import Community, community_fixture

from node.api.app import create_app
from node.clock import wall_ms
from protocol.addresses import encode_account
from protocol.keys import Keypair
from protocol.listings import (
    Category,
    Listing,
    ListingBody,
    ListingKind,
    build_listing,
    build_withdrawal,
    link_memo,
    listing_ref,
)
from protocol.operations import Payment
from protocol.payreq import parse_uri

community = community_fixture()
DAY = 86_400_000


def _listing(c: Community, author: Keypair, now: int, **changes: Any) -> Listing:
    body = ListingBody(
        ListingKind.OFFER, author.public_key, "HOUR", Category.GARDEN, "pruning", "Garden help",
        "Fruit trees.\nSaturdays.", 200, now, now + 14 * DAY,
    )  # fmt: skip
    return build_listing(c.node.api.network_id, dataclasses.replace(body, **changes), author)


def _post(c: Community, *listings: Listing) -> None:
    for item in listings:
        assert c.node.board.submit(item.encode()).verdict.accepted


async def _page(c: Community, path: str, status: int = 200) -> str:
    api = c.node.api
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(api, explorer=api)), base_url="http://node"
    ) as client:
        answer = await client.get(path)
    assert answer.status_code == status, (path, answer.status_code, answer.text[:500])
    assert answer.headers["content-type"].startswith("text/html")
    return answer.text


def _text(page: str) -> str:
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


async def test_board_page_lists_and_filters(community: Community) -> None:
    c, now = community, wall_ms()
    offer = _listing(c, c.bob, now - 2)
    request = _listing(
        c, c.carol, now - 1, kind=ListingKind.REQUEST, category=Category.TRANSPORT, title="A lift", amount=0
    )
    lets = _listing(c, c.alice, now, currency="LETS", title="Bread", category=Category.FOOD)
    _post(c, offer, request, lets)
    text = _text(await _page(c, "/web/board"))
    assert text.index("Bread") < text.index("A lift") < text.index("Garden help")  # newest first
    assert "2.00 h" in text
    assert "to be agreed" in text
    assert encode_account(c.bob.public_key) in text  # addresses in full
    assert "Fruit trees." in text
    assert _text(await _page(c, "/web/board?currency=LETS")).count("Posted by") == 1
    only_requests = _text(await _page(c, "/web/board?kind=request"))
    assert "A lift" in only_requests
    assert "Garden help" not in only_requests
    garden = _text(await _page(c, "/web/board?category=garden&currency=HOUR"))
    assert "Garden help" in garden
    assert "A lift" not in garden
    arabic = await _page(c, "/web/board?lang=ar")
    assert 'dir="rtl"' in arabic
    assert "العروض والطلبات" in arabic
    assert "بالاتفاق" in arabic
    assert "/web/board?currency=HOUR" in await _page(c, "/web/currencies/HOUR")


async def test_board_page_pages(community: Community, monkeypatch: pytest.MonkeyPatch) -> None:
    c, now = community, wall_ms()
    monkeypatch.setattr("node.web.board_pages.BOARD_PAGE", 2)
    posted = [_listing(c, c.bob, now - 10 + n, title=f"Listing {n}") for n in range(3)]
    _post(c, *posted)
    first = await _page(c, "/web/board")
    older = re.search(r'href="(/web/board\?before=[^"]+)"', first)
    assert older is not None
    assert "Listing 2" in first
    assert "Listing 0" not in first
    second = await _page(c, html_lib.unescape(older.group(1)))
    assert "Listing 0" in second
    assert "Listing 2" not in second


async def test_listing_page_settled_payments_and_pay_qr(community: Community) -> None:
    c, now = community, wall_ms()
    offer = _listing(c, c.bob, now)
    _post(c, offer)
    ref = listing_ref(offer.id)
    page = await _page(c, f"/web/board/{ref}")
    assert "No payment has settled this listing yet." in page
    uri = html_lib.unescape(re.search(r"(tally:tly1[^<\s]+)", page).group(1))  # type: ignore[union-attr]
    request = parse_uri(uri)
    assert (request.recipient, request.currency, request.amount, request.listing) == (
        c.bob.public_key,
        "HOUR",
        "2.00",
        ref,
    )
    assert '<svg role="img"' in page
    paid = await c.run(c.alice, Payment(c.bob.public_key, "HOUR", 200), memo=link_memo(ref).encode())
    text = _text(await _page(c, f"/web/board/{offer.id.hex()}"))
    assert "settled" in text
    assert paid.hash.hex() in text
    assert "2.00 h" in text
    withdrawal = build_withdrawal(c.node.api.network_id, c.bob, offer.id, now)
    assert c.node.board.submit(withdrawal.encode()).verdict.accepted
    assert "withdrew" in await _page(c, f"/web/board/{ref}", 404)


async def test_listing_text_stays_text(community: Community) -> None:
    c, now = community, wall_ms()
    script = '<script>alert("x")</script><img src=x>'
    listing = _listing(c, c.bob, now, title=script, text=script, topic="<b>")
    _post(c, listing)
    for path in ("/web/board", f"/web/board/{listing_ref(listing.id)}"):
        page = await _page(c, path)
        assert "<script>alert" not in page
        assert "<img src=x>" not in page
        assert "<b>" not in page.replace("<body", "")
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/web/board?kind=gift", 400, "Choose offers, requests or both."),
        ("/web/board?category=cars", 400, "There is no such category."),
        ("/web/board?currency=NOPE", 404, "There is no currency"),
        ("/web/board?currency=no-pe", 400, "capital letters"),
        ("/web/board?before=12", 400, "This page link is not valid."),
        ("/web/board?before=1." + "zz" * 32, 400, "This page link is not valid."),
        ("/web/board/xyz", 400, "20-character reference"),
        ("/web/board/" + "ab" * 10, 404, "no such listing"),
        ("/web/board/" + "ab" * 32, 404, "no such listing"),
        ("/web/board/xyz?lang=ar", 400, "هذا الرابط غير صالح"),
    ],
)
async def test_board_bad_input_gets_an_error_page(
    community: Community, path: str, status: int, words: str
) -> None:
    page = await _page(community, path, status)
    assert words in page
    assert "Traceback" not in page
