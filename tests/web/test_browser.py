"""The pages in a real browser (Debian's headless chromium through Playwright) against a real
testnet this module starts: every page, a live update, Arabic right-to-left, a 360 px phone,
axe-core's accessibility check, and ledger text that stays text.

A failing check saves a screenshot of the page; the failure message names the file.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from web_browser import axe_violations, launch, pay, start_testnet, stop_testnet, tally

pytestmark = pytest.mark.slow
LIVE_WAIT_MS = 30_000
ARABIC = re.compile(r"[\u0600-\u06ff]")


class Net:
    def __init__(self, home: Path, summary: dict[str, Any], shots: Path) -> None:
        self.home, self.summary, self.shots = home, summary, shots
        self.api: str = summary["nodes"][0]["api"]
        self.wallets: dict[str, str] = summary["demo"]["wallets"]
        self.demo = summary["demo"]["demo_payment"]
        self.listings: list[dict[str, str]] = summary["demo"]["listings"]

    def pages(self) -> dict[str, str]:
        """Every page kind, named."""
        return {
            "overview": "/web/",
            "ledger": f"/web/ledgers/{self.demo['ledger']}",
            "tx": f"/web/tx/{self.demo['hash']}",
            "account": f"/web/accounts/{self.wallets['alice']}",
            "currency-time": "/web/currencies/HOUR",
            "currency-mutual": "/web/currencies/LETS",
            "currency-issued": "/web/currencies/BRX",
            "board": "/web/board",
            "listing": f"/web/board/{self.listings[0]['ref']}",
            "proposals": "/web/proposals?currency=HOUR",
            "proposal": "/web/proposals/HOUR-2",
            "currency-guaranteed": "/web/currencies/CARE",
            "credits": "/web/currencies/CARE/credits",
            "businesses": "/web/currencies/LOCAL/businesses",
            "exchange": "/web/currencies/HOUR/exchange",
        }


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    home = tmp_path_factory.mktemp("web-testnet")
    shots = tmp_path_factory.mktemp("web-screenshots")
    summary = start_testnet(home)
    try:
        yield Net(home, summary, shots)
    finally:
        stop_testnet(home)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def browse(browser: Browser, net: Net, name: str, **context: Any) -> Iterator[Page]:
    """A fresh browser context and page; on a failure inside, a full-page screenshot."""
    session = browser.new_context(**context)
    page = session.new_page()
    try:
        yield page
    except BaseException as exc:
        path = net.shots / f"{name}.png"
        try:
            page.screenshot(path=str(path), full_page=True)
            exc.add_note(f"screenshot of the page: {path}")
            print(f"screenshot of the failing page: {path}")
        except Exception as shot_error:  # the page may be gone; the original failure matters
            exc.add_note(f"(no screenshot: {shot_error})")
        raise
    finally:
        session.close()


def test_every_page_arrives_complete(browser: Browser, net: Net) -> None:
    expected = {
        "overview": ["Validators", "Latest ledgers", "HOUR"],
        "ledger": [net.demo["hash"]],
        "tx": ["Payment of 1.50 h", "gardening", net.wallets["alice"], net.wallets["bob"]],
        "account": ["-1.50 h", "8.50 h", f"tally:{net.wallets['alice']}"],
        "currency-time": ["time bank, in hours", net.wallets["bob"], "Member directory"],
        "currency-mutual": ["mutual credit (LETS)"],
        "currency-issued": ["issued local currency", "150.00 BRX"],
        "board": [
            "Offers and requests",
            "Garden help",
            "A lift to the clinic",
            "2.00 h",
            net.wallets["carol"],
        ],
        "listing": [
            "Garden help",
            "Pruning and weeding",
            "2.00 h",
            net.wallets["bob"],
            f"tally:{net.wallets['bob']}",
        ],
        "proposals": ["HOUR-2", "20 h of credit for newcomers", "HOUR-1", "would"],
        "proposal": [
            "20 h of credit for newcomers",
            "Set the default credit limit to 20.00 h",
            net.wallets["alice"],
            "of 3 members",
            "tally proposal vote HOUR-2",
        ],
        "currency-guaranteed": ["guarantees these time credits", net.wallets["city"], "Who decides"],
        "credits": ["Outstanding credits", "3.00 h", "100.00 h", net.wallets["care-org"]],
        "businesses": ["Corner Shop", "5 % off with LOCAL", "Bakery", net.wallets["corner-shop"]],
        "exchange": ["1.00 h is worth 10.00 LETS", "in force", "In all"],
    }
    for name, path in net.pages().items():
        with browse(browser, net, f"page-{name}") as page:
            answer = page.goto(net.api + path, wait_until="load")  # the event stream never delays "load"
            assert answer is not None
            assert answer.status == 200, (name, answer.status)
            assert page.evaluate("document.readyState") == "complete"
            text = page.inner_text("main").replace("\u00a0", " ")  # amounts keep their unit on the line
            for words in expected[name]:
                assert words in text, (name, words)


def test_a_payment_shows_up_live_on_the_overview(browser: Browser, net: Net) -> None:
    with browse(browser, net, "live-update") as page:
        page.goto(net.api + "/web/")
        page.evaluate("window.__notReloaded = true")
        page.wait_for_timeout(500)  # let EventSource connect (it resumes from the page's ledger anyway)
        result = pay(net.home, "alice", "bob", "0.25", "HOUR", memo="live")
        assert result["status"] == "applied", result
        ledger = result["ledger"]
        row = page.wait_for_selector(
            f'tbody[data-live="ledger"] tr[data-seq="{ledger}"]', timeout=LIVE_WAIT_MS
        )
        assert row is not None
        assert page.evaluate("window.__notReloaded") is True, "the row came without a reload"
        assert page.inner_text('[data-live-text="ledger-seq"]') != ""


def test_a_payment_shows_up_live_on_the_account_page(browser: Browser, net: Net) -> None:
    with browse(browser, net, "live-account") as page:
        page.goto(f"{net.api}/web/accounts/{net.wallets['carol']}")
        page.wait_for_timeout(500)
        result = pay(net.home, "bob", "carol", "0.10", "HOUR", memo="thanks")
        page.wait_for_selector(f'tr[data-hash="{result["hash"]}"]', timeout=LIVE_WAIT_MS)
        assert "thanks" in page.inner_text(f'tr[data-hash="{result["hash"]}"]')


def test_a_vote_updates_an_open_proposal_without_a_reload(browser: Browser, net: Net) -> None:
    with browse(browser, net, "live-vote") as page:
        page.goto(net.api + "/web/proposals/HOUR-2")
        page.evaluate("window.__notReloaded = true")
        assert "0 no" in page.inner_text("#tally")
        page.wait_for_timeout(500)  # let EventSource connect (it resumes from the page's ledger anyway)
        tally(["proposal", "vote", "HOUR-2", "no", "--wallet", "carol", "--wait"], net.home)
        page.wait_for_function(
            "document.querySelector('#tally').innerText.includes('1 no')", timeout=LIVE_WAIT_MS
        )
        assert page.evaluate("window.__notReloaded") is True, "the count changed without a reload"
        assert page.locator("#tally svg.votes rect.no").count() == 1, "the bar shows the no vote"


def test_arabic_is_right_to_left(browser: Browser, net: Net) -> None:
    with browse(browser, net, "arabic") as page:
        page.goto(net.api + "/web/?lang=ar")
        assert page.get_attribute("html", "dir") == "rtl"
        assert page.get_attribute("html", "lang") == "ar"
        assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
        assert ARABIC.search(page.inner_text("h1"))
        page.goto(net.api + "/web/currencies/HOUR")  # the choice is remembered
        assert page.get_attribute("html", "dir") == "rtl"
        assert "بنك وقت" in page.inner_text("h1")
        page.click('a[hreflang="en"]')
        assert page.get_attribute("html", "dir") == "ltr"
        for path in (
            "/web/proposals/HOUR-2",
            "/web/currencies/CARE/credits",
            "/web/currencies/HOUR/exchange",
        ):
            page.goto(f"{net.api}{path}?lang=ar")
            assert page.get_attribute("html", "dir") == "rtl", path
            assert ARABIC.search(page.inner_text("h1")), path
        page.goto(f"{net.api}/web/proposals/HOUR-2?lang=ar")
        transform = page.evaluate("getComputedStyle(document.querySelector('svg.votes')).transform")
        assert transform.startswith("matrix(-1"), f"the vote bar fills from the right in Arabic: {transform}"


def test_a_360_px_phone_needs_no_sideways_scrolling(browser: Browser, net: Net) -> None:
    for lang in ("en", "ar"):
        with browse(browser, net, f"phone-{lang}", viewport={"width": 360, "height": 740}) as page:
            for name, path in net.pages().items():
                page.goto(f"{net.api}{path}?lang={lang}")
                widths = page.evaluate(
                    "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
                )
                assert widths[0] <= widths[1], (
                    f"{name} ({lang}) is {widths[0]} px wide on a {widths[1]} px screen"
                )


def test_axe_finds_no_serious_accessibility_problem(browser: Browser, net: Net) -> None:
    for lang in ("en", "ar"):
        with browse(browser, net, f"axe-{lang}") as page:
            for name, path in [*net.pages().items(), ("error", "/web/accounts/tly1nope")]:
                page.goto(f"{net.api}{path}?lang={lang}")
                violations = axe_violations(page)
                assert violations == [], f"{name} ({lang}): {violations}"


def test_the_axe_check_sees_a_known_problem(browser: Browser, net: Net) -> None:
    """The accessibility test above would pass vacuously if axe never ran: show it finds one."""
    with browse(browser, net, "axe-control") as page:
        page.set_content('<html><body><main><img src="x.png"><button></button></main></body></html>')
        assert {v["id"] for v in axe_violations(page)} >= {"image-alt", "button-name"}


def test_a_script_in_a_memo_stays_text(browser: Browser, net: Net) -> None:
    memo = "<script>window.__pwned=1</script>"
    result = pay(net.home, "alice", "carol", "0.05", "HOUR", memo=memo)
    with browse(browser, net, "memo-escaped") as page:
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        for path in (
            f"/web/tx/{result['hash']}",
            f"/web/accounts/{net.wallets['carol']}",
            "/web/currencies/HOUR",
        ):
            page.goto(net.api + path)
            assert memo in page.inner_text("main"), path
            assert page.evaluate("window.__pwned") is None, path
        assert dialogs == []


def test_a_script_in_a_listing_stays_text(browser: Browser, net: Net) -> None:
    title = "<script>window.__pwned=1</script>"
    posted = tally(
        [
            "board",
            "post",
            "offer",
            "HOUR",
            title,
            "--text",
            "<img src=x onerror=alert(1)>",
            "--wallet",
            "bob",
        ],
        net.home,
    )
    with browse(browser, net, "listing-escaped") as page:
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        for path in ("/web/board", f"/web/board/{posted['ref']}"):
            page.goto(net.api + path)
            assert title in page.inner_text("main"), path
            assert page.evaluate("window.__pwned") is None, path
        assert dialogs == []
    tally(["board", "withdraw", posted["ref"], "--wallet", "bob"], net.home)


def test_bad_addresses_hashes_and_codes_get_an_error_page(browser: Browser, net: Net) -> None:
    cases = [
        ("/web/accounts/tly1nope", 400, "This link is not valid"),
        ("/web/tx/123", 400, "This link is not valid"),
        ("/web/tx/" + "0" * 64, 404, "Not found"),
        ("/web/currencies/NOPE", 404, "Not found"),
        ("/web/ledgers/4000000000", 404, "Not found"),
        ("/web/board/nothex", 400, "This link is not valid"),
        ("/web/board/" + "0" * 20, 404, "Not found"),
    ]
    with browse(browser, net, "bad-input") as page:
        for path, status, title in cases:
            answer = page.goto(net.api + path)
            assert answer is not None
            assert answer.status == status, path
            assert page.inner_text("h1") == title
            assert "Traceback" not in page.content()
