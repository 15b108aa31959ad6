"""``tally send-batch``: many payments from a CSV file, against the real API over a fake node
whose transactions wait for a ledger (``ledger_fake_node``), with a fake clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Cli
from ledger_fake_node import FakeClock, LedgerFakeNode
from wallet_fake_node import serve

from protocol.keys import Keypair
from protocol.operations import Payment
from protocol.transactions import Transaction, TransactionBody, build_transaction
from wallet.batch import BatchSender, Pacing, RowStatus
from wallet.cli import batch_cmd, common
from wallet.client import NodeClient
from wallet.errors import NodeUnreachable

HEADER = "to,amount,currency,memo\n"


@pytest.fixture
def bank(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """alice runs a time bank HOURS (credit limit 10 h): alice, bob, carol and dave are members.
    Ledgers close when a request waits, or when the batch sender sleeps (its fake clock)."""
    clock = FakeClock()
    node = LedgerFakeNode(clock)
    with serve(node) as factory:
        monkeypatch.setattr(common, "HTTP_FACTORY", factory)
        monkeypatch.setattr(batch_cmd, "PACING", Pacing(sleep=clock.sleep, clock=clock.clock))
        cli.node = node
        for name in ("alice", "bob", "carol", "dave"):
            cli.create(name)
        cli.ok("currency", "create", "HOURS", "--kind", "time", "--credit-limit", "10", "--wait", *pw(cli))
        for name in ("alice", "bob", "carol", "dave"):
            cli.ok("currency", "admit", "HOURS", name, "--wait", *pw(cli))
        yield cli


def pw(cli: Cli) -> list[str]:
    return ["--password-file", str(cli.password_file)]


def node_of(cli: Cli) -> LedgerFakeNode:
    assert isinstance(cli.node, LedgerFakeNode)
    return cli.node


def write(tmp_path: Path, text: str, name: str = "credits.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def batch(cli: Cli, *args: str, input: str | None = None) -> tuple[int, dict[str, Any]]:
    result = cli("send-batch", *args, "--json", *pw(cli), input=input)
    return result.exit_code, json.loads(result.stdout)


def balance(cli: Cli, wallet: str) -> int:
    (hours,) = cli.json("balance", "--wallet", wallet)["balances"]
    return int(hours["balance"])


def test_help_shows_examples(bank: Cli) -> None:
    shown = bank.ok("send-batch", "--help").output
    assert "Examples:" in shown
    assert "tally send-batch credits.csv --wait" in shown
    assert "tally send-batch - --yes --json" in shown
    assert "send-batch" in bank.ok("send", "--help").output


def test_a_batch_is_resolved_signed_in_sequence_and_sent_in_one_request(bank: Cli, tmp_path: Path) -> None:
    node = node_of(bank)
    dave = bank.json("wallet", "address", "dave")["address"]
    file = write(tmp_path, f"{HEADER}bob,1.50,HOURS,gardening\ncarol,2,hours,\n{dave},0.25,HOURS,tea\n")
    before = len(node.requests)
    code, data = batch(bank, str(file), "--yes", "--wait", "--memo", "March credits")
    assert code == 0, data
    assert node.requests[before:] == [3], "one request for the whole batch"
    rows = data["rows"]
    assert [r["status"] for r in rows] == ["applied"] * 3
    assert [r["line"] for r in rows] == [2, 3, 4]
    assert [r["amount"] for r in rows] == [150, 200, 25]
    assert [r["memo"] for r in rows] == ["gardening", "March credits", "tea"]
    first = rows[0]["sequence"]
    assert [r["sequence"] for r in rows] == [first, first + 1, first + 2]
    assert rows[2]["to"] == dave
    assert all(isinstance(r["ledger"], int) and len(r["hash"]) == 64 for r in rows)
    assert data["totals"]["amounts"]["HOURS"] == {
        "total": 375,
        "total_text": "3.75 h",
        "applied": 375,
        "applied_text": "3.75 h",
    }
    assert data["remaining_file"] is None
    assert not (tmp_path / "credits.remaining.csv").exists()
    assert balance(bank, "alice") == -375
    assert balance(bank, "carol") == 200


def test_json_shape(bank: Cli, tmp_path: Path) -> None:
    file = write(tmp_path, f"{HEADER}bob,1,HOURS,\n")
    code, data = batch(bank, str(file), "--yes")
    assert code == 0
    assert set(data) == {"source", "dry_run", "rows", "totals", "remaining_file", "error"}
    (row,) = data["rows"]
    assert set(row) == {
        "row",
        "line",
        "to",
        "amount",
        "amount_text",
        "currency",
        "memo",
        "sequence",
        "hash",
        "status",
        "code",
        "reason",
        "ledger",
    }
    assert (row["row"], row["status"], row["amount_text"], row["currency"]) == (
        1,
        "pending",
        "1.00 h",
        "HOURS",
    )
    assert set(data["totals"]) == {"rows", "amounts", *(status.value for status in RowStatus)}
    assert (data["totals"]["rows"], data["totals"]["pending"], data["totals"]["applied"]) == (1, 1, 0)
    assert (data["dry_run"], data["error"]) == (False, None)


def test_long_batches_go_in_chunks_each_waiting_for_its_ledger(
    bank: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_cmd, "PER_REQUEST", 4)
    node = node_of(bank)
    file = write(tmp_path, HEADER + "".join(f"{who},0.50,HOURS,\n" for who in ["bob", "carol"] * 5))
    before, waits = len(node.requests), node.waits
    result = bank("send-batch", str(file), "--yes", *pw(bank))
    assert result.exit_code == 0, result.output
    assert node.requests[before:] == [4, 4, 2]
    assert node.waits - waits == 2, "the first two requests wait for a ledger; the last (no --wait) does not"
    assert "sending payments 1 to 4 of 10, waiting for their ledger" in result.stderr
    assert "sending payments 5 to 8 of 10, waiting for their ledger" in result.stderr
    assert "sending payments 9 to 10 of 10\n" in result.stderr
    assert "10 payments from alice" in result.stderr
    assert "10 payments: 8 applied, 2 pending; applied 4.00 h of HOURS" in result.stdout
    assert balance(bank, "bob") == 250


def test_a_node_that_holds_fewer_per_account_is_waited_for(bank: Cli, tmp_path: Path) -> None:
    """The node refuses beyond its per-account allowance (too_many_pending): the wallet sends the
    rest again once a ledger made room; the one the node queued meanwhile is not sent twice."""
    node = node_of(bank)
    node.max_pending = 3
    file = write(tmp_path, HEADER + "bob,0.10,HOURS,\n" * 7)
    code, data = batch(bank, str(file), "--yes", "--wait")
    assert code == 0, [(r["status"], r["code"], r["reason"]) for r in data["rows"]]
    assert [r["status"] for r in data["rows"]] == ["applied"] * 7
    assert balance(bank, "bob") == 70, "each payment exactly once"


def test_an_overloaded_node_gets_the_rest_again_after_retry_after(bank: Cli, tmp_path: Path) -> None:
    node = node_of(bank)
    node.busy_after = node.accepted + 2
    file = write(tmp_path, HEADER + "carol,1,HOURS,\n" * 5)
    before = len(node.requests)
    result = bank("send-batch", str(file), "--yes", "--wait", *pw(bank))
    assert result.exit_code == 0, result.output
    assert node.requests[before:] == [5, 3]
    assert "the node is busy (overloaded): sending again from payment 3 in 2 s" in result.stderr
    assert node.clock.slept == [2.0]
    assert balance(bank, "carol") == 500


def test_bad_lines_are_all_named_and_nothing_is_sent(bank: Cli, tmp_path: Path) -> None:
    node = node_of(bank)
    file = write(
        tmp_path,
        f"{HEADER}bob,1,HOURS,\nbob,-1,HOURS,\nzed,1,HOURS,\ncarol,1,NOPE,\nalice,1,HOURS,\nbob,1,HOURS,{'x' * 200}\n",
    )
    sent = len(node.submitted)
    result = bank("send-batch", str(file), "--yes", *pw(bank))
    assert result.exit_code == 2
    err = result.stderr
    assert "5 bad line(s) in" in err
    assert "nothing was sent" in err
    assert "line 3, column amount ('-1'): bad amount" in err
    assert "line 4, column to ('zed'): 'zed' is neither an address" in err
    assert "line 5, column currency ('NOPE'): no currency NOPE" in err
    assert "line 6, column to ('alice'): you cannot pay your own account" in err
    assert "line 7, column memo" in err
    assert "at most" in err
    assert len(node.submitted) == sent


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("to,amount\nbob,1\n", "line 1: no column 'currency'"),
        ("to,amount,currency,note\nbob,1,HOURS,x\n", "unknown column 'note'"),
        ("to,amount,currency\n", "holds no payment"),
        ("to,amount,currency\nbob,1\n", "line 2: 2 fields where the header has 3"),
        ("", "is empty"),
    ],
)
def test_a_malformed_file_is_refused(bank: Cli, tmp_path: Path, text: str, said: str) -> None:
    result = bank("send-batch", str(write(tmp_path, text)), "--yes", *pw(bank))
    assert result.exit_code == 2
    assert said in result.stderr


def test_semicolon_files_from_spreadsheets_are_read(bank: Cli, tmp_path: Path) -> None:
    file = tmp_path / "credits.csv"
    file.write_bytes("\ufeffTo;Amount;Currency\nbob;1,5;HOURS\n".replace("1,5", "1.5").encode())
    code, data = batch(bank, str(file), "--yes")
    assert code == 0, data
    assert data["rows"][0]["amount"] == 150


def test_a_refusal_stops_the_batch_and_the_rest_can_be_re_run_without_paying_twice(
    bank: Cli, tmp_path: Path
) -> None:
    """alice may go 10 h below zero: the fourth payment (3 h after 9 h) is refused. The node holds
    the two after it (queued behind the refused sequence number) until they expire; the wallet
    waits for that, so the re-run of the remaining file pays each of them once."""
    node = node_of(bank)
    file = write(
        tmp_path,
        f"{HEADER}bob,3,HOURS,\ncarol,3,HOURS,\ndave,3,HOURS,\nbob,3,HOURS,big\ncarol,0.5,HOURS,\ndave,0.5,HOURS,\n",
    )
    result = bank("send-batch", str(file), "--yes", "--wait", *pw(bank))
    assert result.exit_code == 1
    out = result.stdout
    assert "1. line 2: 3.00 h of HOURS to bob: applied in ledger" in out
    assert (
        "4. line 5: 3.00 h of HOURS to bob: refused: over credit limit: available 1.00 h, asked 3.00 h" in out
    )
    assert "6. line 7: 0.50 h of HOURS to dave: skipped: payment 4 was refused before it" in out
    assert "6 payments: 3 applied, 1 refused, 2 skipped; applied 9.00 h of HOURS" in out
    remaining = tmp_path / "credits.remaining.csv"
    assert f"The 3 payments not applied are in {remaining}" in out
    assert "the node holds 2 later one(s) until they expire" in result.stderr
    assert node.clock.now > 60, "waited for the node to drop them"
    assert not node.queued
    assert remaining.read_text() == f"{HEADER}bob,3,HOURS,big\ncarol,0.5,HOURS,\ndave,0.5,HOURS,\n"

    remaining.write_text(HEADER + "".join(remaining.read_text().splitlines(keepends=True)[2:]))
    code, data = batch(bank, str(remaining), "--yes", "--wait")
    assert code == 0, data
    assert (balance(bank, "carol"), balance(bank, "dave"), balance(bank, "alice")) == (350, 350, -1000)


def test_json_of_a_refusal_gives_each_row_its_fate(bank: Cli, tmp_path: Path) -> None:
    file = write(tmp_path, f"{HEADER}bob,9,HOURS,\ncarol,2,HOURS,\ndave,1,HOURS,\n")
    code, data = batch(bank, str(file), "--yes", "--remaining", str(tmp_path / "again.csv"))
    assert code == 1
    assert [(r["status"], r["code"]) for r in data["rows"]] == [
        ("pending", None),
        ("refused", "over_credit_limit"),
        ("skipped", "expired"),
    ]
    assert data["rows"][1]["reason"] == "over credit limit: available 1.00 h, asked 2.00 h"
    assert data["remaining_file"] == str(tmp_path / "again.csv")
    assert (data["totals"]["refused"], data["totals"]["skipped"]) == (1, 1)


def test_a_remaining_file_that_cannot_be_written_does_not_hide_the_report(bank: Cli, tmp_path: Path) -> None:
    file = write(tmp_path, f"{HEADER}bob,11,HOURS,\n")
    code, data = batch(bank, str(file), "--yes", "--remaining", str(tmp_path / "missing" / "again.csv"))
    assert code == 1
    assert data["rows"][0]["status"] == "refused"
    assert data["remaining_file"] is None


def test_payments_the_node_keeps_holding_are_reported_held(bank: Cli, tmp_path: Path) -> None:
    node = node_of(bank)
    node.queued_max_age_s = 3600
    file = write(tmp_path, f"{HEADER}bob,11,HOURS,\ncarol,1,HOURS,\n")
    result = bank("send-batch", str(file), "--yes", *pw(bank))
    assert result.exit_code == 1
    assert (
        "2. line 3: 1.00 h of HOURS to carol: held: the node still holds it behind payment 1" in result.stdout
    )
    assert "Do not re-run the held payments before the node has dropped them" in result.stdout
    assert 75 <= node.clock.now <= 80, "waited for them, but not for ever"


def test_stdin_needs_yes_and_then_pays(bank: Cli) -> None:
    node = node_of(bank)
    sent = len(node.submitted)
    refused = bank("send-batch", "-", *pw(bank), input=f"{HEADER}bob,1,HOURS,\n")
    assert refused.exit_code == 2
    assert "not sending without confirmation" in refused.stderr
    assert len(node.submitted) == sent
    code, data = batch(bank, "-", "--yes", input=f"{HEADER}bob,1,HOURS,\ncarol,1,HOURS,\n")
    assert code == 0, data
    assert [r["status"] for r in data["rows"]] == ["pending", "pending"]


def test_dry_run_checks_and_totals_without_signing(bank: Cli, tmp_path: Path) -> None:
    node = node_of(bank)
    sent = len(node.submitted)
    file = write(tmp_path, f"{HEADER}bob,1,HOURS,\ncarol,2.5,HOURS,\n")
    result = bank("send-batch", str(file), "--dry-run")  # no password asked
    assert result.exit_code == 0, result.output
    assert "2 payments from alice" in result.stderr
    assert "3.50 h of HOURS" in result.stderr
    assert "Dry run: nothing was signed or sent." in result.stdout
    code, data = batch(bank, str(file), "--dry-run")
    assert code == 0
    assert [(r["status"], r["hash"]) for r in data["rows"]] == [("checked", None), ("checked", None)]
    assert len(node.submitted) == sent


def test_a_node_lost_mid_batch_is_exit_3_and_says_what_was_sent() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) > 1:
            raise httpx.ConnectError("connection refused")
        count = len(json.loads(request.content)["txs"])
        result = {"hash": "ab" * 32, "status": "applied", "code": "ok", "ledger": 5, "figures": {}}
        return httpx.Response(200, json={"results": [result] * count})

    client = NodeClient("http://node.test", http=httpx.Client(transport=httpx.MockTransport(handler)))
    clock = FakeClock()
    sender = BatchSender(client, per_request=2, pacing=Pacing(clock.sleep, clock.clock))
    outcome = sender.send(_payments(5))
    assert outcome.statuses == [RowStatus.APPLIED] * 2 + [RowStatus.UNKNOWN] * 2 + [RowStatus.SKIPPED]
    assert isinstance(outcome.error, NodeUnreachable)
    assert outcome.error.exit_code == 3


def test_a_request_that_waits_closes_its_connection_after_the_answer() -> None:
    """The node's HTTP server stops reading a connection left silent for 20 s while an answer
    was waited for: reusing it would hang."""
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("connection"))
        result: dict[str, object] = {
            "hash": "ab" * 32,
            "status": "pending",
            "code": None,
            "ledger": None,
            "figures": {},
        }
        return httpx.Response(200, json={"results": [result]})

    client = NodeClient("http://node.test", http=httpx.Client(transport=httpx.MockTransport(handler)))
    client.submit_many(_payments(1), wait_s=25)
    client.submit_many(_payments(1))
    assert seen == ["close", "keep-alive"]


def _payments(count: int) -> list[Transaction]:
    alice, bob = Keypair(b"a" * 32), Keypair(b"b" * 32)
    return [
        build_transaction(
            b"n" * 32,
            TransactionBody(alice.public_key, seq, 100, b"", (Payment(bob.public_key, "HOURS", 1),)),
            (alice,),
        )
        for seq in range(1, count + 1)
    ]
