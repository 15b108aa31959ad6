"""Typed views of the node's answers: a malformed answer is a clear BadResponse (exit 3) naming
the field, never a KeyError; the transaction commands share one option group."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from conftest import Cli
from typer.testing import CliRunner

from node.cli.app import app
from protocol.addresses import encode_account
from protocol.keys import Keypair
from wallet.cli import common
from wallet.cli.options import TxOptions, transaction_command
from wallet.errors import BadResponse
from wallet.fields import Fields
from wallet.views import AccountView, CurrencyView, TxResultView, submit_result

ALICE = encode_account(Keypair(b"\x02" * 32).public_key)
ACCOUNT: dict[str, Any] = {
    "address": ALICE,
    "sequence": 3,
    "pending_sequence": 4,
    "threshold": 1,
    "signers": [{"address": ALICE, "weight": 1}],
    "balances": [
        {
            "currency": "HOUR",
            "kind": "time",
            "decimals": 2,
            "balance": -150,
            "credit_limit": 1000,
            "available": 850,
            "member": True,
        }
    ],
    "ledger": 9,
    "a_key_from_a_newer_node": {"ignored": True},
}


def test_account_answer_parses_into_a_typed_view() -> None:
    view = AccountView.parse(Fields(ACCOUNT, "account"))
    assert (view.address, view.next_sequence, view.ledger) == (ALICE, 5, 9)
    (hour,) = view.balances
    assert (hour.currency, hour.available, hour.member, hour.units.text(hour.balance, "HOUR")) == (
        "HOUR",
        850,
        True,
        "-1.50 h",
    )


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"sequence": None}, "account.sequence is missing"),
        ({"sequence": "3"}, "account.sequence: expected an integer"),
        ({"threshold": True}, "account.threshold: expected an integer"),
        ({"address": "tly1nope"}, "account.address: expected an account address"),
        ({"signers": {"x": 1}}, "account.signers: expected a list"),
        ({"signers": [{"address": ALICE, "weight": 0}]}, "account.signers[0].weight"),
        ({"balances": [{**ACCOUNT["balances"][0], "kind": "gold"}]}, "account.balances[0].kind"),
        ({"balances": [{**ACCOUNT["balances"][0], "member": 1}]}, "account.balances[0].member"),
    ],
)
def test_a_malformed_account_answer_names_the_field(change: dict[str, Any], named: str) -> None:
    with pytest.raises(BadResponse, match=named.replace("[", r"\[").replace("]", r"\]")):
        AccountView.parse(Fields({**ACCOUNT, **change}, "account"))


def test_other_answers_are_checked_too() -> None:
    with pytest.raises(BadResponse, match="expected a JSON object"):
        CurrencyView.parse(Fields(["HOUR"], "currency"))
    with pytest.raises(BadResponse, match="status: expected one of"):
        TxResultView.parse(Fields({"status": "done"}, "tx"))
    with pytest.raises(BadResponse, match="expected one result, got 2"):
        submit_result(Fields({"results": [{"status": "pending"}, {"status": "pending"}]}, "submit"))
    refused = submit_result(
        Fields(
            {
                "results": [
                    {"status": "rejected", "code": "bad_seq", "figures": {"expected_seq": 7, "seq": 3}}
                ]
            },
            "submit",
        )
    )
    assert (refused.refused, refused.figures.expected_seq, refused.figures.available) == (True, 7, None)
    with pytest.raises(BadResponse, match=r"results\[0\].figures.available"):
        submit_result(
            Fields({"results": [{"status": "rejected", "figures": {"available": "8.50"}}]}, "submit")
        )


def test_a_node_answering_nonsense_is_exit_3_naming_the_field(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli.create("alice")

    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={**ACCOUNT, "balances": [{"currency": "HOUR"}]})

    monkeypatch.setattr(
        common, "HTTP_FACTORY", lambda url: httpx.Client(transport=httpx.MockTransport(broken))
    )
    result = cli("balance", "--json")
    assert result.exit_code == 3
    error = json.loads(result.stdout)
    assert error["error"] == "bad_response"
    assert "account.balances[0].decimals is missing" in error["message"]
    assert "http://127.0.0.1:8080" in error["message"]

    monkeypatch.setattr(
        common,
        "HTTP_FACTORY",
        lambda url: httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, text="<html>"))),
    )
    result = cli("account", "show", "--json")
    assert (result.exit_code, json.loads(result.stdout)["error"]) == (3, "bad_response")


TX_COMMANDS = [
    ["send"],
    ["currency", "create"],
    ["currency", "admit"],
    ["currency", "set-limit"],
    ["currency", "mint"],
    ["currency", "redeem"],
    ["account", "set-signers"],
]
TX_FLAGS = [
    "--memo",
    "--wait",
    "--timeout",
    "--build-only",
    "--from",
    "--wallet",
    "--password-file",
    "--valid-ledgers",
    "--node",
    "--json",
]


@pytest.mark.parametrize("command", TX_COMMANDS, ids=" ".join)
def test_every_transaction_command_has_the_shared_options(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for flag in TX_FLAGS:
        assert flag in result.output, flag


def test_transaction_command_needs_a_tx_parameter() -> None:
    def no_options(code: str) -> None: ...

    with pytest.raises(TypeError, match="tx: TxOptions"):
        transaction_command(no_options)

    seen: list[tuple[str, TxOptions]] = []

    @transaction_command
    def command(code: str, tx: TxOptions) -> None:
        seen.append((code, tx))

    command("HOUR", memo="tea", wait=True, timeout=5.0, build_only=False, source=None, wallet="bob",
            password_file=None, valid_ledgers=10, node=None, as_json=True)  # fmt: skip
    assert seen == [("HOUR", TxOptions("tea", True, 5.0, False, None, "bob", None, 10, None, True))]


def test_refusal_messages_come_from_the_node_figures() -> None:
    from protocol.operations import CurrencyKind, Mint, Payment
    from wallet.describe import Units
    from wallet.refusals import refusal_message
    from wallet.views import Figures

    units = {"HOUR": Units(CurrencyKind.TIME, 2)}
    pay = [Payment(b"\x03" * 32, "HOUR", 1200)]

    def refused(code: str, figures: Figures, explanation: str | None = None) -> TxResultView:
        return TxResultView("ab" * 32, "rejected", code, explanation, None, None, figures)

    over = refused("over_credit_limit", Figures(op_index=0, currency="HOUR", available=850, asked=1200))
    assert refusal_message(over, pay, units) == (
        "refused by the ledger (over_credit_limit): over credit limit: available 8.50 h, asked 12.00 h "
        f"(transaction {'ab' * 32})"
    )
    seq = refusal_message(refused("bad_seq", Figures(expected_seq=7, seq=5)), pay, units)
    assert "bad sequence number 5: the account expects 7" in seq
    minted = refusal_message(
        refused("wrong_kind", Figures(op_index=0, currency="HOUR", kind=CurrencyKind.TIME)),
        [Mint("HOUR", b"\x03" * 32, 1)],
        units,
    )
    assert "HOUR is time credit: it is created by payments, never minted" in minted
    # a transaction that failed inside a ledger has no figures: the node's explanation is all
    failed = refusal_message(refused("over_credit_limit", Figures(), "below the credit limit"), pay, units)
    assert (
        failed
        == f"refused by the ledger (over_credit_limit): below the credit limit (transaction {'ab' * 32})"
    )
