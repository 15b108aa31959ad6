"""The Playwright setup shared by the browser tests (tests/web) and scripts/web_screenshots.py:
Debian's chromium driven headless (no browser download exists on these machines), a local
testnet started with ``tally testnet up``, the ``tally`` command, and the axe-core check.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = Path(os.environ.get("TALLY_CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking switches chromium keeps calling Google's hosts, which this
# machine's closed network refuses; --no-sandbox because CI runs as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TALLY = [sys.executable, "-c", "from node.cli.app import main; main()"]
DEMO_PASSWORD = "tally-testnet-only"
COMMAND_TIMEOUT_S = 120


def launch(playwright: Playwright) -> Browser:
    """Headless chromium with a fresh profile (Playwright makes a new user-data-dir each launch)."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
        )
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)


def tally_env(home: Path) -> dict[str, str]:
    return {**os.environ, "TALLY_HOME": str(home), "TALLY_PASSWORD": DEMO_PASSWORD}


def tally(args: list[str], home: Path) -> Any:
    """Run ``tally ARGS --json`` and return its JSON answer (raises with its output on failure)."""
    done = subprocess.run(
        [*TALLY, *args, "--json"],
        env=tally_env(home),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"tally {' '.join(args)} failed ({done.returncode}): {done.stdout}{done.stderr}")
    return json.loads(done.stdout)


def start_testnet(home: Path, validators: int = 3) -> dict[str, Any]:
    """A fresh local testnet with the demo community (``tally testnet up --json``)."""
    summary: dict[str, Any] = tally(
        ["testnet", "up", "--validators", str(validators), "--dir", str(home / "net")], home
    )
    return summary


def stop_testnet(home: Path) -> None:
    subprocess.run(
        [*TALLY, "testnet", "down", "--dir", str(home / "net"), "--json"],
        env=tally_env(home),
        capture_output=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )


def pay(home: Path, source: str, to: str, amount: str, currency: str, memo: str = "") -> dict[str, Any]:
    """``tally send`` from a demo wallet, waiting for its ledger."""
    args = ["send", to, amount, currency, "--wallet", source, "--wait"]
    result: dict[str, Any] = tally([*args, "--memo", memo] if memo else args, home)
    return result


def axe_violations(page: Page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict[str, Any]]:
    """axe-core's violations of the given impacts on the page as it is now. axe-core comes from
    the axe-playwright-python package (PyPI), injected from its file: nothing is downloaded."""
    script = resources.files("axe_playwright_python") / "axe.min.js"
    page.add_script_tag(content=script.read_text())
    results: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"][:5]],
        }
        for v in results["violations"]
        if v["impact"] in impacts
    ]
