"""The network's side of the peer book: reads trio's clock, counts, logs, and acts on bans.

``PeerBook`` decides (pure); ``PeerGuard`` is what gossip, links and requests ask ("may this peer
talk to us?", "this peer sent garbage") and what the inbound gate asks before and after a handshake.
A ban calls ``on_ban`` so that the façade closes the peer's link and connection.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import trio
from libp2p.abc import INetStream

from node.logs import log
from node.net import compat
from node.net.netmetrics import NetMetrics
from node.net.peerbook import InboundSlots, PeerBook, StreamKind

logger = logging.getLogger("tally.net")

StreamServer = Callable[[INetStream, str], Awaitable[None]]  # serves one inbound stream of a peer


class PeerGuard:
    """Bans and limits applied at the network's edges. Also an ``InboundGate`` (node.net.compat)."""

    def __init__(
        self, book: PeerBook, slots: InboundSlots, metrics: NetMetrics, on_ban: Callable[[str], None]
    ) -> None:
        self.book = book
        self.slots = slots
        self._metrics = metrics
        self._on_ban = on_ban

    @staticmethod
    def now() -> float:
        return trio.current_time()

    def banned(self, peer: str) -> bool:
        return self.book.banned(peer, self.now())

    def allowed(self, peer: str) -> bool:
        """Whether we exchange anything with ``peer``: not banned. (Test partitions are
        node.faults' peer filter, around the transport and handlers.)"""
        return not self.banned(peer)

    def penalize(self, peer: str, reason: str) -> None:
        """Score a peer down; at SCORE_BAN it is disconnected and banned for BAN_SECONDS."""
        penalty = self.book.penalize(peer, reason, self.now())
        if penalty is None:
            return
        self._metrics.penalties.labels(reason=reason).inc()
        log(logger, logging.INFO, "peer penalized", peer=peer, reason=reason, score=round(penalty.score, 1))
        if penalty.banned:
            self._metrics.bans.inc()
            seconds = self.book.banned_for(peer, self.now())
            log(logger, logging.WARNING, "peer banned", peer=peer, reason=reason, seconds=round(seconds))
            self._on_ban(peer)

    def bad_input(self, peer: str, reason: str, exc: Exception) -> None:
        """``peer`` sent something malformed: count it, log it, penalise it."""
        self._metrics.invalid(reason)
        self._metrics.dropped.labels(type=reason.split("_", 1)[0], reason=reason).inc()
        log(logger, logging.WARNING, "invalid input from peer", peer=peer, reason=reason, error=str(exc))
        self.penalize(peer, reason)

    def stream_handler(
        self, kind: StreamKind, serve: StreamServer
    ) -> Callable[[INetStream], Awaitable[None]]:
        """A libp2p stream handler that runs ``serve(stream, peer)`` within the remote peer's limit
        of inbound streams of ``kind`` (a stream beyond it is reset at once)."""

        async def handle(stream: INetStream) -> None:
            peer = stream.muxed_conn.peer_id.to_base58()
            if not self.book.admit_stream(peer, kind):
                self._metrics.dropped.labels(type=kind.value, reason="too_many_streams").inc()
                await compat.reset_quietly(stream)
                return
            try:
                await serve(stream, peer)
            finally:
                self.book.release_stream(peer, kind)

        return handle

    # -- InboundGate ---------------------------------------------------------------------------

    def take_slot(self, ip: str) -> bool:
        refusal = self.slots.take(ip)
        if refusal is None:
            return True
        self._metrics.refused.labels(reason=refusal.value).inc()
        log(logger, logging.DEBUG, "inbound connection refused", ip=ip, reason=refusal.value)
        return False

    def give_back_slot(self, ip: str) -> None:
        self.slots.give_back(ip)

    def refuse_peer(self, peer: str) -> bool:
        """True (and counted, the log rate-limited per peer) when ``peer`` is banned."""
        now = self.now()
        if not self.book.banned(peer, now):
            return False
        self._metrics.refused.labels(reason="banned").inc()
        count = self.book.refuse(peer, now)
        if count:
            log(
                logger,
                logging.INFO,
                "refusing banned peer",
                peer=peer,
                attempts=count,
                banned_for_s=round(self.book.banned_for(peer, now)),
            )
        return True
