"""Recently read state entries kept decoded in memory, in front of LevelDB (issue 18).

Decoding a state entry costs 10-18 µs (strict msgpack, canonical check, typed fields), reading it
from LevelDB under 1 µs; a payment's accounts, holdings and currency are decoded by the mempool's
check, again by the ledger's apply, again by the mempool's re-check after the close. Kept here,
each entry is decoded once until a ledger changes it.

Only bytes read from LevelDB are ever kept (with their decoding), never an entry a ledger computed:
what a node uses is what it would read from disk after a restart, so the cache cannot make two
nodes disagree. A ledger's write drops its changed keys after the write. The mempool reads on the
event loop while a close writes in a worker thread, so a read that raced a write is not kept: a
lock guards the short bookkeeping (never the read or the write itself) and a write counter tells
a read whether a write began or ended meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from protocol.state import Entry, decode_entry

LoadedEntry = tuple[bytes | None, Entry | None]  # (stored bytes, their decoding); (None, None): absent


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

    def write_ended(self, changed: Iterable[bytes]) -> None:
        """After a write (whether it succeeded or not): forget what it may have changed."""
        with self._lock:
            for key in changed:
                self._entries.pop(key, None)
            self._writes += 1
