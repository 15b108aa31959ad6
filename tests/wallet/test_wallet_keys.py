"""Wallet keys: create / import / export round trip, passwords, names, the keystore file."""

from __future__ import annotations

import json
import stat

import pytest
from conftest import PASSWORD, Cli

from protocol.addresses import decode_secret, encode_account
from protocol.keys import Keypair, seed_from_mnemonic
from wallet.errors import KeystoreError, WrongPassword
from wallet.keystore import decrypt_seed, encrypt_seed, load_keystore


def test_create_prints_phrase_once_and_stores_encrypted_keystore(cli: Cli) -> None:
    result = cli.ok("wallet", "create", "alice", "--password-file", str(cli.password_file))
    assert "write these 24 words down" in result.output
    path = cli.home / "wallets" / "alice.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = json.loads(path.read_text())
    assert raw["version"] == 1
    assert raw["kdf"] == "argon2id"
    assert set(raw) >= {"opslimit", "memlimit", "salt", "nonce", "ciphertext", "address"}
    words = [line.split(". ")[1:] for line in result.output.splitlines() if " 1. " in line]
    assert words, "the phrase is printed"
    # the seed is not in the file in clear
    seed = decrypt_seed(load_keystore(path), PASSWORD)
    assert seed.hex() not in path.read_text()
    assert cli.ok("wallet", "address").output.strip() == raw["address"]
    # the phrase is not shown again anywhere
    assert "24 words" not in cli.ok("wallet", "list").output


def test_create_json_and_phrase_derives_the_address(cli: Cli) -> None:
    data = cli.json("wallet", "create", "alice", "--password-file", str(cli.password_file))
    assert set(data) == {"name", "address", "path", "default", "recovery_phrase"}
    assert data["default"] is True
    assert encode_account(Keypair(seed_from_mnemonic(data["recovery_phrase"])).public_key) == data["address"]


def test_import_from_phrase_and_from_exported_seed_round_trip(cli: Cli) -> None:
    created = cli.json("wallet", "create", "alice", "--password-file", str(cli.password_file))
    imported = cli.json(
        "wallet",
        "import",
        "again",
        "--password-file",
        str(cli.password_file),
        input=created["recovery_phrase"] + "\n",
    )
    assert imported["address"] == created["address"]
    exported = cli.json("wallet", "export", "alice", "--password-file", str(cli.password_file))
    assert exported["secret"].startswith("tlys1")
    assert encode_account(Keypair(decode_secret(exported["secret"])).public_key) == created["address"]
    from_seed = cli.json(
        "wallet",
        "import",
        "third",
        "--password-file",
        str(cli.password_file),
        input=exported["secret"] + "\n",
    )
    assert from_seed["address"] == created["address"]
    listed = cli.json("wallet", "list")["wallets"]
    assert [w["name"] for w in listed] == ["again", "alice", "third"]
    assert [w["default"] for w in listed] == [False, True, False]


def test_import_refuses_a_bad_phrase(cli: Cli) -> None:
    result = cli(
        "wallet", "import", "x", "--password-file", str(cli.password_file), input="abandon " * 23 + "zoo\n"
    )
    assert result.exit_code == 2
    assert "checksum" in result.output
    assert not (cli.home / "wallets" / "x.json").exists()


def test_wrong_password_is_a_clear_error_and_changes_nothing(cli: Cli, tmp_path: object) -> None:
    cli.create("alice")
    path = cli.home / "wallets" / "alice.json"
    before = path.read_bytes()
    result = cli("wallet", "export", "alice", input="not the password\n")
    assert result.exit_code == 2
    assert "wrong password" in result.output
    assert "tlys1" not in result.output
    assert path.read_bytes() == before


def test_password_from_environment(cli: Cli) -> None:
    cli.create("alice")
    result = cli("wallet", "export", "alice", "--json", env={"TALLY_PASSWORD": PASSWORD})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["secret"].startswith("tlys1")
    bad = cli("wallet", "export", "alice", env={"TALLY_PASSWORD": "nope"})
    assert bad.exit_code == 2


def test_interactive_create_asks_twice(cli: Cli) -> None:
    result = cli("wallet", "create", "bob", input="pw1\npw1\n")
    assert result.exit_code == 0, result.output
    mismatch = cli("wallet", "create", "carol", input="pw1\npw2\npw3\npw3\n")
    assert mismatch.exit_code == 0, mismatch.output
    assert "match" in mismatch.output.lower()
    seed_ok = cli("wallet", "export", "carol", input="pw3\n")
    assert seed_ok.exit_code == 0


def test_use_rm_and_default(cli: Cli) -> None:
    a = cli.create("alice")
    b = cli.create("bob")
    assert cli.ok("wallet", "address").output.strip() == a
    cli.ok("wallet", "use", "bob")
    assert cli.ok("wallet", "address").output.strip() == b
    assert cli("wallet", "rm", "bob", input="n\n").exit_code == 2
    assert (cli.home / "wallets" / "bob.json").exists()
    cli.ok("wallet", "rm", "bob", "--yes")
    assert not (cli.home / "wallets" / "bob.json").exists()
    assert cli.ok("wallet", "address").output.strip() == a  # the only one left
    assert cli("wallet", "use", "bob").exit_code == 2


def test_duplicate_and_bad_names(cli: Cli) -> None:
    cli.create("alice")
    assert cli("wallet", "create", "alice", "--password-file", str(cli.password_file)).exit_code == 2
    bad = cli("wallet", "create", "../evil", "--password-file", str(cli.password_file))
    assert bad.exit_code == 2
    assert not (cli.home / "evil.json").exists()


