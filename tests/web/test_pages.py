"""The web pages on a real node's store (no browser): each page's content, languages, escaping,
bad input answered with an HTML error page, paging, live fragments and the message catalogue."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from babel.messages.pofile import read_po
from page_text import untranslated
from web_node import Community, community_fixture

from node.api.app import create_app
from node.web.i18n import LANGUAGES
from protocol.addresses import encode_account, encode_validator
from protocol.operations import Payment
from protocol.results import ResultCode

community = community_fixture()
WEB = Path(__file__).resolve().parents[2] / "node" / "web"
ARABIC = re.compile(r"[\u0600-\u06ff]")


def _client(community: Community, **headers: str) -> httpx.AsyncClient:
    api = community.node.api
    transport = httpx.ASGITransport(app=create_app(api, explorer=api))
    return httpx.AsyncClient(transport=transport, base_url="http://node", headers=headers)


async def _page(
    community: Community, path: str, status: int = 200, headers: dict[str, str] | None = None
) -> str:
    async with _client(community, **(headers or {})) as client:
        answer = await client.get(path)
    assert answer.status_code == status, (path, answer.status_code, answer.text[:500])
    assert answer.headers["content-type"].startswith("text/html")
    return answer.text


def _text(html: str) -> str:
    """The visible words, tags removed (what a reader sees, not the markup)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_root_redirects_to_the_pages(community: Community) -> None:
    async with _client(community) as client:
        answer = await client.get("/")
    assert (answer.status_code, answer.headers["location"]) == (307, "/web/")


async def test_overview_shows_validators_ledgers_and_currencies(community: Community) -> None:
    html = await _page(community, "/web/")
    text = _text(html)
    own_id = encode_validator(community.node.herder.node_id)
    assert own_id in text, "validator ids appear in full"
    assert "this node" in text
    assert "Healthy" in text
    last = community.node.chain.last.seq
    assert f'data-seq="{last}"' in html
    assert f'data-seq="{last - 1}"' in html
    for code in ("HOUR", "LETS", "BRX"):
        assert f'href="/web/currencies/{code}"' in html
    assert "1.50 h in 2026-03 by 2 members" in text
    assert 'data-events="/events?ledgers=1&amp;last_event_id=' in html, (
        "the live script knows where to resume"
    )


async def test_transaction_page(community: Community) -> None:
    tx = community.gardening
    html = await _page(community, f"/web/tx/{tx.hash.hex()}")
    text = _text(html)
    ledger = community.node.api.tx_status(tx.hash).ledger
    assert "Payment of 1.50 h" in text
    assert encode_account(community.alice.public_key) in text
    assert encode_account(community.bob.public_key) in text
    assert "gardening" in text
    assert "applied" in text
    assert f'href="/web/ledgers/{ledger}"' in html
    assert "2026-03-01" in text  # the close time the test chose


async def test_failed_transaction_page_explains_the_result(community: Community) -> None:
    over = await community.run(community.carol, Payment(community.bob.public_key, "HOUR", 5000))
    text = _text(await _page(community, f"/web/tx/{over.hash.hex()}"))
    assert "over_credit_limit" in text
    assert "the payment would take the payer below their credit limit" in text
    assert "operation 1 failed" in text


async def test_account_page_balances_qr_and_history(community: Community) -> None:
    alice = encode_account(community.alice.public_key)
    html = await _page(community, f"/web/accounts/{alice}")
    text = _text(html)
    assert alice in text
    assert "-1.50 h" in text
    assert "10.00 h" in text
    assert "8.50 h" in text
    assert "50.00 BRX" in text
    assert f"tally:{alice}?v=1&amp;net={community.node.api.network_id[:8].hex()}" in html
    assert re.search(r'<svg role="img" aria-label="QR code to pay this account" class="qr"', html)
    assert "gardening" in text
    assert "Payment of 1.50 h" in text
    assert 'data-live="tx"' in html


