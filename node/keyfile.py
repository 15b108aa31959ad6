"""Secret key files: one ``tlys1…`` line, created with mode 0600 and never printed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from node.errors import ConfigError
from protocol.addresses import decode_secret, encode_secret
from protocol.errors import AddressError
from protocol.keys import Keypair


def write_key_file(path: Path, keypair: Keypair) -> None:
    """Create ``path`` holding the secret seed; refuse to overwrite an existing key."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise ConfigError(f"{path} already exists; refusing to overwrite a key") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(encode_secret(keypair.seed) + "\n")


def read_key_file(path: Path) -> Keypair:
    """Load a key file. Refuses files other users can read: a leaked validator key lets anyone
    vote (and equivocate) in this validator's name."""
    try:
        mode = path.stat().st_mode
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read key file {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"key file {path} is readable by other users; run: chmod 600 {path}")
    try:
        return Keypair(decode_secret(text.strip()))
    except AddressError as exc:
        raise ConfigError(f"key file {path} does not hold a secret seed: {exc}") from None


def read_admin_token(path: Path) -> str:
    """Load the API admin token. Refuses a token file other users can read (they could call the
    admin endpoints) and an empty one (which would leave the admin endpoints without a secret)."""
    try:
        mode = path.stat().st_mode
        text = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read admin token file {path}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"admin token file {path} is readable by other users; run: chmod 600 {path}")
    if not text:
        raise ConfigError(f"admin token file {path} is empty; put a long random secret in it")
    return text
