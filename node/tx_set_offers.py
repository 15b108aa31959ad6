"""Tx sets offered by the validator that proposes them, so its peers need not ask (issue 18).

A nomination names its tx set by hash, and a validator can vote for it only once it holds the
set. Peers used to ask the proposer for the set's transaction hashes (``TX_IDS``) when its
statement arrived: under load (4 validators on 2 cores, 1,000 tx/s) that question took 75-360 ms
of every slot, on the path of every payment. Now the proposer offers the hashes to its peers as
it votes for its own set, before the statement itself has been written and sent (node.outbox),
and a peer rebuilds the set from its mempool at once; when the statement arrives, the set is
already known.

An offer is a peer's claim like any other. A set rebuilt from it counts only when every
transaction in it is one this node's mempool admitted (signatures checked), it is built on this
node's last ledger, and it hashes to the offered hash. An offer this node cannot complete yet
(transactions it lacks, or a ledger it is still closing) is kept, a few at most: when a statement
names that set, it spares the ``TX_IDS`` question, and only the missing transactions are fetched.
A false offer costs one rebuild that does not hash right; the node then asks as before. A set of
more than ``TX_OFFER_PART_HASHES`` transactions comes in parts, one request each (peers cap a
request at 64 KiB), and counts once all its parts are here.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from dataclasses import dataclass, field

from node.mempool import Mempool
from node.peer_requests import TxIds, TxSetOffer
from protocol.ledger import TxSet
from protocol.transactions import Transaction

MAX_KEPT = 16  # offers kept until their statement comes (a few slots' leaders at most)
MAX_PARTIAL = 4  # offers still coming in parts


@dataclass
class _Parts:
    """The parts of one offer received so far."""

    previous_hash: bytes
    parts: int
    chunks: dict[int, tuple[bytes, ...]] = field(default_factory=dict)

    def assembled(self) -> tuple[bytes, ...] | None:
        """Every hash in order once all parts are here (None while some are missing, or when
        the parts do not join in canonical order: a false offer)."""
        if len(self.chunks) < self.parts:
            return None
        hashes = tuple(h for index in range(self.parts) for h in self.chunks[index])
        return hashes if all(a < b for a, b in itertools.pairwise(hashes)) else None


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """What a node's mempool holds of a tx set given by its hashes."""

    known: dict[bytes, Transaction]
    missing: tuple[bytes, ...]

    def tx_set(self, ids: TxIds) -> TxSet:
        """The set, once nothing is missing (callers check ``missing`` first)."""
        return TxSet(ids.previous_hash, tuple(self.known[h] for h in ids.tx_hashes))


def rebuild(mempool: Mempool, ids: TxIds) -> Rebuilt:
    """The transactions of ``ids`` this node's mempool holds, and the hashes of those it lacks."""
    known: dict[bytes, Transaction] = {}
    for tx_hash in ids.tx_hashes:
        tx = mempool.get(tx_hash)
        if tx is not None:
            known[tx_hash] = tx
    return Rebuilt(known, tuple(h for h in ids.tx_hashes if h not in known))


class TxSetOffers:
    """Offers received from peers: complete ones become tx sets, the rest wait (bounded)."""

    def __init__(self, mempool: Mempool) -> None:
        self._mempool = mempool
        self._kept: OrderedDict[bytes, TxIds] = OrderedDict()  # by tx set hash, oldest first
        self._partial: OrderedDict[bytes, _Parts] = OrderedDict()  # by tx set hash, oldest first

    def __len__(self) -> int:
        return len(self._kept)

    def receive(self, offer: TxSetOffer, last_hash: bytes) -> tuple[TxSet | None, int]:
        """The offered set if it can be built now on ``last_hash`` (else the offer is kept), and
        how many of its transactions this node lacks (0 while parts of the offer are missing)."""
        hashes = offer.tx_hashes if offer.parts == 1 else self._assemble(offer)
        if hashes is None:
            return None, 0
        ids = TxIds(offer.previous_hash, hashes)
        found = rebuild(self._mempool, ids)
        if offer.previous_hash == last_hash and not found.missing:
            tx_set = found.tx_set(ids)
            if tx_set.hash == offer.tx_set_hash:
                self._kept.pop(offer.tx_set_hash, None)
                return tx_set, 0
        self._kept[offer.tx_set_hash] = ids
        self._kept.move_to_end(offer.tx_set_hash)
        while len(self._kept) > MAX_KEPT:
            self._kept.popitem(last=False)
        return None, len(found.missing)

    def _assemble(self, offer: TxSetOffer) -> tuple[bytes, ...] | None:
        parts = self._partial.get(offer.tx_set_hash)
        if parts is None or (parts.previous_hash, parts.parts) != (offer.previous_hash, offer.parts):
            parts = self._partial[offer.tx_set_hash] = _Parts(offer.previous_hash, offer.parts)
            while len(self._partial) > MAX_PARTIAL:
                self._partial.popitem(last=False)
        parts.chunks[offer.part] = offer.tx_hashes
        if len(parts.chunks) < parts.parts:
            return None
        del self._partial[offer.tx_set_hash]
        return parts.assembled()

    def ready_on(self, last_hash: bytes) -> list[TxSet]:
        """Kept offers built on ``last_hash`` that can now be completed (a ledger just closed,
        after the proposer had already offered the next set)."""
        ready = []
        for tx_set_hash, ids in list(self._kept.items()):
            if ids.previous_hash != last_hash:
                continue
            tx_set = self._complete(ids, tx_set_hash)
            if tx_set is not None:
                del self._kept[tx_set_hash]
                ready.append(tx_set)
        return ready

    def ids(self, tx_set_hash: bytes) -> TxIds | None:
        """The hashes a peer offered for ``tx_set_hash``, if one did (a claim: check the result)."""
        return self._kept.get(tx_set_hash)

    def forget(self, tx_set_hash: bytes) -> None:
        self._kept.pop(tx_set_hash, None)

    def _complete(self, ids: TxIds, tx_set_hash: bytes) -> TxSet | None:
        found = rebuild(self._mempool, ids)
        if found.missing:
            return None
        tx_set = found.tx_set(ids)
        return tx_set if tx_set.hash == tx_set_hash else None
