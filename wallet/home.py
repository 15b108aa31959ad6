"""The wallet's home folder (``$TALLY_HOME``, default ``~/.tally``)::

    config.toml        [wallet] default = "alice"     [node] url = "http://127.0.0.1:8080"
    contacts.toml      [contacts] bob = "tly1…"
    wallets/NAME.json  one encrypted keystore per wallet (see wallet.keystore)

``$TALLY_HOME`` and ``wallets/`` are created 0700, and an existing one that group or others may
enter is tightened to 0700 before the wallet writes into it: the keystores are encrypted, but
which wallets exist, their addresses and the contacts are the member's own business.

Names of wallets and contacts: 1–32 characters of letters, digits, ``-``, ``_`` and ``.``,
starting with a letter or digit, never shaped like an address. Wherever the CLI expects an
address, a wallet name or a contact name works too (wallets first).
"""

from __future__ import annotations

import json
import os
import re
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protocol.addresses import decode_account, encode_account, looks_like_address
from protocol.errors import AddressError
from wallet.errors import BadInput, KeystoreError
from wallet.keystore import Keystore, load_keystore, save_keystore, write_private

HOME_ENV = "TALLY_HOME"
NODE_ENV = "TALLY_NODE"
DEFAULT_NODE_URL = "http://127.0.0.1:8080"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")


def check_name(name: str, what: str = "wallet") -> str:
    if not _NAME.fullmatch(name) or looks_like_address(name) or name.lower().startswith(("tly1", "tlys1")):
        raise BadInput(
            f"{name!r} is not a usable {what} name: use 1-32 letters, digits, '-', '_' or '.'",
            code="bad_name",
        )
    return name


def parse_address(text: str) -> bytes:
    """Decode a ``tly1…`` address, turning protocol errors into BadInput (exit 2)."""
    try:
        return decode_account(text)
    except AddressError as exc:
        raise BadInput(f"bad address {text!r}: {exc}", code="bad_address") from None


