"""Transaction sets known to this node, by hash: the ones it proposed, fetched, or is applying.

Bounded: only sets for recent slots matter (older ones live in the ledger database).
"""

from __future__ import annotations

from collections import OrderedDict

from protocol.ledger import TxSet


class TxSetCache:
    """Tx sets by hash, the most recently added kept when over ``capacity``."""

    def __init__(self, capacity: int = 64) -> None:
        self._sets: OrderedDict[bytes, TxSet] = OrderedDict()
        self._capacity = capacity

    def add(self, tx_set: TxSet) -> bytes:
        tx_set_hash = tx_set.hash
        self._sets[tx_set_hash] = tx_set
        self._sets.move_to_end(tx_set_hash)
        while len(self._sets) > self._capacity:
            self._sets.popitem(last=False)
        return tx_set_hash

    def get(self, tx_set_hash: bytes) -> TxSet | None:
        return self._sets.get(tx_set_hash)

    def __contains__(self, tx_set_hash: bytes) -> bool:
        return tx_set_hash in self._sets

    def keep_only_built_on(self, recent_ledgers: set[bytes]) -> None:
        """Drop sets built on ledgers other than ``recent_ledgers``.

        Sets for the last few ledgers stay: a peer a ledger or two behind still asks for them
        while it finishes the slot.
        """
        for key in [k for k, s in self._sets.items() if s.previous_hash not in recent_ledgers]:
            del self._sets[key]
