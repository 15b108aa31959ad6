"""Catching up on the board: a node that was away, or is new, asks a peer for the listings it holds.

Gossip carries a listing once, when it is posted; a node that was not listening then would never
see it. So once after start, as soon as peers are connected, the node pages through the boards
of up to ``SYNC_PEERS`` of them (one peer may have missed something too) (``node.peer_requests.BOARD``, newest first, ``MAX_BATCH_ITEMS`` a page) and admits each
listing by the same rules as any other. Only the post rate is not applied: those listings were
posted earlier, and the caps still hold. A listing that is provably bad (forged, undecodable) or
a page out of order ends that peer's sync and costs the peer; another peer is asked instead. Listings
refused because this node's ledger does not show their author as a member (yet) mean the node is
probably still catching up on ledgers: the sync is tried again a little later, a bounded number
of times.
"""

from __future__ import annotations

import logging

import trio

from node.board.board import Board, BoardQuery, BoardVerdict
from node.clock import wall_ms
from node.errors import NetError
from node.logs import log
from node.peer_requests import BOARD, BadAnswerError, BoardCursor, PeerRequests
from node.transport import Transport
from protocol.errors import DecodeError
from protocol.listings import MAX_BATCH_ITEMS, Listing, decode_board_item

logger = logging.getLogger("tally.board")

SYNC_PEERS = 3  # whose boards a node fetches after start
SYNC_ATTEMPTS = 30  # fetches tried (one at a time) before giving up until the next start
SYNC_RETRY_S = 2.0
MAX_SYNC_PAGES = 20_000 // MAX_BATCH_ITEMS + 1  # a whole board (BoardLimits.total) and no more
_LEDGER_DEPENDENT = frozenset({BoardVerdict.NO_CURRENCY, BoardVerdict.NOT_MEMBER})


def board_page(board: Board, before: BoardCursor) -> tuple[bytes, ...]:
    """What this node answers a peer's board query: its listings older than ``before``."""
    return tuple(x.encode() for x in board.query(BoardQuery(before=before, limit=MAX_BATCH_ITEMS)))


class BoardSync:
    def __init__(self, board: Board, transport: Transport, requests: PeerRequests) -> None:
        self.board = board
        self._transport = transport
        self._requests = requests
        self.done = trio.Event()

    async def run(self) -> None:
        """Fetch the boards of up to ``SYNC_PEERS`` peers, one at a time, each until it answered
        in full while this node's ledger knew every author."""
        synced: set[str] = set()
        failed: list[str] = []
        for _ in range(SYNC_ATTEMPTS):
            connected = self._transport.connected_peers()
            waiting = [p for p in connected if p not in synced]
            if len(synced) >= SYNC_PEERS or (synced and not waiting):
                break
            if waiting:
                peer = min(waiting, key=failed.count)  # the peers that failed least first
                try:
                    added, unknown = await self.fetch(peer)
                except (NetError, BadAnswerError) as exc:
                    failed.append(peer)
                    log(logger, logging.INFO, "board sync failed", peer=peer, error=str(exc))
                else:
                    log(logger, logging.INFO, "board synced", peer=peer, added=added, not_yet_members=unknown)
                    if not unknown:
                        synced.add(peer)
                        continue
            await trio.sleep(SYNC_RETRY_S)
        self.done.set()

    async def fetch(self, peer: str) -> tuple[int, int]:
        """Page through ``peer``'s board: how many listings were new here, and how many were
        refused only because their author is not a member on this node's ledger (yet).

        Raises:
            NetError: no answer.
            BadAnswerError: a page out of order or a provably bad listing (the peer was penalised).
        """
        before: BoardCursor = None
        added = unknown = 0
        for _ in range(MAX_SYNC_PAGES):
            items = await self._requests.ask(peer, BOARD, before)
            now = wall_ms()
            for raw in items:
                listing = self._listing(peer, raw)
                position = (listing.body.created_ms, listing.id)
                if before is not None and position >= before:
                    raise self._requests.bad_answer(peer, BOARD, "listings out of order")
                answer = self.board.submit(raw, now, rate_limited=False)
                if answer.verdict.provable:
                    raise self._requests.bad_answer(peer, BOARD, answer.message)
                added += answer.verdict.accepted
                unknown += answer.verdict in _LEDGER_DEPENDENT
                before = position
            if len(items) < MAX_BATCH_ITEMS:
                break
        return added, unknown

    def _listing(self, peer: str, raw: bytes) -> Listing:
        try:
            item = decode_board_item(raw, self.board.network_id)
        except DecodeError as exc:
            raise self._requests.bad_answer(peer, BOARD, str(exc)) from None
        if not isinstance(item, Listing):
            raise self._requests.bad_answer(peer, BOARD, "a board page holds listings only")
        return item
