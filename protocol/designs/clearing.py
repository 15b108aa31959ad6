"""Clearing accounts: where one community's money waits for another's in an exchange.

Each community keeps one clearing account per partner community, in its own currency, at an
address derived from the two codes (as the commons fund's is): the same on every node, and no
transaction can ever be signed by it. Its holding has the role ``clearing``: it is no member, pays
no demurrage, and moves only through exchanges (``protocol.designs.exchange``).

A clearing account's balance is the community's position towards its partner: positive when its
members paid in more than they received through the exchange (the community owes its partner that
much of its own currency), negative when its members received more (the partner owes it).
"""

from __future__ import annotations

import functools

from protocol.hashing import blake2b256

PERSON_CLEARING = b"tally.clearing"


@functools.lru_cache(maxsize=1024)
def clearing_address(code: str, partner: str) -> bytes:
    """The 32-byte account holding ``code`` on behalf of ``code``'s exchange with ``partner``."""
    return blake2b256(f"clearing account of {code} with {partner}".encode(), PERSON_CLEARING)
