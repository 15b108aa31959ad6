"""A disk that fills up on command: the ledger store's LevelDB handle, wrapped so that every write
batch fails half way through (the admin action ``disk-fault``), and every synced one (ledgers,
this validator's own statements) fails at the latest when it is written, however few its puts.

The wrapper sits *under* a real ``LedgerStore`` (``LedgerStore(open_db=FailingDisk.open)``), so
what is tested is the store's own promise: a batch that fails after some of its puts leaves
nothing behind (``write_batch(transaction=True)``), the chain stays where it was, and the node
says so in ``/health`` until writes work again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plyvel

from node.storage.store import open_leveldb

PUTS_BEFORE_FAILURE = 3  # a ledger batch puts header, tx set, results, proof, ... : fail in the middle


class FailingDisk:
    """Opens the store's database; while ``failing``, its write batches fail half way."""

    def __init__(self) -> None:
        self.failing = False

    def open(self, path: Path) -> _FailingDB:
        return _FailingDB(open_leveldb(path), self)


class _FailingDB:
    """A plyvel.DB whose write batches consult the disk's switch; everything else is the DB's."""

    def __init__(self, inner: Any, disk: FailingDisk) -> None:
        self._inner = inner
        self._disk = disk

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def write_batch(self, **kwargs: Any) -> Any:
        batch = self._inner.write_batch(**kwargs)
        return _FailingBatch(batch, synced=bool(kwargs.get("sync"))) if self._disk.failing else batch


class _FailingBatch:
    """Passes the first puts through, then raises what LevelDB raises on a full disk; a synced
    batch with fewer puts raises it when written (and writes nothing)."""

    def __init__(self, inner: Any, *, synced: bool) -> None:
        self._inner = inner
        self._synced = synced
        self._puts = 0

    def __enter__(self) -> _FailingBatch:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> Any:
        if exc[0] is None and self._synced and self._puts:
            self._inner.clear()  # as LevelDB on a full disk: the write fails, nothing of it lands
            raise _disk_full()
        return self._inner.__exit__(*exc)

    def put(self, key: bytes, value: bytes) -> None:
        self._puts += 1
        if self._puts > PUTS_BEFORE_FAILURE:
            raise _disk_full()
        self._inner.put(key, value)

    def delete(self, key: bytes) -> None:
        self._inner.delete(key)


def _disk_full() -> plyvel.IOError:
    return plyvel.IOError("injected fault: No space left on device")