async def test_account_history_pages(community: Community) -> None:
    bob = community.bob.public_key
    payments = [community.build(community.alice, Payment(bob, "LETS", 1 + i)) for i in range(25)]
    await community.run_all(payments)
    alice = encode_account(community.alice.public_key)
    first = await _page(community, f"/web/accounts/{alice}")
    older = re.search(r'href="/web/accounts/[^"?]+\?before=([0-9.]+)"', first)
    assert older is not None, "a full page links to older transactions"
    second = await _page(community, f"/web/accounts/{alice}?before={older.group(1)}")
    hashes = [set(re.findall(r'<tr data-hash="([0-9a-f]{64})"', page)) for page in (first, second)]
    assert len(hashes[0]) == 20
    assert not hashes[0] & hashes[1]
    assert community.gardening.hash.hex() in hashes[1]
    assert 'data-live="tx"' not in second, "an older page does not take live rows"


async def test_currency_page_rules_members_and_charts(community: Community) -> None:
    await community.run(community.bob, Payment(community.carol.public_key, "HOUR", 25))
    html = await _page(community, "/web/currencies/HOUR")
    text = _text(html)
    assert "time bank, in hours" in text
    assert "10.00 h" in text  # default credit limit
    assert "1 of 1 stewards must sign" in text
    assert encode_account(community.steward.public_key) in text
    for member in (community.alice, community.bob, community.carol):
        assert encode_account(member.public_key) in text
    assert html.count('class="chart"') == 3  # exchanged, active members, balance distribution
    assert 'aria-labelledby="volume-title"' in html
    assert "1.75 h" in text  # exchanged in March: 1.50 + 0.25
    issued = _text(await _page(community, "/web/currencies/BRX"))
    assert "issued local currency" in issued
    assert "150.00 BRX" in issued


async def test_member_directory_pages(community: Community) -> None:
    from node.web import pages  # the page size, made small for the test

    original = pages.MEMBERS_PAGE
    pages.MEMBERS_PAGE = 2
    try:
        first = await _page(community, "/web/currencies/LETS")
        after = re.search(r'href="/web/currencies/LETS\?after=(tly1[0-9a-z]+)"', first)
        assert after is not None
        second = await _page(community, f"/web/currencies/LETS?after={after.group(1)}")
    finally:
        pages.MEMBERS_PAGE = original
    found = [
        set(re.findall(r'href="/web/accounts/(tly1[0-9a-z]+)"', _section(p, "members-heading")))
        for p in (first, second)
    ]
    assert len(found[0]) == 2
    assert len(found[1]) == 1
    assert not found[0] & found[1]


def _section(html: str, heading: str) -> str:
    start = html.index(f'id="{heading}"')
    return html[start : html.index("</section>", start)]


async def test_ledger_page(community: Community) -> None:
    seq = community.node.api.tx_status(community.gardening.hash).ledger
    html = await _page(community, f"/web/ledgers/{seq}")
    header = community.node.chain.store.header(seq or 0)
    assert header is not None
    assert header.hash.hex() in html
    assert header.previous_hash.hex() in html
    assert community.gardening.hash.hex() in html
    assert f'href="/web/ledgers/{(seq or 0) - 1}"' in html
    genesis = _text(await _page(community, "/web/ledgers/1"))
    assert "the first ledger of the network" in genesis
    assert "holds no transactions" in genesis


