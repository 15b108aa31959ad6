"""The encrypted keystore: one JSON file per wallet, holding the 32-byte Ed25519 seed.

Format (version 1), a JSON object::

    {
      "version": 1,                      # format version; unknown versions are refused
      "kdf": "argon2id",                 # key derivation: libsodium crypto_pwhash Argon2id 1.3
      "opslimit": 3, "memlimit": 134217728,   # its cost parameters (3 passes over 128 MiB by default)
      "salt": "<hex, 16 bytes>",
      "cipher": "xsalsa20poly1305",      # libsodium secretbox (authenticated encryption)
      "nonce": "<hex, 24 bytes>",
      "ciphertext": "<hex, 48 bytes>",   # secretbox(seed, nonce, key = Argon2id(password, salt))
      "address": "tly1…",                # the public address, readable without the password
      "created": "2026-11-29T21:40:00Z"
    }

The key is derived with ``nacl.pwhash.argon2id.kdf(32, password, salt, opslimit, memlimit)``.
A wrong password fails the secretbox authentication and raises ``WrongPassword``; nothing is
written. Files are written atomically (temporary file + rename) with mode 0600.

Setting ``TALLY_INSECURE_FAST_KDF=1`` uses libsodium's minimum cost (for tests only): such a
keystore gives up its password to a guessing attack in no time, so the switch is refused unless
``TALLY_I_UNDERSTAND_WEAK_KEYS=1`` is set too (the testnet demo, whose password is printed for all
to see anyway, may use it without). The parameters are stored in the file, so such a file still
opens without either variable.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.pwhash.argon2id as argon2id
import nacl.secret
import nacl.utils

from protocol.addresses import encode_account
from protocol.keys import SEED_SIZE, Keypair
from wallet.errors import KeystoreError, WrongPassword

VERSION = 1
KDF = "argon2id"
CIPHER = "xsalsa20poly1305"
FAST_KDF_ENV = "TALLY_INSECURE_FAST_KDF"
WEAK_KEYS_ENV = "TALLY_I_UNDERSTAND_WEAK_KEYS"  # the override for weak local secrets (also --password-file)
# 3 passes over 128 MiB: about half a second on a laptop, between libsodium's INTERACTIVE (64 MiB)
# and MODERATE (256 MiB, several seconds on small machines) levels.
DEFAULT_OPSLIMIT = 3
DEFAULT_MEMLIMIT = 128 * 1024 * 1024
# Bounds on the stored cost, so a crafted file cannot make the wallet allocate without limit.
MAX_MEMLIMIT = 4 * 1024 * 1024 * 1024
MAX_OPSLIMIT = 64


@dataclass(frozen=True, slots=True)
class Keystore:
    """A parsed keystore file (still encrypted)."""

    address: str
    opslimit: int
    memlimit: int
    salt: bytes
    nonce: bytes
    ciphertext: bytes
    created: str

    def to_json(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "kdf": KDF,
            "opslimit": self.opslimit,
            "memlimit": self.memlimit,
            "salt": self.salt.hex(),
            "cipher": CIPHER,
            "nonce": self.nonce.hex(),
            "ciphertext": self.ciphertext.hex(),
            "address": self.address,
            "created": self.created,
        }


def weak_keys_allowed() -> bool:
    """True when the user explicitly accepted weak local secrets (``TALLY_I_UNDERSTAND_WEAK_KEYS=1``)."""
    return os.environ.get(WEAK_KEYS_ENV) == "1"


def default_cost(*, allow_weak: bool = False) -> tuple[int, int]:
    """(opslimit, memlimit) for new keystores.

    Raises:
        KeystoreError: ``TALLY_INSECURE_FAST_KDF=1`` without ``TALLY_I_UNDERSTAND_WEAK_KEYS=1``
            (and not ``allow_weak``): a keystore anyone could crack must never be made by accident.
    """
    if os.environ.get(FAST_KDF_ENV) != "1":
        return DEFAULT_OPSLIMIT, DEFAULT_MEMLIMIT
    if not (allow_weak or weak_keys_allowed()):
        raise KeystoreError(
            f"{FAST_KDF_ENV}=1 would write a keystore whose password can be guessed in no time (it is "
            f"for tests only): unset it, or also set {WEAK_KEYS_ENV}=1 if this key will never hold value",
            code="weak_keys_refused",
        )
    return argon2id.OPSLIMIT_MIN, argon2id.MEMLIMIT_MIN


def is_weak(store: Keystore) -> bool:
    """A keystore made with less than the default cost (``TALLY_INSECURE_FAST_KDF``)."""
    return store.opslimit < DEFAULT_OPSLIMIT or store.memlimit < DEFAULT_MEMLIMIT


def _derive_key(password: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    return bytes(
        argon2id.kdf(
            nacl.secret.SecretBox.KEY_SIZE,
            password.encode("utf-8"),
            salt,
            opslimit=opslimit,
            memlimit=memlimit,
        )
    )


def encrypt_seed(seed: bytes, password: str, *, allow_weak: bool = False) -> Keystore:
    """A new keystore holding ``seed`` under ``password`` (fresh salt and nonce); ``allow_weak``
    lets ``TALLY_INSECURE_FAST_KDF`` through without the override (the testnet demo only)."""
    if len(seed) != SEED_SIZE:
        raise ValueError(f"a seed is {SEED_SIZE} bytes")
    if not password:
        raise WrongPassword("the password must not be empty", code="empty_password")
    opslimit, memlimit = default_cost(allow_weak=allow_weak)
    salt = nacl.utils.random(argon2id.SALTBYTES)
    nonce = nacl.utils.random(nacl.secret.SecretBox.NONCE_SIZE)
    box = nacl.secret.SecretBox(_derive_key(password, salt, opslimit, memlimit))
    ciphertext = box.encrypt(seed, nonce).ciphertext
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Keystore(
        encode_account(Keypair(seed).public_key), opslimit, memlimit, salt, nonce, bytes(ciphertext), created
    )


def decrypt_seed(store: Keystore, password: str) -> bytes:
    """The seed inside ``store``. Raises WrongPassword (or KeystoreError for a corrupt file)."""
    key = _derive_key(password, store.salt, store.opslimit, store.memlimit)
    try:
        seed = bytes(nacl.secret.SecretBox(key).decrypt(store.ciphertext, store.nonce))
    except nacl.exceptions.CryptoError:
        raise WrongPassword("wrong password for this wallet (nothing was changed)") from None
    if len(seed) != SEED_SIZE or encode_account(Keypair(seed).public_key) != store.address:
        raise KeystoreError("the keystore decrypts, but not to the key of its address: the file is damaged")
    return seed


def parse_keystore(data: Any, where: str) -> Keystore:
    if not isinstance(data, dict):
        raise KeystoreError(f"{where}: not a keystore (expected a JSON object)")
    if data.get("version") != VERSION:
        raise KeystoreError(
            f"{where}: unknown keystore version {data.get('version')!r} (this wallet reads {VERSION})"
        )
    if data.get("kdf") != KDF or data.get("cipher", CIPHER) != CIPHER:
        raise KeystoreError(f"{where}: unsupported key derivation or cipher")
    try:
        opslimit, memlimit = data["opslimit"], data["memlimit"]
        if not (isinstance(opslimit, int) and isinstance(memlimit, int)):
            raise TypeError
        if not (
            argon2id.OPSLIMIT_MIN <= opslimit <= MAX_OPSLIMIT
            and argon2id.MEMLIMIT_MIN <= memlimit <= MAX_MEMLIMIT
        ):
            raise KeystoreError(f"{where}: key derivation cost out of range")
        salt, nonce = bytes.fromhex(data["salt"]), bytes.fromhex(data["nonce"])
        ciphertext = bytes.fromhex(data["ciphertext"])
        address = str(data["address"])
    except (KeyError, TypeError, ValueError):
        raise KeystoreError(f"{where}: a field is missing or malformed") from None
    if len(salt) != argon2id.SALTBYTES or len(nonce) != nacl.secret.SecretBox.NONCE_SIZE:
        raise KeystoreError(f"{where}: salt or nonce has the wrong length")
    return Keystore(address, opslimit, memlimit, salt, nonce, ciphertext, str(data.get("created", "")))


def load_keystore(path: Path) -> Keystore:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeystoreError(f"no keystore at {path}") from None
    except (OSError, ValueError) as exc:
        raise KeystoreError(f"cannot read keystore {path}: {exc}") from None
    return parse_keystore(data, str(path))


def save_keystore(path: Path, store: Keystore) -> None:
    write_private(path, json.dumps(store.to_json(), indent=2) + "\n")


def write_private(path: Path, text: str) -> None:
    """Atomically write ``text`` to ``path`` with mode 0600 (readable by the owner only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
