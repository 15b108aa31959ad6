"""The commons fund: one account per currency that nobody holds a key for.

Its address is derived from the currency code by a personalised hash, so it is the same on every
node, needs no registration, and no transaction can ever be signed by it (a signature needs the
private key of an Ed25519 point; this is a hash output, not a key anyone generated). Money enters
it from demurrage, the levy, expelled members' balances, leavers' remainders and gifts, and leaves
it only through a passed proposal's ``pay_from_fund`` action.
"""

from __future__ import annotations

import functools

from protocol.hashing import blake2b256

PERSON_FUND = b"tally.fund"


@functools.lru_cache(maxsize=1024)
def fund_address(code: str) -> bytes:
    """The 32-byte account of ``code``'s commons fund."""
    return blake2b256(b"commons fund of " + code.encode("utf-8"), PERSON_FUND)
