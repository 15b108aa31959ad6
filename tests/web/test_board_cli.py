"""``tally board post|list|show|withdraw`` and ``tally send --for`` against a real node's API (the
demo community's store and ledger, ledgers closed by the test)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from asgi_client import in_process_clients
from typer.testing import CliRunner, Result
from web_node import Community, lone_node, seed_community

from node.api.app import create_app
from node.cli.app import app
from protocol.addresses import encode_account, encode_secret
from protocol.keys import Keypair
from protocol.listings import linked_ref
from wallet.cli import common

PASSWORD = "correct horse battery staple"


@dataclass
class BoardCli:
    community: Community
    password_file: Path

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(app, list(args), input=input)

    def ok(self, *args: str, input: str | None = None) -> Result:
        result = self(*args, input=input)
        assert result.exit_code == 0, result.output
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json").stdout)

    def pw(self) -> list[str]:
        return ["--password-file", str(self.password_file)]

    def add_wallet(self, name: str, keypair: Keypair) -> None:
        self.ok("wallet", "import", name, *self.pw(), input=encode_secret(keypair.seed) + "\n")


@pytest.fixture
async def board_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[BoardCli]:
    monkeypatch.setenv("TALLY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TALLY_INSECURE_FAST_KDF", "1")
    monkeypatch.setenv("TALLY_I_UNDERSTAND_WEAK_KEYS", "1")
    monkeypatch.delenv("TALLY_PASSWORD", raising=False)
    monkeypatch.delenv("TALLY_NODE", raising=False)
    password_file = tmp_path / "pw.txt"
    password_file.write_text(PASSWORD + "\n")
    password_file.chmod(0o600)
    async with lone_node(tmp_path / "node") as node:
        community = await seed_community(node)
        with in_process_clients(create_app(node.api, explorer=node.api)) as factory:
            monkeypatch.setattr(common, "HTTP_FACTORY", factory)
            cli = BoardCli(community, password_file)
            for name in ("alice", "bob", "carol"):
                cli.add_wallet(name, getattr(community, name))
            yield cli


async def test_board_post_list_show_send_for_and_withdraw(board_cli: BoardCli) -> None:
    cli, c = board_cli, board_cli.community
    posted = cli.json(
        "board", "post", "offer", "HOUR", "Garden help", "--category", "garden", "--amount", "2",
        "--text", "Fruit trees.\nSaturdays.", "--topic", "pruning", "--wallet", "bob", *cli.pw(),
    )  # fmt: skip
    assert (posted["kind"], posted["currency"], posted["amount"], posted["amount_text"]) == (
        "offer",
        "HOUR",
        200,
        "2.00 h",
    )
    assert posted["author"] == encode_account(c.bob.public_key)
    ref = posted["ref"]
    human = cli.ok(
        "board", "post", "request", "LETS", "A lift", "-c", "transport", "--wallet", "carol", *cli.pw()
    )
    assert "Posted request 'A lift' in LETS (to be agreed) as carol" in human.stdout

    listed = cli.json("board", "list", "--currency", "HOUR")
    assert [x["ref"] for x in listed["items"]] == [ref]
    table = cli.ok("board", "list").stdout
    assert "Garden help" in table
    assert "2.00 h" in table
    assert "A lift" in table
    assert "to be agreed" in table
    assert [x["title"] for x in cli.json("board", "list", "--mine", "--wallet", "carol")["items"]] == [
        "A lift"
    ]
    assert [x["title"] for x in cli.json("board", "list", "--kind", "offer")["items"]] == ["Garden help"]

    # alice pays bob for the offer; the payment's memo links it and the listing shows it settled
    cli.ok("send", "bob", "2", "HOUR", "--for", ref, "--memo", "thanks", "--wallet", "alice", *cli.pw())
    submitted = c.node.chain.mempool.select(10, 1 << 20)
    await c.run_all(submitted)
    (tx,) = submitted
    assert tx.body.memo == f"for:{ref} thanks".encode()
    assert linked_ref(tx.body.memo) == ref
    shown = cli.json("board", "show", ref)
    assert shown["status"] == "settled"
    assert [(p["from"], p["amount"]) for p in shown["payments"]] == [
        (encode_account(c.alice.public_key), 200)
    ]
    assert "paid 2.00 h by alice" in cli.ok("board", "show", ref).stdout

    # --for in another currency, or for a listing the board does not have, is refused before sending
    assert cli("send", "bob", "2", "LETS", "--for", ref, "--wallet", "alice", *cli.pw()).exit_code == 2
    assert cli("send", "bob", "2", "HOUR", "--for", "ab" * 10, "--wallet", "alice", *cli.pw()).exit_code == 2

    refused = cli("board", "withdraw", ref, "--wallet", "alice", *cli.pw())
    assert refused.exit_code == 2
    assert "only its author" in refused.stderr
    cli.ok("board", "withdraw", ref, "--wallet", "bob", *cli.pw())
    assert cli.json("board", "list", "--currency", "HOUR")["items"] == []
    assert cli("board", "show", ref).exit_code == 2


async def test_board_post_refusals_and_bad_input(board_cli: BoardCli) -> None:
    cli, c = board_cli, board_cli.community
    cli.add_wallet("steward", c.steward)
    not_member = cli("board", "post", "offer", "BRX", "Bikes", "--wallet", "steward", "--json", *cli.pw())
    assert not_member.exit_code == 1
    assert json.loads(not_member.stdout)["error"] == "not_member"
    assert cli("board", "post", "gift", "HOUR", "x", "--wallet", "bob", *cli.pw()).exit_code == 2
    assert (
        cli("board", "post", "offer", "HOUR", "x", "-c", "cars", "--wallet", "bob", *cli.pw()).exit_code == 2
    )
    assert (
        cli("board", "post", "offer", "HOUR", "x", "--days", "91", "--wallet", "bob", *cli.pw()).exit_code
        == 2
    )
    assert cli("board", "post", "offer", "HOUR", "x" * 81, "--wallet", "bob", *cli.pw()).exit_code == 2
    control = cli("board", "post", "offer", "HOUR", "\x1b[31mred", "--wallet", "bob", *cli.pw())
    assert control.exit_code == 2
    assert "bad_text" in control.stderr or "control characters" in control.stderr
    assert cli("board", "post", "offer", "NOPE", "x", "--wallet", "bob", *cli.pw()).exit_code == 1
    assert cli("board", "show", "nothex").exit_code == 2
