"""``tally wallet …``: create, import, list, address, export, use, rm."""

from __future__ import annotations

import sys
from typing import Annotated

import nacl.utils
import typer
from rich.console import Console
from rich.table import Table

from protocol.addresses import decode_secret, encode_secret
from protocol.errors import AddressError, MnemonicError
from protocol.keys import DERIVATION_PATH, LEGACY_DERIVATION_PATH, mnemonic_from_entropy, seed_from_mnemonic
from wallet.cli.common import Session, session
from wallet.cli.options import JsonOpt, PasswordFileOpt, YesOpt
from wallet.errors import BadInput
from wallet.home import check_name
from wallet.keystore import FAST_KDF_ENV, Keystore, decrypt_seed, default_cost, encrypt_seed, is_weak

app = typer.Typer(
    name="wallet",
    no_args_is_help=True,
    help="Your keys: create, import, list, show and back up wallets (encrypted keystores in $TALLY_HOME/wallets).",
)


def _path(steps: tuple[int, ...]) -> str:
    """(44, 82559, 0) → "m/44'/82559'/0'" (every step hardened)."""
    return "m/" + "/".join(f"{step}'" for step in steps)


NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The wallet's name (letters, digits, - _ .).")]


@app.command("create")
def create(
    name: NameArg,
    password_file: PasswordFileOpt = None,
    set_default: Annotated[
        bool,
        typer.Option(
            "--default/--no-default", help="Make it the default wallet (automatic for the first one)."
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a new wallet: prints its address and its 24-word recovery phrase ONCE.

    Write the phrase down on paper: it is the only way back into the account if this computer or
    the password is lost. The key is stored encrypted with your password (Argon2id + secretbox).

    Examples:
      tally wallet create alice
      tally wallet create shop --password-file pw.txt --json
    """
    with session(as_json) as s:
        check_name(name)
        if s.home.has_wallet(name):
            raise BadInput(f"a wallet named {name!r} already exists", code="wallet_exists")
        default_cost()  # a refused TALLY_INSECURE_FAST_KDF is said before any secret is asked
        phrase = mnemonic_from_entropy(nacl.utils.random(32))
        seed = seed_from_mnemonic(phrase)
        password = s.password(password_file, prompt="New wallet password", confirm=True)
        store = encrypt_seed(seed, password)
        path = s.home.save_wallet(name, store)
        _warn_if_weak(s, store)
        is_default = set_default or not s.home.default_wallet()
        if is_default:
            s.home.set_config("wallet", "default", name)
        data = {
            "name": name,
            "address": store.address,
            "path": str(path),
            "default": is_default,
            "recovery_phrase": phrase,
        }

        def human(console: Console) -> None:
            console.print(f"Created wallet {name!r}" + (" (default)" if is_default else ""), markup=False)
            console.print(f"Address: {store.address}", markup=False)
            console.print("")
            console.print("[bold red]Recovery phrase — write these 24 words down now, on paper, in order.[/]")
            console.print(
                "[bold red]They are shown only this once; anyone who has them controls the account.[/]"
            )
            words = phrase.split()
            for row in range(0, 24, 6):
                console.print(
                    "  " + "  ".join(f"{i + 1:2d}. {w:<9}" for i, w in enumerate(words[row : row + 6], row)),
                    markup=False,
                )

        s.emit(data, human)


@app.command("import")
def import_(
    name: NameArg,
    password_file: PasswordFileOpt = None,
    set_default: Annotated[
        bool, typer.Option("--default/--no-default", help="Make it the default wallet.")
    ] = False,
    legacy_path: Annotated[
        bool,
        typer.Option(
            "--legacy-path",
            help=f"The words come from a wallet created by Tally 0.1.0: derive along {_path(LEGACY_DERIVATION_PATH)} "
            "as it did (the address shown on your old wallet tells: import without it first if unsure).",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Import a wallet from its 24-word recovery phrase or its secret seed (tlys1…).

    The phrase or seed is read from a hidden prompt (or from standard input when piped).
    Phrases derive the key along m/44'/82559'/0'; words from wallets created by Tally 0.1.0 used
    m/44'/1729'/0' and need --legacy-path to open the same account.

    Examples:
      tally wallet import alice
      echo "$SEED" | tally wallet import alice --password-file pw.txt
      tally wallet import old-alice --legacy-path
    """
    with session(as_json) as s:
        check_name(name)
        if s.home.has_wallet(name):
            raise BadInput(f"a wallet named {name!r} already exists", code="wallet_exists")
        default_cost()  # a refused TALLY_INSECURE_FAST_KDF is said before any secret is asked
        if sys.stdin.isatty():
            secret = str(
                typer.prompt("Recovery phrase (24 words) or secret seed (tlys1…)", hide_input=True, err=True)
            ).strip()
        else:  # piped: read one line, without getpass's "cannot control echo" warnings
            secret = sys.stdin.readline().strip()
        from_seed = secret.lower().startswith("tlys1")
        if from_seed and legacy_path:
            raise BadInput(
                "--legacy-path is for recovery phrases; a secret seed is the key itself", code="bad_usage"
            )
        derivation = None if from_seed else LEGACY_DERIVATION_PATH if legacy_path else DERIVATION_PATH
        try:
            seed = (
                decode_secret(secret) if derivation is None else seed_from_mnemonic(secret, path=derivation)
            )
        except (AddressError, MnemonicError) as exc:
            raise BadInput(f"cannot import: {exc}", code="bad_secret") from None
        password = s.password(password_file, prompt="New wallet password", confirm=True)
        store = encrypt_seed(seed, password)
        for other in s.home.wallet_names():
            if s.home.load_wallet(other).address == store.address:
                s.note(f"note: wallet {other!r} holds the same key")
        path = s.home.save_wallet(name, store)
        _warn_if_weak(s, store)
        is_default = set_default or not s.home.default_wallet()
        if is_default:
            s.home.set_config("wallet", "default", name)
        if derivation == DERIVATION_PATH:
            s.note(
                "note: if this is not the address your old wallet showed, its words may come from "
                f"Tally 0.1.0: import them again with --legacy-path ({_path(LEGACY_DERIVATION_PATH)})"
            )
        s.emit(
            {
                "name": name,
                "address": store.address,
                "path": str(path),
                "default": is_default,
                "derivation_path": None if derivation is None else _path(derivation),
            },
            [f"Imported wallet {name!r}" + (" (default)" if is_default else ""), f"Address: {store.address}"],
        )


def _warn_if_weak(s: Session, store: Keystore) -> None:
    if is_weak(store):
        s.note(
            f"warning: {FAST_KDF_ENV}=1: this keystore's password can be guessed in no time; "
            "never keep value in it"
        )


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """List the wallets in $TALLY_HOME/wallets with their addresses.

    Examples:
      tally wallet list
      tally wallet list --json
    """
    with session(as_json) as s:
        default = s.home.default_wallet()
        wallets = [
            {"name": n, "address": s.home.load_wallet(n).address, "default": n == default}
            for n in s.home.wallet_names()
        ]

        def human(console: Console) -> None:
            if not wallets:
                console.print("No wallet yet: create one with `tally wallet create NAME`.", markup=False)
                return
            table = Table("", "name", "address", box=None)
            for w in wallets:
                table.add_row("*" if w["default"] else "", str(w["name"]), str(w["address"]))
            console.print(table)

        s.emit({"wallets": wallets}, human)


@app.command("address")
def address(
    name: Annotated[
        str | None, typer.Argument(metavar="[NAME]", help="Wallet name (default wallet if omitted).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Print a wallet's address (to receive payments). No password needed.

    Examples:
      tally wallet address
      tally wallet address alice
    """
    with session(as_json) as s:
        chosen = s.home.resolve_wallet(name)
        addr = s.home.load_wallet(chosen).address
        s.emit({"name": chosen, "address": addr}, [addr])


@app.command("export")
def export(
    name: NameArg,
    password_file: PasswordFileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a wallet's secret seed (tlys1…) after asking for its password again.

    `tally wallet import` accepts the seed. Anyone who sees it controls the account.

    Examples:
      tally wallet export alice
    """
    with session(as_json) as s:
        store = s.home.load_wallet(name)
        password = s.password(password_file, prompt=f"Password of wallet {name!r}")
        secret = encode_secret(decrypt_seed(store, password))
        s.emit(
            {"name": name, "address": store.address, "secret": secret},
            [f"Secret seed of {name!r} ({store.address}) — keep it secret:", secret],
        )


@app.command("use")
def use(name: NameArg, as_json: JsonOpt = False) -> None:
    """Make NAME the default wallet for every command.

    Examples:
      tally wallet use alice
    """
    with session(as_json) as s:
        store = s.home.load_wallet(name)
        s.home.set_config("wallet", "default", name)
        s.emit({"default": name, "address": store.address}, [f"Default wallet: {name} ({store.address})"])


@app.command("rm")
def rm(name: NameArg, yes: YesOpt = False, as_json: JsonOpt = False) -> None:
    """Delete a wallet's keystore. Without its recovery phrase or seed, the account is lost.

    Examples:
      tally wallet rm old --yes
    """
    with session(as_json) as s:
        store = s.home.load_wallet(name)
        if not yes and not typer.confirm(
            f"Delete wallet {name!r} ({store.address})? Only its recovery phrase can bring it back", err=True
        ):
            raise BadInput("cancelled: nothing was deleted", code="cancelled")
        s.home.wallet_path(name).unlink()
        if s.home.default_wallet() == name:
            s.home.set_config("wallet", "default", None)
        s.emit({"removed": name, "address": store.address}, [f"Removed wallet {name!r} ({store.address})"])