@dataclass(frozen=True, slots=True)
class Home:
    root: Path

    @classmethod
    def from_env(cls) -> Home:
        return cls(Path(os.environ.get(HOME_ENV) or Path.home() / ".tally").expanduser())

    # -- files -----------------------------------------------------------------------------------

    @property
    def wallets_dir(self) -> Path:
        return self.root / "wallets"

    def wallet_path(self, name: str) -> Path:
        return self.wallets_dir / f"{check_name(name)}.json"

    def _read_toml(self, name: str) -> dict[str, Any]:
        path = self.root / name
        try:
            return tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise BadInput(f"cannot read {path}: {exc}", code="bad_config") from None

    def _write_toml(self, name: str, tables: dict[str, dict[str, str]], header: str) -> None:
        lines = [header]
        for table, values in tables.items():
            if not values:
                continue
            lines.append(f"\n[{table}]")
            lines.extend(f"{_toml_key(key)} = {json.dumps(value)}" for key, value in sorted(values.items()))
        private_dir(self.root)
        write_private(self.root / name, "\n".join(lines) + "\n")

    # -- config ----------------------------------------------------------------------------------

    def config(self) -> dict[str, dict[str, str]]:
        raw = self._read_toml("config.toml")
        return {
            table: {k: str(v) for k, v in values.items()}
            for table, values in raw.items()
            if isinstance(values, dict)
        }

    def set_config(self, table: str, key: str, value: str | None) -> None:
        config = self.config()
        section = config.setdefault(table, {})
        if value is None:
            section.pop(key, None)
        else:
            section[key] = value
        self._write_toml("config.toml", config, "# Tally wallet settings (tally wallet use / --node)")

    def default_wallet(self) -> str | None:
        return self.config().get("wallet", {}).get("default")

    def node_url(self, explicit: str | None = None) -> str:
        """``--node``, else ``$TALLY_NODE``, else config.toml ``[node] url``, else the local default."""
        url = (
            explicit
            or os.environ.get(NODE_ENV)
            or self.config().get("node", {}).get("url")
            or DEFAULT_NODE_URL
        )
        return url.rstrip("/")

    # -- wallets ---------------------------------------------------------------------------------

    def wallet_names(self) -> list[str]:
        if not self.wallets_dir.is_dir():
            return []
        return sorted(p.stem for p in self.wallets_dir.glob("*.json") if _NAME.fullmatch(p.stem))

    def has_wallet(self, name: str) -> bool:
        return _NAME.fullmatch(name) is not None and (self.wallets_dir / f"{name}.json").is_file()

    def load_wallet(self, name: str) -> Keystore:
        if not self.has_wallet(name):
            raise KeystoreError(f"no wallet named {name!r} (see `tally wallet list`)", code="no_wallet")
        return load_keystore(self.wallet_path(name))

    def save_wallet(self, name: str, store: Keystore, *, overwrite: bool = False) -> Path:
        path = self.wallet_path(name)
        if path.exists() and not overwrite:
            raise BadInput(f"a wallet named {name!r} already exists", code="wallet_exists")
        private_dir(self.root)
        private_dir(self.wallets_dir)
        save_keystore(path, store)
        return path

    def resolve_wallet(self, name: str | None) -> str:
        """The wallet to use: the given name, else the default, else the only one."""
        if name:
            if not self.has_wallet(name):
                raise KeystoreError(f"no wallet named {name!r} (see `tally wallet list`)", code="no_wallet")
            return name
        default = self.default_wallet()
        if default and self.has_wallet(default):
            return default
        names = self.wallet_names()
        if len(names) == 1:
            return names[0]
        if not names:
            raise BadInput("no wallet yet: create one with `tally wallet create NAME`", code="no_wallet")
        raise BadInput(
            "several wallets and no default: pass --wallet NAME or run `tally wallet use NAME`",
            code="no_wallet",
        )

    # -- contacts --------------------------------------------------------------------------------

    def contacts(self) -> dict[str, str]:
        raw = self._read_toml("contacts.toml").get("contacts", {})
        return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}

    def set_contact(self, name: str, address: str | None) -> None:
        contacts = self.contacts()
        if address is None:
            contacts.pop(name, None)
        else:
            contacts[check_name(name, "contact")] = address
        self._write_toml("contacts.toml", {"contacts": contacts}, "# Tally contacts: name = address")

    # -- names → addresses -----------------------------------------------------------------------

    def resolve_address(self, text: str) -> bytes:
        """An address, a wallet name or a contact name → the account's public key.

        Text shaped like an address is always decoded as one, so a typo is reported (with the
        checksum failure) instead of being looked up as a name.
        """
        cleaned = text.strip()
        if looks_like_address(cleaned) or cleaned.lower().startswith("tly1"):
            return parse_address(cleaned)
        if self.has_wallet(cleaned):
            return parse_address(self.load_wallet(cleaned).address)
        contact = self.contacts().get(cleaned)
        if contact is not None:
            return parse_address(contact)
        raise BadInput(
            f"{text!r} is neither an address (tly1…) nor a wallet or contact name", code="unknown_name"
        )

    def name_of(self, public_key: bytes) -> str | None:
        """A wallet or contact name for an address, for friendlier output."""
        address = encode_account(public_key)
        for name in self.wallet_names():
            try:
                if load_keystore(self.wallet_path(name)).address == address:
                    return name
            except KeystoreError:
                continue
        for name, contact in self.contacts().items():
            if contact == address:
                return name
        return None


def private_dir(path: Path) -> None:
    """Create ``path`` with mode 0700, or take group's and others' access away from an existing one."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            path.chmod(mode & stat.S_IRWXU)
    except OSError as exc:
        raise BadInput(
            f"cannot make {path} private (mode 0700): {exc.strerror or exc}; fix it with `chmod 700 {path}`",
            code="bad_home",
        ) from None


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)
