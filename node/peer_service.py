"""What the network calls: peers' tx batches, direct frames and requests; and the gossip batcher.

``PeerService`` is the node's ``NetHandlers``. It owns no state of its own: it decodes what a peer
sent, hands it to the part that owns it (mempool, herder, ledger claims) and answers requests
from the declarations in ``node.peer_requests`` (a dispatch table, one entry per request kind).
``GossipBatcher`` is the outgoing side of gossip: transactions this node admitted from its API
leave in batches.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic

import trio

from consensus import QuorumSet
from node import wire
from node.board.gossip import BoardGossip
from node.catchup import LedgerClaims
from node.chain import LedgerChain
from node.clock import monotonic_ms
from node.discovery import PeerDirectory
from node.errors import NodeError
from node.herder import Herder
from node.logs import log
from node.metrics import NodeMetrics
from node.net.handlers import GossipVerdict
from node.peer_requests import (
    ALL_KINDS,
    BOARD,
    LATEST,
    LEDGERS,
    PEERS,
    QSET,
    SCP_STATE,
    TX_IDS,
    TX_OFFER,
    TX_SET,
    TXS,
    Answer,
    LedgerRange,
    Query,
    RequestKind,
    TxIds,
    TxsQuery,
)
from node.quorum_sets import QuorumSets
from node.timers import TimerService
from node.transport import Transport
from protocol.errors import DecodeError
from protocol.ledger import TxSet
from protocol.results import ResultCode
from protocol.transactions import Transaction, decode_transaction

logger = logging.getLogger("tally.node")

GOSSIP_FLUSH_S = 0.2  # one gossip message per 200 ms carries every transaction admitted meanwhile
ANNOUNCED_NEXT_WAIT_MS = 2000  # a peer announced our next ledger: give our own vote this long
# A peer's tx batch is admitted this many transactions at a time, taking turns with the other batches
# and API requests in progress and waiting for a close in progress (LedgerChain.admission_turns):
# one chunk per pass of the event loop, whatever the number of batches. Admitted whole and side by
# side, batches of a few hundred payments (a signature check each) held the loop for tens of
# milliseconds at 1,000 tx/s, and every SCP statement that arrived meanwhile waited; a slot needs
# several statements in turn from each validator, so the waits added up. Measured with
# scripts/bench at 1,250 tx/s (3 alternated pairs, 4 validators on 2 cores): task steps over
# 10 ms of CPU in the gossip validator 435-568 -> 23-36 per run, a loop pass's p99 CPU 9-13 ->
# 6-8.5 ms, nomination-to-externalize p50 110-149 -> 102-130 ms.
GOSSIP_WORK_CHUNK = 50


class NotFoundError(NodeError):
    """A peer asked for something this node does not have (the message goes back to it)."""


@dataclass(frozen=True)
class _Served(Generic[Query, Answer]):
    """One row of the dispatch table: a request kind and how this node answers it."""

    kind: RequestKind[Query, Answer]
    answer: Callable[[Query], Answer]  # raises NotFoundError

    def respond(self, payload: bytes) -> bytes:
        return self.kind.encode_answer(self.answer(self.kind.decode_query(payload)))


class PeerService:
    """The node as its peers see it (``node.net.NetHandlers``).

    Invariants: nothing a peer sends raises out of here except ``NodeError`` for a request we
    cannot answer; a peer is penalised only for what is provably bad (undecodable frames, forged
    signatures), never for what an honest peer may relay (a transaction that no longer applies).
    """

    def __init__(
        self,
        *,
        network_id: bytes,
        is_validator: bool,
        chain: LedgerChain,
        herder: Herder,
        claims: LedgerClaims,
        quorum_sets: QuorumSets,
        transport: Transport,
        gossip: GossipBatcher,
        board: BoardGossip,
        directory: PeerDirectory,
        timers: TimerService,
        metrics: NodeMetrics,
    ) -> None:
        self.network_id = network_id
        self.directory = directory
        self.gossip = gossip
        self.board = board
        self.is_validator = is_validator
        self.chain = chain
        self.herder = herder
        self.claims = claims
        self.quorum_sets = quorum_sets
        self.transport = transport
        self.timers = timers
        self.metrics = metrics
        served: list[_Served[Any, Any]] = [
            _Served(TX_SET, self._tx_set),
            _Served(TX_IDS, self._tx_ids),
            _Served(TXS, self._txs),
            _Served(TX_OFFER, herder.offered),
            _Served(QSET, self._quorum_set),
            _Served(LATEST, self._latest),
            _Served(SCP_STATE, self._scp_state),
            _Served(LEDGERS, self._ledgers),
            _Served(BOARD, self.board.page),
            _Served(PEERS, directory.answer),
        ]
        self._serving = {row.kind.name: row for row in served}
        assert set(self._serving) == {kind.name for kind in ALL_KINDS}  # every kind is served

    # -- gossip --------------------------------------------------------------------------------

    async def on_tx_batch(self, data: bytes, peer: str) -> GossipVerdict:
        try:
            raw_list = wire.decode_tx_batch(data)
            transactions = [decode_transaction(raw, self.network_id) for raw in raw_list]
        except DecodeError as exc:
            self.metrics.invalid_messages.labels("bad_tx_batch").inc()
            log(logger, logging.INFO, "invalid tx batch", peer=peer, error=str(exc))
            return GossipVerdict.REJECT
        accepted = False
        forged = 0
        pending: list[bytes] = []
        queued = 0
        batch = list(zip(raw_list, transactions, strict=True))
        for start in range(0, len(batch), GOSSIP_WORK_CHUNK):
            async with self.chain.admission_turns:  # see GOSSIP_WORK_CHUNK
                for raw, tx in batch[start : start + GOSSIP_WORK_CHUNK]:
                    admission = self.chain.submit(tx)
                    accepted |= admission.accepted
                    if admission.accepted:
                        if admission.queued:
                            queued += 1
                        else:
                            pending.append(raw)  # its canonical encoding (decoded strictly): no new pack
                    # bad_auth is also "signers below threshold" (state-dependent, an honest relay
                    # may miss it); a signature that does not verify at all is provable (forged, or
                    # made for another network): a node only gossips transactions it admitted.
                    if admission.code is ResultCode.BAD_AUTH and self.chain.mempool.signers_of(tx) is None:
                        forged += 1
        if accepted:
            self.herder.transactions_arrived()
            self.gossip.check_promotions()
        if forged:
            self.metrics.invalid_messages.labels("bad_tx_signature").inc()
            log(
                logger,
                logging.INFO,
                "invalid tx batch",
                peer=peer,
                reason="bad_tx_signature",
                error=f"{forged} of {len(transactions)} transactions carry a signature that does not verify",
            )
            return GossipVerdict.REJECT  # not relayed; the forwarder is penalized
        if queued:
            # What applies only later here is not passed on now (it goes out once it applies);
            # the rest of the batch we send ourselves, since the batch itself is not relayed.
            for raw in pending:
                self.gossip.add(raw)
            return GossipVerdict.IGNORE
        return GossipVerdict.ACCEPT

    async def on_board_batch(self, data: bytes, peer: str) -> GossipVerdict:
        return await self.board.on_board_batch(data, peer)

    # -- direct frames -------------------------------------------------------------------------

    async def on_frame(self, data: bytes, peer: str) -> None:
        try:
            frame = wire.decode_frame(data)
        except DecodeError as exc:
            self.metrics.invalid_messages.labels("bad_frame").inc()
            log(logger, logging.INFO, "invalid frame", peer=peer, error=str(exc))
            self.transport.penalize(peer, "bad_frame")
            return
        if isinstance(frame, wire.SignedEnvelope):
            self.herder.receive_envelope(frame, peer)
            return
        last = self.chain.last.seq
        if frame.seq > last + 1 or not self.is_validator:
            self.claims.peer_is_at(peer, frame.seq)
        elif frame.seq == last + 1:  # our own vote may finish any moment; look again shortly
            seq = frame.seq
            self.timers.set(
                ("behind", peer),
                monotonic_ms() + ANNOUNCED_NEXT_WAIT_MS,
                lambda: self.claims.peer_is_at(peer, seq),
            )

    # -- requests ------------------------------------------------------------------------------

    async def on_request(self, name: str, payload: bytes, peer: str) -> bytes:
        if name == TX_OFFER.name and peer not in self.herder.validator_peers:
            # an offer costs a rebuild from the mempool: only the validators we vote with make them
            raise NotFoundError("tx sets are offered by the validators of this node's quorum set only")
        return self.answer(name, payload)

    def answer(self, name: str, payload: bytes) -> bytes:
        """The encoded answer to request ``name``. Raises NotFoundError (also for a bad payload)."""
        served = self._serving.get(name)
        if served is None:
            raise NotFoundError(f"unknown request {name!r}")
        try:
            return served.respond(payload)
        except DecodeError as exc:
            self.metrics.invalid_messages.labels("bad_request").inc()
            raise NotFoundError(f"bad request: {exc}") from None

    def _known_tx_set(self, tx_set_hash: bytes) -> TxSet:
        tx_set = self.chain.tx_sets.get(tx_set_hash)
        if tx_set is None:
            raise NotFoundError("tx set not known here")
        return tx_set

    def _tx_set(self, tx_set_hash: bytes) -> TxSet:
        return self._known_tx_set(tx_set_hash)

    def _tx_ids(self, tx_set_hash: bytes) -> TxIds:
        tx_set = self._known_tx_set(tx_set_hash)
        return TxIds(tx_set.previous_hash, tuple(tx.hash for tx in tx_set.transactions))

    def _txs(self, query: TxsQuery) -> tuple[Transaction, ...]:
        by_hash = {tx.hash: tx for tx in self._known_tx_set(query.tx_set_hash).transactions}
        if any(h not in by_hash for h in query.tx_hashes):
            raise NotFoundError("a requested transaction is not in that tx set")
        return tuple(by_hash[h] for h in query.tx_hashes)

    def _quorum_set(self, qset_hash: bytes) -> QuorumSet:
        qset = self.quorum_sets.get(qset_hash)
        if qset is None:
            raise NotFoundError("quorum set not known here")
        return qset

    def _latest(self, query: None) -> wire.LatestLedger:
        last = self.chain.last
        return wire.LatestLedger(last.seq, last.hash)

    def _scp_state(self, slot: int) -> tuple[wire.SignedEnvelope, ...]:
        return tuple(self.herder.envelopes_for(slot))

    def _ledgers(self, query: LedgerRange) -> tuple[wire.LedgerBlob, ...]:
        blobs: list[wire.LedgerBlob] = []
        size = 0
        for seq in range(query.first, query.first + query.count):
            record = self.chain.store.ledger_record(seq)
            if record is None:
                break
            size += (
                len(record.header) + len(record.tx_set) + len(record.results) + sum(map(len, record.proof))
            )
            if blobs and size > wire.MAX_LEDGERS_RESPONSE_BYTES - 64 * 1024:
                break
            blobs.append(wire.LedgerBlob(record.header, record.tx_set, record.results, record.proof))
        return tuple(blobs)


class GossipBatcher:
    """Publishes the transactions this node admitted from its API, many per gossip message.

    One gossip message costs far more CPU than its bytes (node.net), so every transaction
    admitted within ``GOSSIP_FLUSH_S`` shares one, within the batch limits of ``node.wire``.
    Transactions that came by gossip are relayed by the network itself, not from here, except
    those a peer's batch held beside one this node could only queue (``PeerService``). Queued
    transactions leave only once they apply: ``promoted`` hands them over (the mempool's).
    """

    def __init__(
        self,
        transport: Transport,
        promoted: Callable[[], list[Transaction]],
        ledger_closed: Callable[[], trio.Event],
    ) -> None:
        self._transport = transport
        self._promoted = promoted
        self._ledger_closed = ledger_closed  # the chain's event for its next close
        self._outgoing: list[bytes] = []
        self._work = trio.Event()  # set by an admission or a close: an idle node sleeps until then

    def add(self, transaction: bytes) -> None:
        self._outgoing.append(transaction)
        self._work.set()

    def check_promotions(self) -> None:
        """A peer's transaction was admitted: it may have promoted queued ones to gossip."""
        self._work.set()

    async def run(self) -> None:
        """Flush ``GOSSIP_FLUSH_S`` after there is work: a transaction admitted, or a ledger closed
        (promotions come only with one, or with an admission here or from a peer). It used to wake every 200 ms, the
        largest share of an idle validator's wake-ups."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._wake_on_closes)
            while True:
                await self._work.wait()
                self._work = trio.Event()
                await trio.sleep(GOSSIP_FLUSH_S)
                self._flush()

    async def _wake_on_closes(self) -> None:
        while True:
            await self._ledger_closed().wait()
            self._work.set()

    def flush_now(self) -> None:
        """Send what waits now, not at the next flush: this node is about to propose a tx set
        that holds it, and its peers rebuild the set from their mempools (node.tx_set_offers)."""
        self._flush()

    def _flush(self) -> None:
        """Publish everything waiting, in order, in batches within ``node.wire``'s limits (a
        transaction is never larger than a batch: the API and the mempool cap it far below)."""
        outgoing, self._outgoing = self._outgoing, []
        outgoing.extend(tx.encode() for tx in self._promoted())
        start = 0
        while start < len(outgoing):
            end, size = start, 0
            while (
                end < len(outgoing)
                and end - start < wire.MAX_TX_BATCH
                and (end == start or size + len(outgoing[end]) < wire.MAX_TX_BATCH_BYTES - 1024)
            ):
                size += len(outgoing[end])
                end += 1
            self._transport.publish(wire.encode_tx_batch(outgoing[start:end]))
            start = end
