"""Currency commands: create, info, admit, set-limit, mint, redeem, and multi-steward admission."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Cli


def pw(cli: Cli) -> list[str]:
    return ["--password-file", str(cli.password_file)]


def test_time_bank_create_info_admit_set_limit(cli: Cli) -> None:
    alice = cli.create("alice")
    cli.create("bob")
    created = cli.json(
        "currency", "create", "hours", "--kind", "time", "--credit-limit", "5", "--wait", *pw(cli)
    )
    assert created["status"] == "applied"
    info = cli.json("currency", "info", "HOURS")
    assert (info["kind"], info["decimals"], info["issuer"], info["stewards"]) == ("time", 2, alice, [alice])
    assert info["default_credit_limit"] == 500
    assert info["default_credit_limit_text"] == "5.00 h"
    assert "time currency" in cli.ok("currency", "info", "HOURS").output
    again = cli("currency", "create", "HOURS", "--kind", "time", *pw(cli))
    assert again.exit_code == 1
    assert "already exists" in again.output

    cli.ok("currency", "admit", "HOURS", "alice", *pw(cli))
    cli.ok("currency", "admit", "HOURS", "bob", "--credit-limit", "2", *pw(cli))
    twice = cli("currency", "admit", "HOURS", "bob", *pw(cli))
    assert twice.exit_code == 1
    assert "already a member" in twice.output
    bob = cli.json("balance", "--wallet", "bob")["balances"][0]
    assert (bob["credit_limit"], bob["member"]) == (200, True)

    cli.ok("currency", "set-limit", "HOURS", "bob", "3.5", *pw(cli))
    assert cli.json("balance", "bob")["balances"][0]["credit_limit"] == 350
    over = cli("send", "alice", "4", "HOURS", "--wallet", "bob", *pw(cli))
    assert over.exit_code == 1
    assert "available 3.50 h, asked 4.00 h" in over.output
    assert cli.json("currency", "info", "HOURS")["members"] == 2


def test_only_stewards_admit(cli: Cli) -> None:
    cli.create("alice")
    cli.create("bob")
    cli.create("carol")
    cli.ok("currency", "create", "LETS", "--kind", "mutual", *pw(cli))
    result = cli("currency", "admit", "LETS", "carol", "--wallet", "bob", "--json", *pw(cli))
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"] == "bad_steward_auth"
    result = cli("currency", "set-limit", "LETS", "carol", "5", *pw(cli))
    assert result.exit_code == 1
    assert "not a member" in result.output


def test_multi_steward_admission_through_tx_files(cli: Cli, tmp_path: Path) -> None:
    for name in ("alice", "bob", "carol", "dave"):
        cli.create(name)
    cli.ok(
        "currency",
        "create",
        "LETS",
        "--kind",
        "mutual",
        "--credit-limit",
        "100",
        "--stewards",
        "alice,bob,carol",
        "--threshold",
        "2",
        *pw(cli),
    )
    assert cli.json("currency", "info", "LETS")["steward_threshold"] == 2
    direct = cli("currency", "admit", "LETS", "dave", *pw(cli))
    assert direct.exit_code == 1
    assert "--build-only" in direct.output
    tx = tmp_path / "admit.json"
    built = cli("currency", "admit", "LETS", "dave", "--build-only")
    assert built.exit_code == 0, built.output
    tx.write_text(built.stdout)
    cli.ok("tx", "sign", str(tx), "--yes", *pw(cli))  # alice: the source account and one steward
    only_one = cli("tx", "submit", str(tx))
    assert only_one.exit_code == 1
    assert "bad_steward_auth" in only_one.output
    tx2 = tmp_path / "admit2.json"
    tx2.write_text(cli("currency", "admit", "LETS", "dave", "--build-only").stdout)
    cli.ok("tx", "sign", str(tx2), "--yes", *pw(cli))
    cli.ok("tx", "sign", str(tx2), "--wallet", "carol", "--yes", *pw(cli))
    assert cli.json("tx", "submit", str(tx2))["status"] == "applied"
    dave = cli.json("balance", "dave")["balances"][0]
    assert (dave["currency"], dave["member"], dave["credit_limit"]) == ("LETS", True, 10000)


def test_issued_mint_redeem(cli: Cli) -> None:
    cli.create("issuer")
    cli.create("bob")
    cli.ok("currency", "create", "TOKEN", "--kind", "issued", "--decimals", "2", *pw(cli))
    assert cli.json("currency", "mint", "TOKEN", "bob", "40", "--wait", *pw(cli))["status"] == "applied"
    notissuer = cli("currency", "mint", "TOKEN", "bob", "1", "--wallet", "bob", *pw(cli))
    assert notissuer.exit_code == 1
    assert "only the issuer of TOKEN may do this: issuer (tly1" in notissuer.output
    cli.ok("send", "issuer", "15", "TOKEN", "--wallet", "bob", *pw(cli))  # bob hands 15 back for cash
    under = cli("send", "issuer", "30", "TOKEN", "--wallet", "bob", *pw(cli))
    assert under.exit_code == 1
    assert "underfunded: available 25.00 TOKEN, asked 30.00 TOKEN" in under.output
    too_much = cli("currency", "redeem", "TOKEN", "20", *pw(cli))
    assert too_much.exit_code == 1
    assert "underfunded: available 15.00 TOKEN, asked 20.00 TOKEN" in too_much.output
    cli.ok("currency", "redeem", "TOKEN", "15", *pw(cli))
    info = cli.json("currency", "info", "TOKEN")
    assert info["supply"] == 2500
    assert info["supply_text"] == "25.00 TOKEN"
    admit = cli("currency", "admit", "TOKEN", "bob", *pw(cli))
    assert admit.exit_code == 1
    assert "no membership" in admit.output
    zero = cli("currency", "mint", "TOKEN", "bob", "0", *pw(cli))
    assert zero.exit_code == 2


def test_mint_refused_for_mutual_credit_and_bad_options(cli: Cli) -> None:
    cli.create("alice")
    cli.ok("currency", "create", "HOURS", "--kind", "time", *pw(cli))
    result = cli("currency", "mint", "HOURS", "alice", "1", *pw(cli))
    assert result.exit_code == 1
    assert "never minted" in result.output
    assert cli("currency", "create", "X", "--kind", "time", "--decimals", "3", *pw(cli)).exit_code == 2
    assert cli("currency", "create", "BAD-CODE", "--kind", "mutual", *pw(cli)).exit_code == 2
    assert cli("currency", "create", "Y", "--kind", "gold", *pw(cli)).exit_code == 2
    assert cli("currency", "create", "Z", "--kind", "issued", "--credit-limit", "5", *pw(cli)).exit_code == 2
    assert cli("currency", "info", "NOPE").exit_code == 1
