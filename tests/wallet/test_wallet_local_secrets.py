"""Local secrets (issue 12): no weak keystore or readable password file without an explicit,
loudly named override; $TALLY_HOME and wallets/ are private (0700)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from conftest import Cli

from wallet.keystore import FAST_KDF_ENV, WEAK_KEYS_ENV


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_fast_kdf_is_refused_without_the_override(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WEAK_KEYS_ENV)
    result = cli("wallet", "create", "alice", "--password-file", str(cli.password_file), "--json")
    assert result.exit_code == 2
    error = json.loads(result.stdout)
    assert error["error"] == "weak_keys_refused"
    assert FAST_KDF_ENV in error["message"]
    assert WEAK_KEYS_ENV in error["message"]
    assert not (cli.home / "wallets" / "alice.json").exists()
    imported = cli(
        "wallet", "import", "bob", "--password-file", str(cli.password_file), input="abandon " * 23 + "art\n"
    )
    assert imported.exit_code == 2
    assert not (cli.home / "wallets" / "bob.json").exists()


def test_fast_kdf_with_the_override_works_and_warns(cli: Cli) -> None:
    result = cli("wallet", "create", "alice", "--password-file", str(cli.password_file), "--json")
    assert result.exit_code == 0, result.output
    assert "guessed in no time" in result.stderr
    assert json.loads(cli.home.joinpath("wallets", "alice.json").read_text())["opslimit"] == 1


def test_a_password_file_others_can_read_is_refused(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    cli.create("alice")
    monkeypatch.delenv(WEAK_KEYS_ENV)
    monkeypatch.delenv(FAST_KDF_ENV)
    for mode in (0o644, 0o640, 0o604):
        cli.password_file.chmod(mode)
        result = cli("wallet", "export", "alice", "--password-file", str(cli.password_file), "--json")
        assert result.exit_code == 2, oct(mode)
        error = json.loads(result.stdout)
        assert error["error"] == "bad_password_file"
        assert f"chmod 600 {cli.password_file}" in error["message"]
        assert "tlys1" not in result.stdout
    cli.password_file.chmod(0o600)
    assert cli.json("wallet", "export", "alice", "--password-file", str(cli.password_file))["secret"]
    cli.password_file.chmod(0o644)
    monkeypatch.setenv(WEAK_KEYS_ENV, "1")
    assert cli.json("wallet", "export", "alice", "--password-file", str(cli.password_file))["secret"]


def test_home_and_wallets_are_created_private(cli: Cli) -> None:
    assert not cli.home.exists()
    cli.create("alice")
    assert _mode(cli.home) == 0o700
    assert _mode(cli.home / "wallets") == 0o700
    assert _mode(cli.home / "wallets" / "alice.json") == 0o600


def test_existing_open_home_and_wallets_are_tightened(cli: Cli) -> None:
    (cli.home / "wallets").mkdir(parents=True)
    cli.home.chmod(0o755)
    (cli.home / "wallets").chmod(0o777)
    cli.ok("config", "set-node", "http://127.0.0.1:8080")  # any write through the wallet's home
    assert _mode(cli.home) == 0o700
    cli.create("alice")
    assert _mode(cli.home / "wallets") == 0o700
