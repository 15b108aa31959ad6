"""Fetching a tx set that a peer's statement names, sending over the wire only what we lack.

SCP sees a peer's statement only once every tx set it names is here (``node.herder``). Most of a
set's transactions already sit in this node's mempool (gossip brought them), so a set is rebuilt
from its transaction hashes: those the proposer offered (``node.tx_set_offers``), else those it
answers to ``TX_IDS``, and only the transactions we lack are asked for (``TXS``). When the rebuilt
set does not hash right (a transaction we hold carries other signatures than the proposer's copy),
the whole set is asked for (``TX_SET``).

A peer's set is a claim like any other: one holding a transaction whose signature does not verify
can only come from a dishonest proposer, is never voted for, and costs the peer that sent it.

The transactions we lack are mostly ones the proposer admitted just before nominating: it sends
them by gossip as it offers the set, and a busy proposer may take longer to answer our request than
gossip takes to bring them (a request answered in 0.3-0.4 s held up a slot at 1,000 tx/s). So
while we wait for the answer, ``completed_meanwhile`` rebuilds the set again each time
transactions arrive; the herder takes it as soon as nothing is missing.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable

from node.errors import NetError
from node.logs import log
from node.mempool import Mempool
from node.peer_requests import (
    TX_IDS,
    TX_SET,
    TXS,
    TXS_PER_REQUEST,
    BadAnswerError,
    PeerRequests,
    TxIds,
    TxsQuery,
)
from node.tx_set_offers import TxSetOffers, rebuild
from protocol.ledger import TxSet
from protocol.transactions import Transaction

logger = logging.getLogger("tally.herder")


class TxSetFetcher:
    """Asks peers, one after another, for a tx set, rebuilding it from the mempool where it can."""

    def __init__(
        self, requests: PeerRequests, offers: TxSetOffers, mempool: Mempool, have: Callable[[bytes], bool]
    ) -> None:
        self._requests = requests
        self._have = have  # whether this node holds a tx set by now (it may complete meanwhile)
        self._offers = offers
        self._mempool = mempool
        self._lacking: dict[bytes, TxIds] = {}  # sets waiting for transactions we asked for, by hash

    def completed_meanwhile(self) -> list[TxSet]:
        """Sets still being fetched that the mempool now completes (their missing transactions
        came by gossip meanwhile). Each is returned once; its fetch goes on and is ignored."""
        completed = []
        for tx_set_hash, ids in list(self._lacking.items()):
            found = rebuild(self._mempool, ids)
            if found.missing:
                continue
            del self._lacking[tx_set_hash]
            tx_set = found.tx_set(ids)
            if tx_set.hash == tx_set_hash:  # else our copies differ: the fetch will take it whole
                completed.append(tx_set)
        return completed

    async def fetch(self, tx_set_hash: bytes, peers: Iterable[str]) -> TxSet | None:
        """The set from the first of ``peers`` that sends it with every signature valid; None
        when none could (each failure is logged, a dishonest answer reported), or when the set
        turned up meanwhile (``completed_meanwhile``)."""
        for peer in peers:
            if self._have(tx_set_hash):
                return None
            try:
                tx_set = await self._fetch_compact(peer, tx_set_hash)
                if tx_set is None:  # our copies differ (e.g. other signatures): take it whole
                    tx_set = await self._requests.ask(peer, TX_SET, tx_set_hash)
            except NetError as exc:
                log(logger, logging.DEBUG, "tx set request failed", peer=peer, error=str(exc))
                continue
            except BadAnswerError:
                continue
            if any(self._mempool.signers_of(tx) is None for tx in tx_set.transactions):
                # A transaction's hash does not cover its signatures: a copy with a broken one
                # can only come from a dishonest proposer. Never vote for such a set.
                self._requests.bad_answer(peer, TX_SET, "a transaction in the tx set carries a bad signature")
                continue
            return tx_set
        if not self._have(tx_set_hash):
            log(logger, logging.WARNING, "no peer could send a tx set", tx_set=tx_set_hash.hex()[:16])
        return None

    async def _fetch_compact(self, peer: str, tx_set_hash: bytes) -> TxSet | None:
        """The tx set rebuilt from its hashes (offered, else asked for) and our mempool, fetching
        only what we lack.

        Returns None when the rebuilt set does not hash right. Raises NetError / BadAnswerError.
        """
        offered = self._offers.ids(tx_set_hash)
        if offered is not None:
            self._offers.forget(tx_set_hash)  # a false offer is tried once
            with contextlib.suppress(NetError):  # the peer had not the transactions it named
                tx_set = await self._rebuild_fetching(peer, tx_set_hash, offered)
                if tx_set is not None:
                    return tx_set
        return await self._rebuild_fetching(
            peer, tx_set_hash, await self._requests.ask(peer, TX_IDS, tx_set_hash)
        )

    async def _rebuild_fetching(self, peer: str, tx_set_hash: bytes, ids: TxIds) -> TxSet | None:
        found = rebuild(self._mempool, ids)
        known: dict[bytes, Transaction] = found.known
        missing = found.missing
        if missing:
            self._lacking[tx_set_hash] = ids
        try:
            for start in range(0, len(missing), TXS_PER_REQUEST):
                chunk = missing[start : start + TXS_PER_REQUEST]
                for tx in await self._requests.ask(peer, TXS, TxsQuery(tx_set_hash, chunk)):
                    known[tx.hash] = tx
        finally:
            self._lacking.pop(tx_set_hash, None)
        tx_set = TxSet(ids.previous_hash, tuple(known[h] for h in ids.tx_hashes))
        return tx_set if tx_set.hash == tx_set_hash else None
