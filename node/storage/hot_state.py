"""Recently read state entries kept decoded in memory, in front of LevelDB (issue 18).

Decoding a state entry costs 10-18 µs (strict msgpack, canonical check, typed fields), reading it
from LevelDB under 1 µs; a payment's accounts, holdings and currency are decoded by the mempool's
check, again by the ledger's apply, again by the mempool's re-check after the close. Kept here,
each entry is decoded once until a ledger changes it.

What is kept is what a node would read from disk after a restart, so the cache cannot make two
nodes disagree: bytes read from LevelDB with their decoding, or, after a ledger's write succeeded,
the bytes it wrote with the entry they encode (``write_ended``'s ``written``). Under load a ledger
changes most of the accounts and holdings the next payments read, so dropping them made nearly
every read after a close a LevelDB read plus a decode. Only accounts and holdings are kept that
way (flat records of bytes, ints, an enum and tuples, for which decoding the written bytes gives an
equal entry: ``tests/node/test_hot_state.py`` checks it on real ledgers); other changed keys are
dropped and read again. The mempool reads on the
event loop while a close writes in a worker thread, so a read that raced a write is not kept: a
lock guards the short bookkeeping (never the read or the write itself) and a write counter tells
a read whether a write began or ended meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from protocol.state import Account, Entry, Holding, decode_entry

LoadedEntry = tuple[bytes | None, Entry | None]  # (stored bytes, their decoding); (None, None): absent
Written = tuple[bytes, bytes, Entry]  # a ledger's change: key, the bytes written, the entry they encode
KEPT_AFTER_WRITE = (Account, Holding)


class HotEntries:
    def __init__(self, read_raw: Callable[[bytes], bytes | None], max_entries: int = 20_000) -> None:
        self._read_raw = read_raw
        self._max_entries = max_entries  # a few hundred bytes each; beyond it the cache starts again
        self._entries: dict[bytes, LoadedEntry] = {}
        self._lock = threading.Lock()
        self._writes = 0  # odd while a write is under way

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: bytes) -> LoadedEntry:
        found = self._entries.get(key)
        if found is not None:
            return found
        with self._lock:
            writes = self._writes
        raw = self._read_raw(key)
        loaded: LoadedEntry = (raw, None if raw is None else decode_entry(key, raw))
        with self._lock:
            if writes == self._writes and writes % 2 == 0:  # no write began or ended meanwhile
                if len(self._entries) >= self._max_entries:
                    self._entries.clear()
                self._entries[key] = loaded
        return loaded

    def write_begins(self) -> None:
        with self._lock:
            self._writes += 1

    def write_ended(self, changed: Iterable[bytes], written: Iterable[Written] = ()) -> None:
        """After a write (whether it succeeded or not): forget what it may have changed; then,
        only when it succeeded, keep ``written`` (its accounts and holdings, see the module)."""
        with self._lock:
            for key in changed:
                self._entries.pop(key, None)
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            for key, raw, entry in written:
                if isinstance(entry, KEPT_AFTER_WRITE):
                    self._entries[key] = (raw, entry)
            self._writes += 1
