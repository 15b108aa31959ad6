"""``tally request`` and ``tally pay`` against the real API over the fake node: the URI and its QR
code, what pay shows and asks, and every bad request refused with exit 2 before anything is signed."""

from __future__ import annotations

import pytest
from conftest import Cli

from protocol.hashing import network_id
from protocol.payreq import network_tag, parse_uri
from wallet.cli import common, request_cmd


@pytest.fixture
def timebank(cli: Cli) -> Cli:
    """alice runs a time bank HOURS; alice and bob are members."""
    cli.create("alice")
    cli.create("bob")
    pw = ["--password-file", str(cli.password_file)]
    cli.ok("wallet", "use", "alice")
    cli.ok("currency", "create", "HOURS", "--kind", "time", "--credit-limit", "10", *pw, "--wait")
    cli.ok("currency", "admit", "HOURS", "alice", *pw, "--wait")
    cli.ok("currency", "admit", "HOURS", "bob", *pw, "--wait")
    return cli


def pw(cli: Cli) -> list[str]:
    return ["--password-file", str(cli.password_file)]


def test_request_prints_uri_qr_and_units(timebank: Cli) -> None:
    cli = timebank
    data = cli.json("request", "1.5", "HOURS", "--memo", "gardening", "--wallet", "bob")
    bob = cli.json("wallet", "address", "bob")["address"]
    assert data["amount"] == 150
    assert data["amount_text"] == "1.50 h"
    assert data["recipient"] == bob
    assert data["wallet"] == "bob"
    request = parse_uri(data["uri"])
    assert (request.currency, request.amount, request.memo) == ("HOURS", "1.50", "gardening")
    assert request.network_tag == network_tag(cli.node.network_id)
    human = cli.ok("request", "1.5", "HOURS", "--memo", "gardening", "--wallet", "bob").output
    assert data["uri"] in human
    assert "pay 1.50 h to bob" in human
    assert request_cmd.qr_text(data["uri"]) in human  # the QR code of exactly this URI
    assert "▀" in human or "▄" in human


def test_request_refuses_bad_amount_memo_and_listing(timebank: Cli) -> None:
    cli = timebank
    assert cli("request", "1.505", "HOURS").exit_code == 2
    assert cli("request", "-1", "HOURS").exit_code == 2
    assert cli("request", "1", "HOURS", "--memo", "x" * 65).exit_code == 2
    assert cli("request", "1", "HOURS", "--for", "nothex").exit_code == 2
    assert cli("request", "1", "NOPE").exit_code == 1  # no such currency on the ledger


def test_pay_shows_what_it_pays_and_pays_with_yes(timebank: Cli) -> None:
    cli = timebank
    uri = cli.json("request", "1.5", "HOURS", "--memo", "gardening", "--wallet", "bob")["uri"]
    result = cli("pay", uri, "--yes", "--wait", *pw(cli))
    assert result.exit_code == 0, result.output
    assert "Pay 1.50 h to bob (tly1" in result.stderr
    assert "not one of your contacts" not in result.stderr
    assert "for: gardening" in result.stderr
    tx = cli.node.submitted[-1]
    assert tx.body.memo == b"gardening"
    bob = cli.json("balance", "--wallet", "bob")["balances"][0]
    assert bob["balance"] == 150


def test_pay_without_terminal_or_yes_is_exit_2(timebank: Cli) -> None:
    cli = timebank
    uri = cli.json("request", "1", "HOURS", "--wallet", "bob")["uri"]
    sent = len(cli.node.submitted)
    result = cli("pay", uri, *pw(cli))
    assert result.exit_code == 2
    assert "add --yes" in result.stderr
    assert len(cli.node.submitted) == sent


def test_pay_asks_in_a_terminal(timebank: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = timebank
    monkeypatch.setattr(common, "stdin_is_terminal", lambda: True)
    uri = cli.json("request", "1", "HOURS", "--wallet", "bob")["uri"]
    sent = len(cli.node.submitted)
    declined = cli("pay", uri, *pw(cli), input="n\n")
    assert declined.exit_code == 2
    assert "cancelled" in declined.stderr
    assert len(cli.node.submitted) == sent
    accepted = cli("pay", uri, *pw(cli), "--json", input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert len(cli.node.submitted) == sent + 1


def test_pay_links_the_listing_in_the_memo(timebank: Cli) -> None:
    cli = timebank
    ref = "00112233445566778899"
    uri = cli.json("request", "2", "HOURS", "--memo", "lift", "--for", ref, "--wallet", "bob")["uri"]
    result = cli("pay", uri, "--yes", *pw(cli))
    assert result.exit_code == 0, result.output
    assert f"settles board listing {ref}" in result.stderr
    assert cli.node.submitted[-1].body.memo == f"for:{ref} lift".encode()


def test_pay_me_request_needs_amount_and_currency(timebank: Cli) -> None:
    cli = timebank
    bob = cli.json("wallet", "address", "bob")["address"]
    uri = f"tally:{bob}?v=1&net={network_tag(cli.node.network_id).hex()}"
    assert "add --currency" in cli("pay", uri, "--yes", *pw(cli)).stderr
    assert "add --amount" in cli("pay", uri, "--currency", "HOURS", "--yes", *pw(cli)).stderr
    result = cli("pay", uri, "--currency", "HOURS", "--amount", "0.25", "--yes", *pw(cli))
    assert result.exit_code == 0, result.output
    fixed = f"{uri}&cur=HOURS&amt=1"
    assert "cannot change" in cli("pay", fixed, "--amount", "3", "--yes", *pw(cli)).stderr
    assert "cannot change" in cli("pay", fixed, "--currency", "LETS", "--yes", *pw(cli)).stderr


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (
            lambda bob, tag: f"tally:{bob}?v=1&net={network_tag(network_id('other')).hex()}&cur=HOURS&amt=1",
            "another network",
        ),
        (lambda bob, tag: f"tally:{bob}?v=1&net={tag}&cur=NOPE&amt=1", "does not know"),
        (lambda bob, tag: f"tally:{bob}?v=1&net={tag}&cur=HOURS&amt=1.001", "too many decimals"),
        (lambda bob, tag: f"tally:{bob}?v=9&net={tag}", "not a payment request"),
        (lambda bob, tag: f"tally:{bob}?v=1&net={tag}&memo=" + "a" * 600, "at most 512"),
        (lambda bob, tag: f"tally:{bob[:-1]}x?v=1&net={tag}", "checksum"),
        (lambda bob, tag: "https://example.org/pay", "starts with 'tally:'"),
    ],
)
def test_pay_refuses_bad_requests_with_exit_2(timebank: Cli, make, says: str) -> None:  # type: ignore[no-untyped-def]
    cli = timebank
    bob = cli.json("wallet", "address", "bob")["address"]
    sent = len(cli.node.submitted)
    result = cli("pay", make(bob, network_tag(cli.node.network_id).hex()), "--yes", *pw(cli))
    assert result.exit_code == 2, result.output
    assert says in result.stderr
    assert len(cli.node.submitted) == sent


def test_pay_refuses_own_request(timebank: Cli) -> None:
    cli = timebank
    uri = cli.json("request", "1", "HOURS")["uri"]
    result = cli("pay", uri, "--yes", *pw(cli))
    assert result.exit_code == 2
    assert "yourself" in result.stderr
