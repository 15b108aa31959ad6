#!/usr/bin/env python3
"""Screenshots of the main web pages for README.md (docs/screenshots/*.png), taken from a fresh
local testnet with the demo community, a few more payments and a vote, in the same headless chromium the
browser tests use (scripts/web_browser.py).

    scripts/web_screenshots.py                 # writes docs/screenshots/
    scripts/web_screenshots.py --out /tmp/shots
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import ViewportSize, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))

from web_browser import launch, pay, start_testnet, stop_testnet, tally

ROOT = Path(__file__).resolve().parents[1]
DESKTOP: ViewportSize = {"width": 1100, "height": 900}
PHONE: ViewportSize = {"width": 360, "height": 740}
MORE_PAYMENTS = [
    ("bob", "carol", "2", "HOUR", "english lesson"),
    ("carol", "alice", "0.75", "HOUR", "bread"),
    ("alice", "carol", "12.50", "LETS", "bike repair"),
    ("bob", "alice", "5", "BRX", "vegetables"),
]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "docs" / "screenshots", help="Folder for the PNG files."
    )
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tally-shots-") as folder:
        home = Path(folder)
        print("starting a local testnet with the demo community…", file=sys.stderr)
        summary = start_testnet(home)
        try:
            for source, to, amount, currency, memo in MORE_PAYMENTS:
                pay(home, source, to, amount, currency, memo)
            tally(["proposal", "vote", "HOUR-2", "abstain", "--wallet", "carol", "--wait"], home)
            api = summary["nodes"][0]["api"]
            demo = summary["demo"]["demo_payment"]
            alice = summary["demo"]["wallets"]["alice"]
            shots = [
                ("overview.png", "/web/", DESKTOP),
                ("transaction.png", f"/web/tx/{demo['hash']}", DESKTOP),
                ("account.png", f"/web/accounts/{alice}", DESKTOP),
                ("currency.png", "/web/currencies/HOUR", DESKTOP),
                ("board.png", "/web/board?currency=HOUR", DESKTOP),
                ("proposal.png", "/web/proposals/HOUR-2", DESKTOP),
                ("credits.png", "/web/currencies/CARE/credits", DESKTOP),
                ("overview-arabic-phone.png", "/web/?lang=ar", PHONE),
            ]
            with sync_playwright() as playwright:
                browser = launch(playwright)
                for name, path, viewport in shots:
                    session = browser.new_context(viewport=viewport)
                    page = session.new_page()
                    page.goto(api + path)
                    page.screenshot(path=str(out / name), full_page=True)
                    session.close()
                    print(out / name)
                browser.close()
        finally:
            stop_testnet(home)
    return 0


if __name__ == "__main__":
    sys.exit(main())
