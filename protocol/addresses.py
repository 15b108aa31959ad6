"""Human-readable text forms of keys: bech32m with a type prefix and a checksum.

``tly1…`` account addresses, ``tlyv1…`` validator ids, ``tlys1…`` secret seeds. The bech32m
checksum detects any single mistyped character (indeed up to four), so a typo is reported, never
silently turned into somebody else's address.
"""

from __future__ import annotations

from bech32m.codecs import CHARSET, DecodeError, Encoding, bech32_decode, bech32_encode, convertbits

from protocol.errors import AddressError

ACCOUNT_PREFIX = "tly"
VALIDATOR_PREFIX = "tlyv"
SECRET_PREFIX = "tlys"

_NAMES = {
    ACCOUNT_PREFIX: "an account address",
    VALIDATOR_PREFIX: "a validator id",
    SECRET_PREFIX: "a secret seed",
}


def encode_account(public_key: bytes) -> str:
    return _encode(ACCOUNT_PREFIX, public_key)


def decode_account(text: str) -> bytes:
    """The 32-byte public key of a ``tly1…`` address. Raises AddressError naming the problem."""
    return _decode(text, ACCOUNT_PREFIX)


def encode_validator(public_key: bytes) -> str:
    return _encode(VALIDATOR_PREFIX, public_key)


def decode_validator(text: str) -> bytes:
    return _decode(text, VALIDATOR_PREFIX)


def encode_secret(seed: bytes) -> str:
    return _encode(SECRET_PREFIX, seed)


def decode_secret(text: str) -> bytes:
    return _decode(text, SECRET_PREFIX)


def looks_like_address(text: str) -> bool:
    """True when ``text`` has the shape of some Tally key text (so a typo in it is an error,
    not a wallet or contact name)."""
    lowered = text.strip().lower()
    return any(lowered.startswith(prefix + "1") and len(lowered) > 20 for prefix in _NAMES)


def _encode(prefix: str, key: bytes) -> str:
    if len(key) != 32:
        raise ValueError(f"expected a 32-byte key, got {len(key)} bytes")
    return str(bech32_encode(prefix, bytes(convertbits(key, 8, 5)), Encoding.BECH32M))


def _decode(text: str, prefix: str) -> bytes:
    wanted = _NAMES[prefix]
    cleaned = text.strip()
    if not cleaned:
        raise AddressError(f"expected {wanted}, got an empty string")
    if cleaned.lower() != cleaned and cleaned.upper() != cleaned:
        raise AddressError(f"{cleaned!r} mixes upper- and lower-case letters; {wanted} uses one case")
    lowered = cleaned.lower()
    separator = lowered.rfind("1")
    found_prefix = lowered[:separator] if separator > 0 else ""
    if found_prefix != prefix:
        if found_prefix in _NAMES:
            raise AddressError(
                f"this is {_NAMES[found_prefix]} ({found_prefix}1…), not {wanted} ({prefix}1…)"
            )
        raise AddressError(f"{cleaned!r} is not {wanted}: it should start with {prefix}1")
    for position, char in enumerate(lowered[separator + 1 :], start=separator + 2):
        if char not in CHARSET:
            raise AddressError(f"character {position} ({char!r}) never appears in {wanted}: is it mistyped?")
    try:
        _hrp, data, spec = bech32_decode(lowered)
    except DecodeError:
        raise AddressError(
            f"the checksum of {wanted} does not match: a character is mistyped, missing or extra"
        ) from None
    if spec != Encoding.BECH32M:
        raise AddressError(f"{wanted} uses the bech32m checksum; this text does not match it")
    try:
        key = bytes(convertbits(data, 5, 8, False))
    except DecodeError:
        raise AddressError(f"{wanted} has the wrong length") from None
    if len(key) != 32:
        raise AddressError(f"{wanted} has the wrong length ({len(key)} bytes instead of 32)")
    return key
