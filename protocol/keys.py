"""Ed25519 keys (libsodium through pynacl) and the recovery-phrase derivation.

Key *generation* needs randomness, which the pure layer does not own: callers pass entropy in
(the wallet draws it from the OS). Everything here is deterministic.

Recovery phrase → key (documented in README):
  1. the 24-word BIP-39 phrase (English list, checksum verified) and an empty passphrase give the
     64-byte BIP-39 seed (PBKDF2-HMAC-SHA512, 2048 rounds, salt "mnemonic");
  2. SLIP-0010 Ed25519 derivation from that seed along the hardened path m/44'/82559'/0' gives a
     32-byte Ed25519 seed. 82559 ("TALLY" on a phone keypad) is a coin type no coin in the
     SLIP-0044 registry uses (checked against satoshilabs/slips at 73c23ac, August 2026), so the
     same 24 words never give a key another wallet family derives on its own path;
  3. that seed is the account's secret key (its ``tlys1…`` text form).

Wallets created before this path was chosen used m/44'/1729'/0' (``LEGACY_DERIVATION_PATH``);
1729 is Tezos's registered coin type. Their words still work: ``tally wallet import
--legacy-path`` derives along the old path and gives back the same account.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

import nacl.bindings
import nacl.exceptions
import nacl.signing
from mnemonic import Mnemonic

from protocol.errors import MnemonicError

PUBLIC_KEY_SIZE = 32
SEED_SIZE = 32
SIGNATURE_SIZE = 64
MNEMONIC_WORDS = 24
DERIVATION_PATH = (44, 82559, 0)
LEGACY_DERIVATION_PATH = (44, 1729, 0)  # Tezos's registered coin type: for words written down before

_HARDENED = 0x8000_0000
_english = Mnemonic("english")


class Keypair:
    """An Ed25519 signing key and its public key."""

    __slots__ = ("_signing", "public_key")

    def __init__(self, seed: bytes) -> None:
        if len(seed) != SEED_SIZE:
            raise ValueError(f"an Ed25519 seed is {SEED_SIZE} bytes, got {len(seed)}")
        self._signing = nacl.signing.SigningKey(seed)
        self.public_key: bytes = bytes(self._signing.verify_key)

    @property
    def seed(self) -> bytes:
        """The 32-byte secret seed (keep it secret)."""
        return bytes(self._signing)

    def sign(self, message: bytes) -> bytes:
        """A detached 64-byte signature of ``message``."""
        return self._signing.sign(message).signature

    def __repr__(self) -> str:  # never print secrets
        return f"Keypair(public_key={self.public_key.hex()[:16]}…)"


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True when ``signature`` is a valid Ed25519 signature of ``message`` by ``public_key``."""
    if len(public_key) != PUBLIC_KEY_SIZE or len(signature) != SIGNATURE_SIZE:
        return False
    try:
        nacl.bindings.crypto_sign_open(signature + message, public_key)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, nacl.exceptions.TypeError):
        return False
    return True


def mnemonic_from_entropy(entropy: bytes) -> str:
    """The 24-word recovery phrase for 32 bytes of entropy."""
    if len(entropy) != 32:
        raise ValueError("a 24-word phrase needs exactly 32 bytes of entropy")
    return str(_english.to_mnemonic(entropy))


def normalize_mnemonic(phrase: str) -> str:
    """Lower-case the phrase and collapse whitespace; check words, count and checksum.

    Raises:
        MnemonicError: with the first unknown word, the wrong count, or a checksum failure.
    """
    words = phrase.lower().split()
    if len(words) != MNEMONIC_WORDS:
        raise MnemonicError(f"a recovery phrase has {MNEMONIC_WORDS} words, this one has {len(words)}")
    known = set(_english.wordlist)
    for position, word in enumerate(words, start=1):
        if word not in known:
            raise MnemonicError(f"word {position} ({word!r}) is not in the BIP-39 English word list")
    normalized = " ".join(words)
    if not _english.check(normalized):
        raise MnemonicError("the phrase's checksum does not match: a word is wrong or out of order")
    return normalized


def seed_from_mnemonic(phrase: str, *, path: tuple[int, ...] = DERIVATION_PATH) -> bytes:
    """The account's 32-byte Ed25519 seed for a recovery phrase (see the module docstring);
    ``path`` is ``LEGACY_DERIVATION_PATH`` only for words from wallets made before the change."""
    bip39_seed = Mnemonic.to_seed(normalize_mnemonic(phrase), passphrase="")
    return _slip10_ed25519(bip39_seed, path)


def keypair_from_mnemonic(phrase: str) -> Keypair:
    return Keypair(seed_from_mnemonic(phrase))


def _slip10_ed25519(seed: bytes, path: tuple[int, ...]) -> bytes:
    """SLIP-0010 Ed25519 derivation (hardened steps only, as Ed25519 requires)."""
    digest = hmac.new(b"ed25519 seed", seed, hashlib.sha512).digest()
    key, chain_code = digest[:32], digest[32:]
    for index in path:
        data = b"\x00" + key + struct.pack(">I", index | _HARDENED)
        digest = hmac.new(chain_code, data, hashlib.sha512).digest()
        key, chain_code = digest[:32], digest[32:]
    return key
