"""BLAKE2b-256 with a personalisation per purpose, and the network ID.

Personalisation (BLAKE2's built-in domain separation) makes a transaction hash, a ledger header
hash and an SCP signing payload different functions, so bytes valid in one role can never be
passed off as another.
"""

from __future__ import annotations

import hashlib

HASH_SIZE = 32

PERSON_TX = b"tally.tx"
PERSON_TX_SET = b"tally.txset"
PERSON_HEADER = b"tally.header"
PERSON_RESULTS = b"tally.results"
PERSON_VALUE = b"tally.value"
PERSON_SCP = b"tally.scp"


def blake2b256(data: bytes, person: bytes = b"") -> bytes:
    """BLAKE2b with a 32-byte digest, personalised with ``person`` (at most 16 bytes)."""
    return hashlib.blake2b(data, digest_size=HASH_SIZE, person=person).digest()


def network_id(passphrase: str) -> bytes:
    """The 32-byte network ID: BLAKE2b-256 of the UTF-8 network passphrase.

    Every signature covers it, so a testnet transaction or vote can never be replayed on another
    network.
    """
    if not passphrase:
        raise ValueError("the network passphrase must not be empty")
    return blake2b256(passphrase.encode("utf-8"))


def scp_signing_payload(network: bytes, statement_bytes: bytes) -> bytes:
    """What a validator signs for an SCP statement: a hash over network ID and statement."""
    return blake2b256(network + statement_bytes, PERSON_SCP)
