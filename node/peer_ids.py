"""libp2p peer ids of Ed25519 keys, computed without libp2p.

A validator's key is also its libp2p identity, so consensus code maps validators to peers with
``peer_id_for``. Only ``node/net`` may load libp2p (a heavy import with global side effects);
the herder, catch-up and the CLI use this instead. tests/node/test_peer_ids.py checks that it
gives libp2p's answer.

The id is the base58btc text of an *identity multihash* (code 0x00) of the protobuf-encoded
public key ``{Type: Ed25519 (1), Data: 32 bytes}``: libp2p inlines keys of at most 42 bytes
instead of hashing them (libp2p peer-ids spec).
"""

from __future__ import annotations

ED25519_KEY_SIZE = 32
# protobuf PublicKey: field 1 (varint) = 1 (Ed25519), field 2 (bytes) of length 32
_PROTOBUF_ED25519_PREFIX = bytes([0x08, 0x01, 0x12, ED25519_KEY_SIZE])
_IDENTITY_MULTIHASH = 0x00
_BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def peer_id_for(public_key: bytes) -> str:
    """The base58 libp2p peer id of a 32-byte Ed25519 public key.

    Raises:
        ValueError: ``public_key`` is not 32 bytes long.
    """
    if len(public_key) != ED25519_KEY_SIZE:
        raise ValueError("an Ed25519 public key has 32 bytes")
    encoded = _PROTOBUF_ED25519_PREFIX + public_key
    return base58(bytes([_IDENTITY_MULTIHASH, len(encoded)]) + encoded)


def base58(data: bytes) -> str:
    """Bitcoin's base58 alphabet (what libp2p uses for peer ids); leading zero bytes become '1'."""
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rest = divmod(number, 58)
        digits.append(_BASE58_ALPHABET[rest])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(digits))