async def test_memo_and_other_ledger_text_stay_text(community: Community) -> None:
    memo = b'<script>alert("x")</script><img src=x>'
    tx = await community.run(community.alice, Payment(community.bob.public_key, "HOUR", 1), memo=memo)
    pages = [
        await _page(community, f"/web/tx/{tx.hash.hex()}"),
        await _page(community, f"/web/accounts/{encode_account(community.bob.public_key)}"),
        await _page(community, "/web/currencies/HOUR"),
        await _page(community, f"/web/fragments/tx/{tx.hash.hex()}"),
    ]
    for html in pages:
        assert "<script>alert" not in html
        assert "<img src=x>" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/web/accounts/tly1nope", 400, "never appears in an account address"),
        ("/web/accounts/" + "x" * 300, 400, "should start with tly1"),
        ("/web/tx/zz", 400, "64 hexadecimal characters"),
        ("/web/tx/" + "ab" * 32, 404, "No transaction with this hash"),
        ("/web/currencies/NOPE", 404, "no currency NOPE"),
        ("/web/currencies/no-pe", 400, "capital letters A-Z and digits"),
        ("/web/currencies/HOUR?after=tly1nope", 400, "never appears"),
        ("/web/ledgers/999999", 404, "Ledger 999999 is not known"),
        ("/web/ledgers/abc", 400, "A ledger number is a whole number"),
        ("/web/ledgers/0", 400, "from 1"),
        ("/web/accounts/tly1nope?lang=ar", 400, "هذا الرابط غير صالح"),
        ("/web/nothing/here", 404, "There is no page at this address."),
        ("/web/accounts/tly1abc%0Adef", 404, "There is no page at this address."),
        ("/web/fragments/ledger/999999", 404, "not known"),
    ],
)
async def test_bad_input_gets_an_error_page_not_a_trace(
    community: Community, path: str, status: int, words: str
) -> None:
    html = await _page(community, path, status)
    assert words in _text(html)
    assert "Traceback" not in html
    assert 'File "' not in html
    assert '<a href="/web/">' in html


async def test_long_bad_input_is_not_echoed_in_full(community: Community) -> None:
    typed = "q" * 50 + "z" * 250
    html = await _page(community, f"/web/accounts/{typed}", 400)
    assert "q" * 39 + "…" in html
    assert "z" not in _text(html).replace("/web/accounts/" + typed, "")
    board = await _page(community, "/web/board?currency=" + "Z" * 300, 400)
    assert "Z" * 13 not in board.replace("Z" * 300, "")  # not quoted in the message


async def test_arabic_error_messages_leave_only_identifiers_in_latin(community: Community) -> None:
    for path in ("/web/accounts/xyz", "/web/accounts/tly1nope", "/web/tx/zz", "/web/currencies/NOPE"):
        html = await _page(community, path + "?lang=ar", 404 if "NOPE" in path else 400)
        message = re.search(r'<p class="card" role="alert">(.*?)</p>', html, re.S)
        assert message is not None
        words = re.sub(r'<code translate="no" dir="ltr">[^<]*</code>', " ", message.group(1))
        assert ARABIC.search(words), path
        assert not re.search(r"[A-Za-z]", words), (path, words)


async def test_an_issued_currency_counts_holders_not_members(community: Community) -> None:
    overview = _text(await _page(community, "/web/"))
    assert "Members or holders" in overview
    assert "3 holders" in overview  # BRX: alice, bob and carol hold some
    assert "3 members" in overview  # HOUR and LETS
    issued = _text(await _page(community, "/web/currencies/BRX"))
    assert "Holders 3 holders" in issued
    arabic = _text(await _page(community, "/web/?lang=ar"))
    assert "3 حاملين" in arabic


