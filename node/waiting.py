"""The mempool's bookkeeping: who waits, in which order, counted by account, source and standing.

``Waiting`` only indexes; it decides nothing (``node.mempool`` does). Every index is updated in
``add_pending``/``add_queued``/``remove`` alone, so the counts cannot drift from the entries.
Eviction victims come out in O(1): per (standing, pending-or-queued), entries are kept in arrival
order and the newest is taken first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeVar

from node.standing import Standing
from protocol.transactions import Transaction

_K = TypeVar("_K")


@dataclass(frozen=True, slots=True)
class WaitingTx:
    tx: Transaction
    standing: Standing  # of its account, judged on the last closed ledger
    source: str | None  # the API client's address; None for gossip
    arrived: float  # the mempool's clock, seconds
    signers: frozenset[bytes] | None = None  # verified signers, once checked

    # Built directly, not with dataclasses.replace (which looks up the fields each call): both run
    # for nearly every transaction a node admits or re-checks.
    def with_signers(self, signers: frozenset[bytes]) -> WaitingTx:
        return WaitingTx(self.tx, self.standing, self.source, self.arrived, signers)

    def rejudged(self, standing: Standing) -> WaitingTx:
        if standing is self.standing:
            return self
        return WaitingTx(self.tx, standing, self.source, self.arrived, self.signers)


class Waiting:
    def __init__(self) -> None:
        self.pending: dict[bytes, WaitingTx] = {}  # insertion order = arrival order
        self.queued: OrderedDict[bytes, WaitingTx] = OrderedDict()  # arrival order
        self.newcomers = 0  # pending transactions of newcomer accounts
        self._queued_by_account: dict[bytes, dict[int, bytes]] = {}  # account -> seq -> hash
        self._pending_count: dict[bytes, int] = {}
        self._sources: dict[str, int] = {}
        self._evictable: dict[tuple[Standing, bool], dict[bytes, None]] = {
            (standing, queued): {} for standing in Standing for queued in (False, True)
        }

    def __len__(self) -> int:
        return len(self.pending) + len(self.queued)

    def __contains__(self, tx_hash: bytes) -> bool:
        return tx_hash in self.pending or tx_hash in self.queued

    # -- counts and lookups ----------------------------------------------------------------------

    def pending_count(self, account: bytes) -> int:
        return self._pending_count.get(account, 0)

    def per_source(self, source: str) -> int:
        return self._sources.get(source, 0)

    def source_count(self) -> int:
        """API client addresses with transactions waiting."""
        return len(self._sources)

    def queued_seqs(self, account: bytes) -> list[int]:
        return list(self._queued_by_account.get(account, ()))

    def queued_hash(self, account: bytes, seq: int) -> bytes:
        return self._queued_by_account[account][seq]

    def queued_at(self, account: bytes, seq: int) -> WaitingTx | None:
        tx_hash = self._queued_by_account.get(account, {}).get(seq)
        return None if tx_hash is None else self.queued[tx_hash]

    def queued_below(self, account: bytes, seq: int) -> list[bytes]:
        run = self._queued_by_account.get(account, {})
        return [h for s, h in run.items() if s < seq]

    def queued_accounts(self) -> list[bytes]:
        return list(self._queued_by_account)

    def oldest_queued_older_than(self, cutoff: float) -> list[WaitingTx]:
        """Queued entries that arrived before ``cutoff`` (they are in arrival order)."""
        old = []
        for entry in self.queued.values():
            if entry.arrived >= cutoff:
                break
            old.append(entry)
        return old

    def victim(
        self, *, below: Standing, queued_only: bool = False, pending_only: bool = False
    ) -> bytes | None:
        """The transaction to evict for one of standing ``below``: lowest standing first; within
        it queued before pending; newest first (the oldest waited longest). None when there is no
        transaction of lower standing. ``pending_only``: room in the next tx sets (overload)."""
        kinds = (True,) if queued_only else (False,) if pending_only else (True, False)
        for standing in Standing:
            if standing >= below:
                return None
            for queued in kinds:
                entries = self._evictable[(standing, queued)]
                if entries:
                    return next(reversed(entries))
        return None

    def pending_in_service_order(self) -> Iterator[WaitingTx]:
        """Members, then accounts, then newcomers; within a standing, every account's first
        transaction before anyone's second; then arrival. Keeps each account's sequence order."""
        rank: dict[bytes, int] = {}
        keyed = []
        for arrival, entry in enumerate(self.pending.values()):
            account = entry.tx.body.source
            position = rank.get(account, 0)
            rank[account] = position + 1
            keyed.append((-entry.standing, position, arrival, entry))
        keyed.sort(key=lambda item: item[:3])
        return (item[3] for item in keyed)

    # -- changes ---------------------------------------------------------------------------------

    def add_pending(self, entry: WaitingTx) -> None:
        tx_hash, account = entry.tx.hash, entry.tx.body.source
        self.pending[tx_hash] = entry
        self._pending_count[account] = self._pending_count.get(account, 0) + 1
        if entry.standing is Standing.NEWCOMER:
            self.newcomers += 1
        self._index(entry, queued=False)

    def add_queued(self, entry: WaitingTx) -> None:
        tx_hash = entry.tx.hash
        self.queued[tx_hash] = entry
        self._queued_by_account.setdefault(entry.tx.body.source, {})[entry.tx.body.seq] = tx_hash
        self._index(entry, queued=True)

    def remove(self, tx_hash: bytes) -> WaitingTx:
        queued = tx_hash in self.queued
        entry = self.queued.pop(tx_hash) if queued else self.pending.pop(tx_hash)
        account = entry.tx.body.source
        if queued:
            run = self._queued_by_account[account]
            del run[entry.tx.body.seq]
            if not run:
                del self._queued_by_account[account]
        else:
            _decrement(self._pending_count, account)
            if entry.standing is Standing.NEWCOMER:
                self.newcomers -= 1
        if entry.source is not None:
            _decrement(self._sources, entry.source)
        del self._evictable[(entry.standing, queued)][tx_hash]
        return entry

    def _index(self, entry: WaitingTx, *, queued: bool) -> None:
        if entry.source is not None:
            self._sources[entry.source] = self._sources.get(entry.source, 0) + 1
        self._evictable[(entry.standing, queued)][entry.tx.hash] = None


def _decrement(counts: dict[_K, int], key: _K) -> None:
    left = counts[key] - 1
    if left:
        counts[key] = left
    else:
        del counts[key]
