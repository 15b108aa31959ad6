"""Balance, send, history and tx status against the real API over a fake in-memory node."""

from __future__ import annotations

import csv
import json

import pytest
from conftest import Cli

from protocol.addresses import encode_account
from protocol.keys import Keypair
from wallet.cli import common, history_cmd


@pytest.fixture
def timebank(cli: Cli) -> Cli:
    """alice runs a time bank HOURS (default credit limit 10 h); alice and bob are members."""
    cli.create("alice")
    cli.create("bob")
    pw = str(cli.password_file)
    cli.ok(
        "currency",
        "create",
        "HOURS",
        "--kind",
        "time",
        "--credit-limit",
        "10",
        "--password-file",
        pw,
        "--wait",
    )
    cli.ok("currency", "admit", "HOURS", "alice", "--password-file", pw, "--wait")
    cli.ok("currency", "admit", "HOURS", "bob", "--password-file", pw, "--wait")
    return cli


def pw(cli: Cli) -> list[str]:
    return ["--password-file", str(cli.password_file)]


def test_send_within_limit_waits_and_reports_ledger(timebank: Cli) -> None:
    cli = timebank
    data = cli.json("send", "bob", "1.50", "HOURS", "--memo", "gardening", "--wait", *pw(cli))
    assert data["status"] == "applied"
    assert isinstance(data["ledger"], int)
    assert data["ledger"] > 1
    assert set(data) == {"hash", "status", "code", "explanation", "ledger", "source", "sequence", "summary"}
    assert data["summary"] == [f"pay 1.50 h of HOURS to {cli.json('wallet', 'address', 'bob')['address']}"]
    alice = cli.json("balance")
    (hours,) = alice["balances"]
    assert (hours["balance"], hours["credit_limit"], hours["available"]) == (-150, 1000, 850)
    assert (hours["balance_text"], hours["available_text"]) == ("-1.50 h", "8.50 h")
    human = cli.ok("balance", "--wallet", "bob").output
    assert "1.50 h" in human
    assert "11.50 h" in human


def test_send_over_credit_limit_is_refused_by_the_node_in_its_figures(timebank: Cli) -> None:
    """The node's answer is the only rule check: the payment is sent, refused, and the message is
    built from the figures of the node's refusal."""
    cli = timebank
    cli.ok("send", "bob", "1.50", "HOURS", *pw(cli))
    sent = len(cli.node.submitted)
    result = cli("send", "bob", "12", "HOURS", *pw(cli))
    assert result.exit_code == 1
    assert "over credit limit: available 8.50 h, asked 12.00 h" in result.output
    assert len(cli.node.submitted) == sent + 1


def test_ledger_refusal_is_exit_1_with_code_and_message(timebank: Cli) -> None:
    cli = timebank
    result = cli("send", "bob", "12", "HOURS", "--json", *pw(cli))
    assert result.exit_code == 1
    error = json.loads(result.stdout)
    assert error["error"] == "over_credit_limit"
    assert "over credit limit: available 10.00 h, asked 12.00 h" in error["message"]
    assert error["exit_code"] == 1


@pytest.mark.parametrize(
    ("amount", "why"),
    [("0", "more than zero"), ("-1", "negative"), ("1.505", "too many decimals"), ("abc", "not a number")],
)
def test_bad_amounts_refused_before_sending(timebank: Cli, amount: str, why: str) -> None:
    cli = timebank
    sent = len(cli.node.submitted)
    result = cli("send", *pw(cli), "--", "bob", amount, "HOURS")
    assert result.exit_code == 2, result.output
    assert why in result.output
    assert len(cli.node.submitted) == sent


def test_typo_address_is_exit_2_naming_the_checksum(timebank: Cli) -> None:
    cli = timebank
    bob = cli.json("wallet", "address", "bob")["address"]
    typo = bob[:10] + ("q" if bob[10] != "q" else "p") + bob[11:]
    result = cli("send", typo, "1", "HOURS", *pw(cli))
    assert result.exit_code == 2
    assert "checksum" in result.output


def test_unknown_name_is_exit_2(timebank: Cli) -> None:
    result = timebank("send", "nobody", "1", "HOURS", *pw(timebank))
    assert result.exit_code == 2
    assert "neither an address" in result.output


def test_not_a_member_and_recipient_not_member(timebank: Cli) -> None:
    cli = timebank
    cli.create("carol")
    result = cli("send", "bob", "1", "HOURS", "--wallet", "carol", *pw(cli))
    assert result.exit_code == 1
    assert "not a member" in result.output
    result = cli("send", "carol", "1", "HOURS", "--wallet", "alice", *pw(cli))
    assert result.exit_code == 1
    assert "recipient" in result.output
    assert "not a member" in result.output


def test_unknown_currency_is_refused(timebank: Cli) -> None:
    result = timebank("send", "bob", "1", "NOPE", "--json", *pw(timebank))
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"] == "no_currency"


def test_wrong_password_on_send_changes_nothing(timebank: Cli) -> None:
    sent = len(timebank.node.submitted)
    result = timebank("send", "bob", "1", "HOURS", input="wrong\n")
    assert result.exit_code == 2
    assert "wrong password" in result.output
    assert len(timebank.node.submitted) == sent