async def test_a_bug_gives_a_500_page_without_details(
    community: Community, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(community.node.api.reads, "currencies", broken)
    html = await _page(community, "/web/", 500)
    assert "internal error" in html
    assert "secret internals" not in html


async def test_language_from_query_cookie_and_accept_language(community: Community) -> None:
    async with _client(community) as client:
        chosen = await client.get("/web/?lang=ar")
        assert chosen.cookies.get("lang") == "ar", "?lang= is remembered"
        remembered = await client.get("/web/currencies/HOUR")
        back = await client.get("/web/?lang=en")
    assert '<html lang="ar" dir="rtl">' in chosen.text
    assert ARABIC.search(_text(chosen.text))
    assert '<html lang="ar" dir="rtl">' in remembered.text
    assert "بنك وقت" in remembered.text
    assert "س" in _text(remembered.text)
    assert '<html lang="en" dir="ltr">' in back.text
    for header, expected in [
        ("ar-MA,ar;q=0.9", "ar"),
        ("fr;q=1, ar;q=0.5", "ar"),
        ("de, en;q=0.3", "en"),
        ("x;q=abc", "en"),
    ]:
        html = await _page(community, "/web/", headers={"accept-language": header})
        assert f'<html lang="{expected}"' in html, header


async def test_error_pages_are_translated(community: Community) -> None:
    html = await _page(community, "/web/tx/" + "ab" * 32 + "?lang=ar", 404)
    assert "لا تعرف هذه العقدة أي معاملة بهذه البصمة" in html


async def test_live_fragments_render_the_same_rows(community: Community) -> None:
    seq = community.node.chain.last.seq
    row = await _page(community, f"/web/fragments/ledger/{seq}")
    assert row.strip().startswith(f'<tr data-seq="{seq}">')
    tx_row = await _page(community, f"/web/fragments/tx/{community.gardening.hash.hex()}")
    assert tx_row.strip().startswith(f'<tr data-hash="{community.gardening.hash.hex()}">')
    overview = await _page(community, "/web/")
    assert row.strip() in overview


async def test_assets_ship_with_the_package_and_nothing_is_fetched_elsewhere(community: Community) -> None:
    async with _client(community) as client:
        css = await client.get("/web/static/style.css")
        script = await client.get("/web/static/live.js")
    assert css.status_code == script.status_code == 200
    assert "EventSource" in script.text
    for path in [*WEB.glob("templates/**/*.html"), *WEB.glob("static/*")]:
        assert not re.search(r"(src|href)=\"?(https?:)?//", path.read_text()), (
            f"{path} loads from another site"
        )


def test_every_message_is_translated_and_the_template_is_current() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "web_messages", WEB.parents[1] / "scripts" / "web_messages.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    template = module.extract()
    for code in LANGUAGES:
        if code != "en":
            lacking = module.missing(code, template)  # result-code explanations too: pages show them
            assert lacking == [], f"run scripts/web_messages.py update and translate ({code})"
    with (WEB / "locale" / "messages.pot").open("rb") as handle:
        stored = {m.id for m in read_po(handle) if m.id}
    assert stored == {m.id for m in template if m.id}, "run scripts/web_messages.py extract"


def test_arabic_translations_hold_no_latin_words() -> None:
    """Identifiers go into messages as placeholders (marked translate="no" on the page), so a
    translation itself never needs a Latin letter."""
    with (WEB / "locale" / "ar" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="ar")
    latin = []
    for message in catalog:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            words = re.sub(r"%\(\w+\)s|%%", "", str(text or ""))
            if message.id and re.search(r"[A-Za-z]", words):
                latin.append((message.id, text))
    assert latin == []


async def test_arabic_pages_show_no_english(community: Community) -> None:
    alice = encode_account(community.alice.public_key)
    paths = [
        "/web/",
        f"/web/accounts/{alice}",
        f"/web/tx/{community.gardening.hash.hex()}",
        "/web/currencies/HOUR",
        "/web/currencies/LETS",
        "/web/currencies/BRX",
        "/web/ledgers/3",
        "/web/board",
        "/web/accounts/x" + "y" * 100,
        "/web/currencies/NOPE",
    ]
    for path in paths:
        async with _client(community) as client:
            answer = await client.get(path, params={"lang": "ar"})
        assert untranslated(answer.text) == [], path


def test_result_explanations_fall_back_to_english_when_untranslated() -> None:
    from node.web.i18n import translations

    arabic = translations("ar")
    assert (
        arabic.gettext(ResultCode.OVER_CREDIT_LIMIT.explanation) != ResultCode.OVER_CREDIT_LIMIT.explanation
    )
    assert (
        arabic.gettext("a result code added after the catalogue") == "a result code added after the catalogue"
    )