def test_keystore_wrong_password_raises_typed_error() -> None:
    store = encrypt_seed(b"\x07" * 32, "pw")
    assert decrypt_seed(store, "pw") == b"\x07" * 32
    with pytest.raises(WrongPassword):
        decrypt_seed(store, "pW")


def test_contacts_and_typo_addresses(cli: Cli) -> None:
    bob = encode_account(Keypair(b"\x02" * 32).public_key)
    cli.ok("contact", "add", "bob", bob)
    assert cli.json("contact", "list") == {"contacts": [{"name": "bob", "address": bob}]}
    typo = bob[:-3] + ("q" if bob[-3] != "q" else "p") + bob[-2:]
    result = cli("contact", "add", "eve", typo)
    assert result.exit_code == 2
    assert "checksum" in result.output
    cli.ok("contact", "rm", "bob")
    assert cli.json("contact", "list") == {"contacts": []}


def test_default_cost_and_fast_override(monkeypatch: pytest.MonkeyPatch) -> None:
    from wallet import keystore

    monkeypatch.delenv(keystore.FAST_KDF_ENV, raising=False)
    monkeypatch.delenv(keystore.WEAK_KEYS_ENV, raising=False)
    assert keystore.default_cost() == (3, 128 * 1024 * 1024)
    monkeypatch.setenv(keystore.FAST_KDF_ENV, "1")
    with pytest.raises(KeystoreError, match=keystore.WEAK_KEYS_ENV):
        keystore.default_cost()
    assert keystore.default_cost(allow_weak=True)[1] < 1024 * 1024  # the testnet demo's own keystores
    monkeypatch.setenv(keystore.WEAK_KEYS_ENV, "1")
    assert keystore.default_cost()[1] < 1024 * 1024


def test_damaged_or_unknown_keystore_is_exit_2(cli: Cli) -> None:
    cli.create("alice")
    path = cli.home / "wallets" / "alice.json"
    raw = json.loads(path.read_text())
    flipped = dict(raw, ciphertext=("00" if raw["ciphertext"][:2] != "00" else "11") + raw["ciphertext"][2:])
    path.write_text(json.dumps(flipped))
    result = cli("wallet", "export", "alice", "--password-file", str(cli.password_file))
    assert result.exit_code == 2
    assert "tlys1" not in result.output
    path.write_text(json.dumps(dict(raw, version=2)))
    result = cli("wallet", "export", "alice", "--password-file", str(cli.password_file))
    assert result.exit_code == 2
    assert "version" in result.output


def test_config_set_node(cli: Cli) -> None:
    assert cli.json("config", "show")["node_source"] == "built-in default"
    cli.ok("config", "set-node", "http://10.0.0.5:8080/")
    shown = cli.json("config", "show")
    assert (shown["node"], shown["node_source"]) == ("http://10.0.0.5:8080", "config.toml")
    assert cli("config", "set-node", "ftp://x").exit_code == 2
    cli.ok("config", "set-node", "--clear")
    assert cli.json("config", "show")["node"] == "http://127.0.0.1:8080"


def test_every_command_has_help_with_examples(cli: Cli) -> None:
    commands = [["balance"], ["send"], ["history"]]
    commands += [["wallet", c] for c in ("create", "import", "list", "address", "export", "use", "rm")]
    commands += [["contact", c] for c in ("add", "list", "rm")]
    commands += [["tx", c] for c in ("status", "show", "sign", "submit")]
    commands += [["currency", c] for c in ("create", "info", "admit", "set-limit", "mint", "redeem")]
    commands += [["account", c] for c in ("show", "set-signers")]
    commands += [["config", c] for c in ("show", "set-node")]
    for command in commands:
        result = cli(*command, "--help")
        assert result.exit_code == 0, command
        assert "Examples" in result.output or "Example" in result.output, command
        assert "tally " + command[0] in result.output, command
        assert "--json" in result.output, command


def test_import_with_the_legacy_path_opens_a_wallet_made_before_the_change(cli: Cli) -> None:
    """Words from a wallet created when Tally derived along m/44'/1729'/0' (Tezos's coin type):
    a plain import gives another account, --legacy-path gives back the old one."""
    phrase = "abandon " * 23 + "art"
    pw = ["--password-file", str(cli.password_file)]
    now = cli.json("wallet", "import", "new", *pw, input=phrase + "\n")
    assert now["address"] == "tly1f84f4u8aa3yyanmq9equ0wskf2fr9ltkkgtzk5y7nvxcu5sf0qrsku5yy7"
    assert now["derivation_path"] == "m/44'/82559'/0'"
    old = cli.json("wallet", "import", "old", "--legacy-path", *pw, input=phrase + "\n")
    assert old["address"] == "tly17qgwq952taxq83ty97ztqckalu06sncjydrym033pcjd9k4f8rkseqmg7s"
    assert old["derivation_path"] == "m/44'/1729'/0'"
    hint = cli("wallet", "import", "again", *pw, input=phrase + "\n")
    assert "--legacy-path" in hint.stderr
    secret = cli.json("wallet", "export", "old", *pw)["secret"]
    refused = cli("wallet", "import", "seeded", "--legacy-path", *pw, input=secret + "\n")
    assert refused.exit_code == 2
    assert "--legacy-path is for recovery phrases" in refused.output
