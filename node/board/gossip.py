"""Board items to and from peers, on the board's own gossip topic (never the transactions').

Outgoing: items this node admitted from its API leave in batches (``protocol.listings`` batch
format, at most ``MAX_BATCH_ITEMS``), one flush a second. Incoming: a peer's batch is judged item
by item by the board, and the verdict decides whether the network relays the batch:

* every item admitted → ``ACCEPT`` (relayed as it came);
* an item that is provably bad (undecodable, forged, bad text or times, a withdrawal by someone
  else) → ``REJECT``: not relayed and the forwarder loses score, since an honest node only relays
  what it admitted itself;
* otherwise (duplicates, expired, from non-members on this node's ledger, over a rate or a cap)
  → ``IGNORE``: not relayed, nobody penalised (another node's ledger or clock may differ).

Items of a batch that is not relayed but that this node admitted go out again in its own next
batch, so a good listing beside a bad one still travels.
"""

from __future__ import annotations

import logging

import trio

from node.board.board import Board, BoardAnswer
from node.board.sync import BoardSync, board_page
from node.clock import wall_ms
from node.logs import log
from node.metrics import NodeMetrics
from node.net.handlers import GossipVerdict
from node.peer_requests import BoardCursor, PeerRequests
from node.transport import Transport
from protocol.errors import DecodeError
from protocol.listings import MAX_BATCH_BYTES, MAX_BATCH_ITEMS, decode_board_batch, encode_board_batch

logger = logging.getLogger("tally.board")

FLUSH_S = 1.0  # listings are rare and not urgent: one gossip message a second at most
EXPIRE_EVERY_S = 60.0
MAX_QUEUED = 4 * MAX_BATCH_ITEMS  # items waiting to be published; beyond that the oldest wait for the next


class BoardGossip:
    """The board's side of the network: publishes admitted items, judges peers' batches."""

    def __init__(
        self, board: Board, transport: Transport, requests: PeerRequests, metrics: NodeMetrics
    ) -> None:
        self.board = board
        self._transport = transport
        self._metrics = metrics
        self._outgoing: list[bytes] = []
        self._queued = trio.Event()  # set when _outgoing gets an item: an idle node sleeps until then
        self.sync = BoardSync(board, transport, requests)

    def submit(self, raw: bytes) -> BoardAnswer:
        """An item from this node's API: judged by the board, published if admitted."""
        answer = self.board.submit(raw, wall_ms())
        if answer.verdict.accepted:
            self._outgoing.append(raw)
            self._queued.set()
        return answer

    async def run(self) -> None:
        """Catch up on a peer's board once, publish queued items and expire old listings; runs
        until cancelled."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.sync.run)
            await self._publish_and_expire()

    def page(self, before: BoardCursor) -> tuple[bytes, ...]:
        """A page of this node's listings for a peer catching up (``node.peer_requests.BOARD``)."""
        return board_page(self.board, before)

    async def _publish_and_expire(self) -> None:
        # Woken by a queued item or the expiry time, never on a fixed tick: an idle node sleeps.
        next_expiry = trio.current_time() + EXPIRE_EVERY_S
        while True:
            with trio.move_on_at(next_expiry):
                await self._queued.wait()
                await trio.sleep(FLUSH_S)  # one message for whatever else arrives meanwhile
            self._queued = trio.Event()
            self._flush()
            if trio.current_time() >= next_expiry:
                next_expiry = trio.current_time() + EXPIRE_EVERY_S
                self.board.expire(wall_ms())

    def _flush(self) -> None:
        while self._outgoing:
            batch: list[bytes] = []
            size = 64
            while (
                self._outgoing
                and len(batch) < MAX_BATCH_ITEMS
                and size + len(self._outgoing[0]) + 8 <= MAX_BATCH_BYTES
            ):
                size += len(self._outgoing[0]) + 8
                batch.append(self._outgoing.pop(0))
            self._transport.publish_board(encode_board_batch(batch))

    async def on_board_batch(self, data: bytes, peer: str) -> GossipVerdict:
        """A peer's batch: the verdict for the network (see the module docstring)."""
        try:
            items = decode_board_batch(data)
        except DecodeError as exc:
            self._metrics.invalid_messages.labels("bad_board_batch").inc()
            log(logger, logging.INFO, "invalid board batch", peer=peer, error=str(exc))
            return GossipVerdict.REJECT
        now = wall_ms()
        answers = [self.board.submit(raw, now) for raw in items]
        admitted = [raw for raw, answer in zip(items, answers, strict=True) if answer.verdict.accepted]
        provable = [answer for answer in answers if answer.verdict.provable]
        if provable:
            self._metrics.invalid_messages.labels("bad_board_item").inc()
            log(logger, logging.INFO, "invalid board item", peer=peer, reason=provable[0].verdict.value)
        if not provable and len(admitted) == len(items):
            return GossipVerdict.ACCEPT
        if len(self._outgoing) + len(admitted) <= MAX_QUEUED:
            self._outgoing.extend(admitted)
        return GossipVerdict.REJECT if provable else GossipVerdict.IGNORE
