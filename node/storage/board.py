"""The board's own area of the node's database: listings and withdrawal tombstones (off-ledger).

Keys (beside the ledger's, never inside a ledger's WriteBatch: listings are not money and a
ledger must not wait for them):

  ``b:l:`` listing id32                     the listing's exact item bytes
  ``b:w:`` listing id32                     [expires_ms, the withdrawal's exact item bytes]

The board (``node.board``) keeps everything in memory and writes through to here, so a restarted
node still shows its board. What is read back is decoded and checked again like any input.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import plyvel

from node.errors import StorageError
from protocol import codec
from protocol.errors import DecodeError
from protocol.listings import MAX_ITEM_BYTES

_LISTINGS = b"b:l:"
_WITHDRAWALS = b"b:w:"


class BoardArea:
    """Reads and writes the ``b:`` keys of the store's LevelDB handle."""

    def __init__(self, db: Any) -> None:
        self._db = db

    def save_listing(self, listing_id: bytes, raw: bytes) -> None:
        self._put(_LISTINGS + listing_id, raw)

    def save_withdrawal(self, listing_id: bytes, expires_ms: int, raw: bytes) -> None:
        """Store the tombstone and forget the listing, in one write."""
        try:
            with self._db.write_batch(transaction=True) as batch:
                batch.delete(_LISTINGS + listing_id)
                batch.put(_WITHDRAWALS + listing_id, codec.pack((expires_ms, raw)))
        except plyvel.Error as exc:
            raise StorageError(f"saving a board withdrawal failed: {exc}") from None

    def forget(self, listing_ids: list[bytes]) -> None:
        """Drop expired listings and tombstones."""
        try:
            with self._db.write_batch() as batch:
                for listing_id in listing_ids:
                    batch.delete(_LISTINGS + listing_id)
                    batch.delete(_WITHDRAWALS + listing_id)
        except plyvel.Error as exc:
            raise StorageError(f"pruning the board failed: {exc}") from None

    def listings(self) -> Iterator[bytes]:
        for _, raw in self._db.iterator(prefix=_LISTINGS):
            yield bytes(raw)

    def withdrawals(self) -> Iterator[tuple[int, bytes]]:
        """(the withdrawn listing's expiry, the withdrawal's bytes); unreadable records are skipped."""
        for _, raw in self._db.iterator(prefix=_WITHDRAWALS):
            try:
                expires_ms, item = codec.array(
                    codec.unpack(bytes(raw), max_size=MAX_ITEM_BYTES + 32, max_bin=MAX_ITEM_BYTES),
                    2,
                    "stored withdrawal",
                )
                yield codec.integer(expires_ms, "expiry", hi=codec.UINT64_MAX), codec.blob(item, "withdrawal")
            except DecodeError:
                continue

    def _put(self, key: bytes, value: bytes) -> None:
        try:
            self._db.put(key, value)
        except plyvel.Error as exc:
            raise StorageError(f"saving a board listing failed: {exc}") from None
