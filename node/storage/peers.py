"""The peer table's own area of the node's database: the signed records of peers it learnt.

Keys (beside the ledger's, never inside a ledger's WriteBatch):

  ``p:`` node key32                          the peer's signed record, as received

A restarted node dials the peers it knew (``node.discovery``), so it does not depend on its
bootstrap peers alone. What is read back is decoded and checked again like any input.
"""

from __future__ import annotations

from typing import Any

import plyvel

from node.errors import StorageError

_RECORDS = b"p:"


class PeerArea:
    """Reads and writes the ``p:`` keys of the store's LevelDB handle."""

    def __init__(self, db: Any) -> None:
        self._db = db

    def save(self, node_key: bytes, raw: bytes) -> None:
        try:
            self._db.put(_RECORDS + node_key, raw)
        except plyvel.Error as exc:
            raise StorageError(f"saving a peer record failed: {exc}") from None

    def forget(self, node_keys: list[bytes]) -> None:
        try:
            with self._db.write_batch() as batch:
                for node_key in node_keys:
                    batch.delete(_RECORDS + node_key)
        except plyvel.Error as exc:
            raise StorageError(f"forgetting peer records failed: {exc}") from None

    def records(self, limit: int) -> list[tuple[bytes, bytes]]:
        """Up to ``limit`` (node key, raw record) pairs."""
        found = []
        for key, raw in self._db.iterator(prefix=_RECORDS):
            found.append((key[len(_RECORDS) :], raw))
            if len(found) >= limit:
                break
        return found
