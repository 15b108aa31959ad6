"""Offline building and signing: --build-only, tx show / sign / submit, a 2-of-3 shared account."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Cli


def pw(cli: Cli) -> list[str]:
    return ["--password-file", str(cli.password_file)]


def shared_account(cli: Cli) -> None:
    """alice, bob, carol and 'shared'; shared holds 100 TOKEN and becomes 2-of-3 of alice/bob/carol."""
    for name in ("alice", "bob", "carol", "shared", "dave"):
        cli.create(name)
    cli.ok("currency", "create", "TOKEN", "--kind", "issued", "--wallet", "alice", *pw(cli))
    cli.ok("currency", "mint", "TOKEN", "shared", "100", "--wallet", "alice", *pw(cli))
    result = cli.json(
        "account",
        "set-signers",
        "--signer",
        "alice:1",
        "--signer",
        "bob:1",
        "--signer",
        "carol:1",
        "--threshold",
        "2",
        "--wallet",
        "shared",
        "--wait",
        *pw(cli),
    )
    assert result["status"] == "applied"
    info = cli.json("account", "show", "shared")
    assert info["threshold"] == 2
    assert len(info["signers"]) == 3


def build(cli: Cli, path: Path, *args: str) -> dict[str, object]:
    result = cli(*args, "--build-only")
    assert result.exit_code == 0, result.output
    path.write_text(result.stdout)
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_two_of_three_offline_flow(cli: Cli, tmp_path: Path) -> None:
    shared_account(cli)
    tx = tmp_path / "tx.json"
    sent_before = len(cli.node.submitted)
    data = build(cli, tx, "send", "dave", "10", "TOKEN", "--from", "shared", "--memo", "rent share")
    assert data["signatures"] == []
    assert data["format"] == "tally-tx"
    assert len(cli.node.submitted) == sent_before  # nothing sent
    shown = cli.ok("tx", "show", str(tx)).output
    assert "pay 10.00 TOKEN to dave" in shown
    assert "rent share" in shown
    assert "nobody yet" in shown

    # unsigned: refused before sending (bad usage); under-signed: refused by the node (bad_auth)
    assert cli("tx", "submit", str(tx)).exit_code == 2
    assert len(cli.node.submitted) == sent_before
    signed = cli("tx", "sign", str(tx), "--wallet", "alice", "--yes", *pw(cli))
    assert signed.exit_code == 0, signed.output
    assert "pay 10.00 TOKEN" in signed.output  # shown before signing
    under = cli("tx", "submit", str(tx), "--json")
    assert under.exit_code == 1
    assert json.loads(under.stdout)["error"] == "bad_auth"
    assert "not enough signatures: they weigh 1, the account needs 2" in under.stderr

    # declining the confirmation signs nothing
    before = tx.read_text()
    declined = cli("tx", "sign", str(tx), "--wallet", "carol", *pw(cli), input="n\n")
    assert declined.exit_code == 2
    assert tx.read_text() == before

    cli.ok("tx", "sign", str(tx), "--wallet", "carol", "--yes", *pw(cli))
    result = cli.json("tx", "submit", str(tx), "--wait")
    assert result["status"] == "applied"
    dave = cli.json("balance", "--wallet", "dave")["balances"]
    assert [(b["currency"], b["balance"]) for b in dave] == [("TOKEN", 1000)]


def test_single_key_cannot_spend_from_multisig_account(cli: Cli) -> None:
    shared_account(cli)
    result = cli("send", "dave", "1", "TOKEN", "--from", "shared", "--wallet", "alice", *pw(cli))
    assert result.exit_code == 1
    assert "--build-only" in result.output
    result = cli("send", "dave", "1", "TOKEN", "--wallet", "shared", *pw(cli))  # its own key no longer signs
    assert result.exit_code == 1


def test_tampered_file_is_refused(cli: Cli, tmp_path: Path) -> None:
    cli.create("alice")
    cli.create("bob")
    cli.ok("currency", "create", "TOKEN", "--kind", "issued", *pw(cli))
    cli.ok("currency", "mint", "TOKEN", "alice", "5", *pw(cli))
    tx = tmp_path / "tx.json"
    data = build(cli, tx, "send", "bob", "1", "TOKEN")
    cli.ok("tx", "sign", str(tx), "--yes", *pw(cli))
    signed = json.loads(tx.read_text())
    signed["hash"] = "00" * 32
    tx.write_text(json.dumps(signed))
    result = cli("tx", "sign", str(tx), "--yes", *pw(cli))
    assert result.exit_code == 2
    assert "altered" in result.output
    signed["hash"] = data["hash"]
    signed["signatures"][0]["signature"] = "11" * 64
    tx.write_text(json.dumps(signed))
    result = cli("tx", "submit", str(tx))
    assert result.exit_code == 2
    assert "signature" in result.output
    tx.write_text("{not json")
    assert cli("tx", "show", str(tx)).exit_code == 2


def test_signed_file_from_another_network_is_refused(cli: Cli, tmp_path: Path) -> None:
    cli.create("alice")
    cli.create("bob")
    cli.ok("currency", "create", "TOKEN", "--kind", "issued", *pw(cli))
    cli.ok("currency", "mint", "TOKEN", "alice", "5", *pw(cli))
    tx = tmp_path / "tx.json"
    build(cli, tx, "send", "bob", "1", "TOKEN")
    cli.ok("tx", "sign", str(tx), "--yes", *pw(cli))
    cli.node.network_id = b"\x01" * 32
    result = cli("tx", "submit", str(tx))
    assert result.exit_code == 2
    assert "another network" in result.output


def test_set_signers_refuses_unreachable_threshold(cli: Cli) -> None:
    cli.create("alice")
    cli.create("bob")
    sent = len(cli.node.submitted)
    result = cli(
        "account", "set-signers", "--signer", "alice:1", "--signer", "bob:1", "--threshold", "3", *pw(cli)
    )
    assert result.exit_code == 1
    assert "bad signers" in result.output
    assert "threshold (3) reachable by their total weight (2)" in result.output
    assert len(cli.node.submitted) == sent + 1  # the node's answer is the only rule check
    assert cli("account", "set-signers", "--signer", "alice", "--threshold", "1", *pw(cli)).exit_code == 2
    assert len(cli.node.submitted) == sent + 1
