"""End to end: the wallet CLI against a real single-validator node started by the test."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import Cli

from wallet.cli import common

pytestmark = pytest.mark.slow
TALLY = [sys.executable, "-c", "from node.cli.app import main; main()"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def node_url(tmp_path: Path) -> Iterator[str]:
    port, p2p_port = _free_port(), _free_port()
    folder = tmp_path / "node"
    # both ports free ones: the default p2p port (4100) may be another test's or node's
    subprocess.run(
        [
            *TALLY,
            "node",
            "init",
            "--dir",
            str(folder),
            "--validator",
            "--json",
            "--api-port",
            str(port),
            "--p2p-port",
            str(p2p_port),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    log = (tmp_path / "node.log").open("w")
    process = subprocess.Popen(
        [*TALLY, "node", "run", "--config", str(folder / "node.toml")], stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("the node did not start: " + (tmp_path / "node.log").read_text()[-2000:])
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


def test_time_bank_against_a_real_node(
    cli: Cli, node_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(common, "HTTP_FACTORY", None)
    monkeypatch.setenv("TALLY_NODE", node_url)
    pw = ["--password-file", str(cli.password_file)]
    for name in ("alice", "bob", "carol"):
        cli.create(name)
    assert (
        cli.json("currency", "create", "HOURS", "--kind", "time", "--credit-limit", "10", "--wait", *pw)[
            "status"
        ]
        == "applied"
    )
    cli.ok("currency", "admit", "HOURS", "alice", "--wait", *pw)
    cli.ok("currency", "admit", "HOURS", "bob", "--wait", *pw)
    paid = cli.json("send", "bob", "1.50", "HOURS", "--memo", "gardening", "--wait", *pw)
    assert paid["status"] == "applied"
    assert isinstance(paid["ledger"], int)
    over = cli("send", "bob", "12", "HOURS", *pw)
    assert over.exit_code == 1
    assert "over credit limit: available 8.50 h, asked 12.00 h" in over.output
    not_member = cli("send", "alice", "1", "HOURS", "--wallet", "carol", *pw)
    assert not_member.exit_code == 1
    assert "not a member" in not_member.output

    # offline flow: bob builds, signs in a separate step, submits
    tx = tmp_path / "tx.json"
    built = cli("send", "alice", "0.25", "HOURS", "--wallet", "bob", "--memo", "tea", "--build-only")
    assert built.exit_code == 0, built.output
    tx.write_text(built.stdout)
    cli.ok("tx", "sign", str(tx), "--wallet", "bob", "--yes", *pw)
    assert cli.json("tx", "submit", str(tx), "--wait")["status"] == "applied"

    history = cli.json("history")
    assert history["totals"]["HOURS"]["given"] == 150
    assert history["totals"]["HOURS"]["received"] == 25
    status = cli.json("tx", "status", paid["hash"])
    assert status["status"] == "applied"
    bob = cli.json("balance", "--wallet", "bob")["balances"][0]
    assert (bob["balance"], bob["available"]) == (125, 1125)
    assert json.loads(cli("balance", "--json").stdout)["balances"][0]["balance"] == -125


def test_a_batch_of_payments_against_a_real_node(
    cli: Cli, node_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`tally send-batch`: 30 payments signed in sequence and sent in one request apply; a second
    batch stops at the payment the real mempool refuses, and writes it to the remaining file."""
    monkeypatch.setattr(common, "HTTP_FACTORY", None)
    monkeypatch.setenv("TALLY_NODE", node_url)
    pw = ["--password-file", str(cli.password_file)]
    for name in ("alice", "bob", "carol"):
        cli.create(name)
    cli.ok("currency", "create", "HOURS", "--kind", "time", "--credit-limit", "10", "--wait", *pw)
    for name in ("alice", "bob", "carol"):
        cli.ok("currency", "admit", "HOURS", name, "--wait", *pw)
    credits = tmp_path / "credits.csv"
    credits.write_text("to,amount,currency,memo\n" + "bob,0.10,HOURS,\ncarol,0.20,HOURS,March\n" * 15)
    data = cli.json("send-batch", str(credits), "--yes", "--wait", *pw)
    assert [r["status"] for r in data["rows"]] == ["applied"] * 30
    assert data["totals"]["amounts"]["HOURS"]["applied_text"] == "4.50 h"
    first = data["rows"][0]["sequence"]
    assert [r["sequence"] for r in data["rows"]] == list(range(first, first + 30))

    over = tmp_path / "over.csv"
    over.write_text("to,amount,currency\nbob,1,HOURS\ncarol,9,HOURS\n")
    result = cli("send-batch", str(over), "--yes", "--wait", "--json", *pw)
    assert result.exit_code == 1, result.output
    rows = json.loads(result.stdout)["rows"]
    assert [(r["status"], r["code"]) for r in rows] == [("applied", "ok"), ("refused", "over_credit_limit")]
    assert rows[1]["reason"] == "over credit limit: available 4.50 h, asked 9.00 h"
    assert (tmp_path / "over.remaining.csv").read_text() == "to,amount,currency,memo\ncarol,9,HOURS,\n"
    bob = cli.json("balance", "--wallet", "bob")["balances"][0]
    assert bob["balance"] == 250
