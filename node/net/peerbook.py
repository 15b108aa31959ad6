"""What this node thinks of its peers: scores that fade, bans, and the inbound streams and
connections each peer and each address holds open.

Pure bookkeeping: no I/O, no clock, no libp2p. Every method that depends on time takes ``now`` (in
seconds, on one monotonic clock chosen by the caller: trio's in the network), so these rules are
tested without a host and without waiting. ``node.net.guard`` reads the clock and acts on the answers
(disconnects a banned peer, resets a stream over its limit, logs).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

SCORE_START = 0.0
SCORE_BAN = -100.0  # at or below: disconnect and ban
SCORE_RECOVERY_PER_S = 0.5  # penalties fade: a peer is forgiven 100 points in 200 s
BAN_SECONDS = 300.0
PENALTY_DEFAULT = 10.0
PENALTIES = {  # by reason; anything else costs PENALTY_DEFAULT
    "frame_oversize": 50.0,
    "request_oversize": 50.0,
    "response_oversize": 25.0,
    "replay": 2.0,  # a restarted peer legitimately re-sends a few old envelopes
}
# A banned peer that keeps re-dialling is refused every time, but logged at most once per this
# many seconds (with the number of attempts since the previous line): a peer must not be able to
# flood our log by knocking.
REFUSAL_LOG_INTERVAL = BAN_SECONDS

# Concurrent inbound connections, handshakes included: every one costs a Noise handshake and a
# muxer, so a flood of dials must not be free. Generous for validators (a 24-node testnet on one
# host puts 23 connections on 127.0.0.1), small against one address opening hundreds.
MAX_INBOUND_CONNECTIONS = 256
MAX_INBOUND_PER_IP = 64
MAX_INBOUND_FRAME_STREAMS = 4  # an honest peer keeps one (reopened after a failure)
MAX_INBOUND_REQUEST_STREAMS = 16
# Peers remembered while disconnected (for a ban or a score still below zero): past this many, the
# ones whose ban is over and whose score has recovered are forgotten, so identities made up by the
# thousand cannot grow the book without bound (a peer is forgotten on disconnect once settled anyway).
MAX_REMEMBERED = 4096


class StreamKind(enum.Enum):
    """Inbound stream protocols with a per-peer limit (the value is the metric label)."""

    FRAME = "frame"
    REQUEST = "request"

    @property
    def limit(self) -> int:
        """Concurrent inbound streams one peer may hold: each may buffer a frame up to its cap while
        it arrives, and py-libp2p's yamux has no stream limit, so without these a peer could pin
        memory without bound."""
        return MAX_INBOUND_FRAME_STREAMS if self is StreamKind.FRAME else MAX_INBOUND_REQUEST_STREAMS


class SlotRefusal(enum.Enum):
    """Why an inbound connection was refused before its handshake (the value is the metric label)."""

    TOTAL = "inbound_cap"
    PER_IP = "ip_cap"


@dataclass(slots=True)
class PeerRecord:
    """One peer as we see it. ``score`` is as of ``score_at``; read it through ``PeerBook.score``."""

    score: float = SCORE_START
    score_at: float = 0.0
    banned_until: float = 0.0
    direction: str = ""  # "inbound" / "outbound" while connected
    connected: bool = False
    addrs: tuple[str, ...] = ()
    refused: int = 0  # connection attempts refused during a ban and not yet logged
    refusal_logged_at: float | None = None


@dataclass(frozen=True, slots=True)
class Penalty:
    """The outcome of one penalty: the score it left, and whether it started a ban."""

    score: float
    banned: bool


class PeerBook:
    """Scores, bans and inbound stream counts of every peer worth remembering.

    Invariants: our own peer id is never penalised; a banned peer's ban runs ``BAN_SECONDS`` from
    the penalty that crossed ``SCORE_BAN`` (more penalties meanwhile do not extend it); a peer with a non-negative score and no ban is forgotten
    when it disconnects, so the book holds only connected peers and peers we hold something against
    (and, past ``MAX_REMEMBERED``, the settled ones are forgotten when a new peer is recorded).
    """

    def __init__(self, own_peer: str) -> None:
        self.own_peer = own_peer
        self._records: dict[str, PeerRecord] = {}
        self._streams: dict[tuple[str, StreamKind], int] = {}

    def known(self) -> set[str]:
        return set(self._records)

    def record(self, peer: str) -> PeerRecord | None:
        return self._records.get(peer)

    def _record(self, peer: str, now: float) -> PeerRecord:
        record = self._records.get(peer)
        if record is None:
            if len(self._records) >= MAX_REMEMBERED:
                self._forget_settled(now)
            record = self._records[peer] = PeerRecord(score_at=now)
        return record

    def _forget_settled(self, now: float) -> None:
        """Forget disconnected peers whose ban is over and whose score is back at zero."""
        settled = [
            peer
            for peer, record in self._records.items()
            if not record.connected and record.banned_until <= now and self.score(peer, now) >= 0
        ]
        for peer in settled:
            del self._records[peer]

    # -- scores and bans ---------------------------------------------------------------------

    def score(self, peer: str, now: float) -> float:
        """The peer's score now: a negative score recovers ``SCORE_RECOVERY_PER_S`` towards 0."""
        record = self._records.get(peer)
        if record is None:
            return SCORE_START
        if record.score < 0:
            record.score = min(0.0, record.score + (now - record.score_at) * SCORE_RECOVERY_PER_S)
        record.score_at = now
        return record.score

    def banned(self, peer: str, now: float) -> bool:
        record = self._records.get(peer)
        return record is not None and record.banned_until > now

    def banned_for(self, peer: str, now: float) -> float:
        """Seconds of ban left (0 when not banned)."""
        record = self._records.get(peer)
        return max(0.0, record.banned_until - now) if record is not None else 0.0

    def penalize(self, peer: str, reason: str, now: float) -> Penalty | None:
        """Score ``peer`` down for ``reason``; None for our own id (we never penalise ourselves)."""
        if peer == self.own_peer:
            return None
        record = self._record(peer, now)
        score = self.score(peer, now) - PENALTIES.get(reason, PENALTY_DEFAULT)
        record.score = score
        if score > SCORE_BAN or self.banned(peer, now):
            return Penalty(score, banned=False)
        record.banned_until = now + BAN_SECONDS
        # The score fades during the ban as always: from SCORE_BAN / 2 it is back at 0 long before
        # the ban ends, so a peer returns from a ban with a clean slate.
        record.score = SCORE_BAN / 2
        record.refused = 0
        record.refusal_logged_at = None
        return Penalty(score, banned=True)

    def refuse(self, peer: str, now: float) -> int:
        """Count a refused connection attempt by a banned peer. Returns how many attempts the log
        line due now should report (this one included), or 0 when this attempt stays silent."""
        record = self._record(peer, now)
        record.refused += 1
        logged_at = record.refusal_logged_at
        if logged_at is not None and now - logged_at < REFUSAL_LOG_INTERVAL:
            return 0
        count, record.refused, record.refusal_logged_at = record.refused, 0, now
        return count

    # -- connections ---------------------------------------------------------------------------

    def connected(self, peer: str, direction: str, addrs: tuple[str, ...], now: float) -> None:
        record = self._record(peer, now)
        record.direction = direction
        record.addrs = addrs
        record.connected = True

    def disconnected(self, peer: str, now: float) -> None:
        """The peer's last connection closed: forget it unless we hold something against it."""
        record = self._records.get(peer)
        if record is None:
            return
        record.connected = False
        if self.score(peer, now) >= 0 and not self.banned(peer, now):
            del self._records[peer]

    # -- inbound streams -----------------------------------------------------------------------

    def admit_stream(self, peer: str, kind: StreamKind) -> bool:
        """Take one of the peer's inbound stream slots of ``kind``; False when all are taken."""
        count = self._streams.get((peer, kind), 0)
        if count >= kind.limit:
            return False
        self._streams[(peer, kind)] = count + 1
        return True

    def release_stream(self, peer: str, kind: StreamKind) -> None:
        count = self._streams.pop((peer, kind), 1) - 1
        if count > 0:
            self._streams[(peer, kind)] = count

    def open_streams(self, peer: str, kind: StreamKind) -> int:
        return self._streams.get((peer, kind), 0)


class InboundSlots:
    """Inbound connections held open, in total and per remote IP address, counted from the moment
    the socket is accepted (before any handshake) until the connection closes."""

    def __init__(self, total: int = MAX_INBOUND_CONNECTIONS, per_ip: int = MAX_INBOUND_PER_IP) -> None:
        if total < 1 or per_ip < 1:
            raise ValueError("inbound connection caps must be at least 1")
        self.total, self.per_ip = total, per_ip
        self._by_ip: dict[str, int] = {}
        self._open = 0

    @property
    def open(self) -> int:
        return self._open

    def take(self, ip: str) -> SlotRefusal | None:
        """Take a slot for a connection from ``ip``; the reason when there is none to take."""
        if self._open >= self.total:
            return SlotRefusal.TOTAL
        held = self._by_ip.get(ip, 0)
        if held >= self.per_ip:
            return SlotRefusal.PER_IP
        self._by_ip[ip] = held + 1
        self._open += 1
        return None

    def give_back(self, ip: str) -> None:
        held = self._by_ip.pop(ip, 0)
        if held <= 0:
            return
        if held > 1:
            self._by_ip[ip] = held - 1
        self._open -= 1