def test_node_unreachable_is_exit_3_naming_the_url(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    cli.create("alice")
    cli.create("bob")
    monkeypatch.setattr(common, "HTTP_FACTORY", None)
    url = "http://127.0.0.1:9"
    result = cli("balance", "--node", url)
    assert result.exit_code == 3
    assert url in result.output
    monkeypatch.setenv("TALLY_NODE", "http://127.0.0.1:7")
    result = cli("send", "bob", "1", "HOURS", *pw(cli))
    assert result.exit_code == 3
    assert "http://127.0.0.1:7" in result.output


def test_node_url_from_config(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    factory = common.HTTP_FACTORY
    assert factory is not None

    def spy(url: str):  # type: ignore[no-untyped-def]
        seen.append(url)
        return factory(url)

    monkeypatch.setattr(common, "HTTP_FACTORY", spy)
    cli.create("alice")
    (cli.home / "config.toml").write_text(
        (cli.home / "config.toml").read_text() + '\n[node]\nurl = "http://node.example:8080/"\n'
    )
    cli.ok("balance")
    assert seen == ["http://node.example:8080"]


def test_history_totals_and_csv(timebank: Cli, tmp_path: object) -> None:
    cli = timebank
    cli.ok("send", "bob", "1.50", "HOURS", "--memo", "gardening", *pw(cli))
    cli.ok("send", "alice", "0.25", "HOURS", "--memo", "tea", "--wallet", "bob", *pw(cli))
    cli.ok("send", "bob", "2", "HOURS", "--memo", "repair", *pw(cli))
    data = cli.json("history")
    payments = [row for row in data["items"] if row["type"] == "payment"]
    assert [(r["direction"], r["amount"], r["memo"], r["counterparty_name"]) for r in payments] == [
        ("sent", "2.00 h", "repair", "bob"),
        ("received", "0.25 h", "tea", "bob"),
        ("sent", "1.50 h", "gardening", "bob"),
    ]
    assert data["totals"]["HOURS"]["given"] == 350
    assert data["totals"]["HOURS"]["received"] == 25
    assert data["totals"]["HOURS"]["given_text"] == "3.50 h"
    human = cli.ok("history").output
    assert "hours given 3.50 h, received 0.25 h" in human
    limited = cli.json("history", "--limit", "2")
    assert len({row["hash"] for row in limited["items"]}) == 2
    out = cli.home / "h.csv"
    cli.ok("history", "--csv", str(out))
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert rows[0]["direction"] == "sent"
    assert rows[0]["amount"] == "2.00"
    assert rows[0]["memo"] == "repair"
    assert rows[0]["amount_minor"] == "200"
    assert rows[0]["currency"] == "HOURS"
    assert set(rows[0]) == set(history_cmd.HISTORY_FIELDS)


def test_tx_status(timebank: Cli) -> None:
    cli = timebank
    sent = cli.json("send", "bob", "1", "HOURS", *pw(cli))
    status = cli.json("tx", "status", sent["hash"])
    assert status["status"] == "applied"
    assert status["ledger"] == sent["ledger"]
    unknown = cli("tx", "status", "ab" * 32)
    assert unknown.exit_code == 2
    assert cli("tx", "status", "xyz").exit_code == 2


def test_balance_of_any_account_and_empty(cli: Cli) -> None:
    cli.create("alice")
    stranger = encode_account(Keypair(b"\x09" * 32).public_key)
    data = cli.json("balance", stranger)
    assert data == {"wallet": None, "address": stranger, "ledger": 1, "balances": []}
    assert "No currency yet" in cli.ok("balance").output


@pytest.mark.parametrize(
    "command",
    [
        ["history"],
        ["tx", "status", "ab" * 32],
        ["currency", "info", "HOURS"],
        ["account", "show"],
        ["currency", "admit", "HOURS", "alice"],
    ],
)
def test_node_down_for_every_node_command(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    cli.create("alice")
    monkeypatch.setattr(common, "HTTP_FACTORY", None)
    url = "http://127.0.0.1:9"
    result = cli(*command, "--node", url, "--json")
    assert result.exit_code == 3
    error = json.loads(result.stdout)
    assert error["error"] == "node_unreachable"
    assert url in error["message"]


def test_node_server_error_is_exit_3(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    cli.create("alice")

    def broken(*args: object) -> object:
        raise RuntimeError("boom")

    monkeypatch.setattr(cli.node, "account_state", broken)
    from asgi_client import in_process_clients

    from node.api.app import create_app

    with in_process_clients(create_app(cli.node), raise_app_exceptions=False) as factory:
        monkeypatch.setattr(common, "HTTP_FACTORY", factory)
        result = cli("balance")
    assert result.exit_code == 3
    assert "500" in result.output


def test_history_shows_only_this_accounts_operations_of_a_shared_transaction() -> None:
    """Regression: one transaction admitting several members appeared, whole, in each member's
    history (bob saw "admitted carol")."""
    from types import SimpleNamespace

    from protocol.operations import CurrencyKind
    from wallet.describe import Units
    from wallet.views import HistoryItem, OperationView

    steward, bob, carol = (encode_account(bytes([n]) * 32) for n in (1, 2, 3))
    admits = tuple(OperationView("admit_member", member=m, currency="HOURS") for m in (bob, carol))
    item = HistoryItem("ab" * 32, steward, "", 3, "ok", 0, admits)
    session = SimpleNamespace(home=SimpleNamespace(name_of=lambda key: None))
    units = {"HOURS": Units(CurrencyKind.TIME, 2)}
    rows = history_cmd.history_rows(session, bytes([2]) * 32, [item], units)  # type: ignore[arg-type]
    assert [(r["direction"], r["counterparty"]) for r in rows] == [("admitted", steward)]
