"""Peer discovery: nodes learn where other nodes are from their peers and keep enough connections.

Every node keeps a table of signed peer records (``node.peer_records``): its own, re-signed when
its addresses change and twice a day, and those it learnt. Whenever a peer connects, and every
two minutes after, the two exchange records (``PEERS`` request: the asker sends its own record, the
answer carries up to 32, and the answerer's current connections, which statement flooding uses to
skip relays a peer does not need). Then the node dials:

* every validator of its quorum set it is not connected to, always (those are the peers SCP needs);
* other known peers, at random, until it has ``TARGET_CONNECTIONS``.

A failed dial backs off per peer (5 s doubling to 10 min). Records are checked before they enter
the table (signature, network, shape, freshness), capped at ``MAX_KNOWN`` (the oldest of peers
outside our quorum go first), and persisted, so a restarted node that lost its bootstrap peers
still finds the others. Inbound connections stay capped by the network (``node.net.guard``).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable

import trio
from prometheus_client import Counter, Gauge

from consensus import QuorumSet, all_validators
from node.clock import monotonic_ms, wall_ms
from node.dial_log import DialFailureLog
from node.errors import NetError, StorageError
from node.logs import log
from node.metrics import NodeMetrics
from node.peer_ids import peer_id_for
from node.peer_records import (
    MAX_NEIGHBOURS,
    MAX_RECORDS_PER_ANSWER,
    PeerAnswer,
    PeerRecord,
    RecordError,
    check_fresh,
    decode_record,
    sign_record,
)
from node.peer_requests import PEERS, BadAnswerError, PeerRequests
from node.storage.peers import PeerArea
from node.transport import Dialer, Transport
from protocol.keys import Keypair

logger = logging.getLogger("tally.discovery")

TARGET_CONNECTIONS = 8  # dial known peers until this many are connected (quorum validators always)
MAX_KNOWN = 1_000  # records kept (and persisted)
FAST_ROUND_S = 2.0  # between rounds (cheap: no I/O unless there is someone to dial or ask) …
SLOW_ROUND_S = 30.0  # … once every quorum validator and the target are connected
REFRESH_S = 120.0  # exchange records (and neighbour lists) with each connected peer this often …
FIRST_REFRESH_S = 5.0  # … after asking a new peer again this soon, then twice as long each time:
# a new link usually comes while the mesh is forming, and the neighbour lists of that moment
# (which node.flood uses to skip relays) go stale within seconds; two minutes of stale lists made
# a chain of 10 validators relay every statement to every peer and send ~7x a full mesh's frames
RESIGN_MS = 12 * 3600 * 1000  # our own record is re-signed this often (records go stale in 7 days)
BACKOFF_FIRST_S = 5.0
BACKOFF_MAX_S = 600.0
MAX_DIALS_PER_ROUND = 4


class _DiscoveryMetrics:
    def __init__(self, metrics: NodeMetrics) -> None:
        r = metrics.registry
        self.known = Gauge("tally_peer_records_known", "Signed peer records this node knows", registry=r)
        self.refused = Counter(
            "tally_peer_records_refused",
            "Peer records refused, by reason (malformed, bad_signature, other_network, stale, future)",
            ["reason"],
            registry=r,
        )
        self.dials = Counter(
            "tally_discovery_dials", "Dials to discovered peers, by outcome", ["outcome"], registry=r
        )
        self.exchanges = Counter(
            "tally_peer_exchanges", "Peer-record exchanges we started, by outcome", ["outcome"], registry=r
        )


class PeerDirectory:
    """The table of known peers and the task that keeps this node connected to them.

    Invariants: every record in the table decoded and verified for our network, is fresh as of
    when it came, is the newest seen for its node, names at least one address, and is not ours;
    the table never holds more than ``MAX_KNOWN`` records.
    """

    def __init__(
        self,
        *,
        keypair: Keypair,
        network: bytes,
        quorum_set: QuorumSet,
        transport: Transport,
        dialer: Dialer | None,
        requests: PeerRequests,
        area: PeerArea,
        metrics: NodeMetrics,
        rng: random.Random | None = None,
    ) -> None:
        self._keypair = keypair
        self._network = network
        self._transport = transport
        self._dialer = dialer
        self._requests = requests
        self._area = area
        self._metrics = _DiscoveryMetrics(metrics)
        self._rng = rng or random.Random()
        self.peer_id = peer_id_for(keypair.public_key)
        self.quorum_peers = frozenset(peer_id_for(v) for v in all_validators(quorum_set)) - {self.peer_id}
        self.records: dict[str, PeerRecord] = {}
        self.own: PeerRecord | None = None
        # connected peer -> (when to swap records with it next, the wait after that), seconds
        self._exchanged: dict[str, tuple[float, float]] = {}
        self.neighbours: dict[str, frozenset[str]] = {}  # connected peer -> the peers it said it has
        self._dialing: set[str] = set()
        self._backoff: dict[str, tuple[float, float]] = {}  # peer -> (next dial at, delay), seconds
        self._failures = DialFailureLog()

    # -- the table -----------------------------------------------------------------------------

    def load(self) -> int:
        """Take in the records persisted by an earlier run (checked again); returns how many."""
        stale = []
        for node_key, raw in self._area.records(MAX_KNOWN):
            try:
                record = decode_record(raw, self._network)
                check_fresh(record, wall_ms())
            except RecordError:
                stale.append(node_key)
                continue
            if record.node_key == node_key and record.peer_id != self.peer_id:
                self.records[record.peer_id] = record
        if stale:
            self._forget(stale)
        self._metrics.known.set(len(self.records))
        return len(self.records)

    def learn(self, records: Iterable[PeerRecord]) -> int:
        """Keep the fresh, newer ones of ``records`` (already decoded and verified); returns how
        many changed the table."""
        changed = 0
        now = wall_ms()
        for record in records:
            if record.peer_id == self.peer_id or not record.addresses:
                continue
            try:
                check_fresh(record, now)
            except RecordError as exc:
                self._metrics.refused.labels(exc.reason).inc()
                continue
            known = self.records.get(record.peer_id)
            if known is not None and known.seq >= record.seq:
                continue
            self.records[record.peer_id] = record
            changed += 1
            try:
                self._area.save(record.node_key, record.encode())
            except StorageError as exc:
                log(logger, logging.WARNING, "cannot persist a peer record", error=str(exc))
        self._trim()
        self._metrics.known.set(len(self.records))
        return changed

    def _trim(self) -> None:
        excess = len(self.records) - MAX_KNOWN
        if excess <= 0:
            return
        others = sorted(
            (r for r in self.records.values() if r.peer_id not in self.quorum_peers), key=lambda r: r.seq
        )
        dropped = others[:excess]
        for record in dropped:
            del self.records[record.peer_id]
        self._forget([r.node_key for r in dropped])

    def _forget(self, node_keys: list[bytes]) -> None:
        try:
            self._area.forget(node_keys)
        except StorageError as exc:
            log(logger, logging.WARNING, "cannot forget peer records", error=str(exc))

    def refresh_own(self) -> PeerRecord | None:
        """Sign our record again when our addresses changed or it is getting old."""
        addresses = self._dialer.announced() if self._dialer is not None else []
        own = self.own
        now = wall_ms()
        if not addresses:
            self.own = None
        elif own is None or list(own.addresses) != addresses or now - own.seq > RESIGN_MS:
            try:
                self.own = sign_record(
                    self._keypair, self._network, max(now, own.seq + 1 if own else 0), addresses
                )
            except RecordError as exc:  # an announce address of another shape: share none
                log(logger, logging.WARNING, "cannot announce these addresses", error=str(exc))
                self.own = None
        return self.own

    # -- the exchange --------------------------------------------------------------------------

    def hears_directly(self, peer: str, origin: str) -> bool:
        """Whether ``peer`` said (at our last exchange) it is connected to ``origin``, so it gets
        ``origin``'s own statements first-hand (node.flood skips relaying those to it)."""
        return origin in self.neighbours.get(peer, ())

    def answer(self, query: bytes) -> PeerAnswer:
        """Our answer to a peer's exchange; the asker's own record (``query``) is learnt when it
        checks out (a bad one is only counted: requests are rate-limited per peer anyway)."""
        asker = ""
        if query:
            try:
                record = decode_record(query, self._network)
            except RecordError as exc:
                self._metrics.refused.labels(exc.reason).inc()
            else:
                asker = record.peer_id
                self.learn([record])
        chosen: list[PeerRecord] = [self.own] if self.own is not None else []
        quorum = [r for p, r in self.records.items() if p in self.quorum_peers and p != asker]
        others = [r for p, r in self.records.items() if p not in self.quorum_peers and p != asker]
        others.sort(key=lambda r: r.seq, reverse=True)  # the freshest first: most likely reachable
        for record in quorum + others:
            if len(chosen) >= MAX_RECORDS_PER_ANSWER:
                break
            chosen.append(record)
        neighbours = tuple(sorted(self._transport.connected_peers())[:MAX_NEIGHBOURS])
        return PeerAnswer(tuple(chosen), neighbours)

    async def exchange(self, peer: str) -> None:
        """Swap records with ``peer`` (ours goes in the question)."""
        own = self.own.encode() if self.own is not None else b""
        try:
            answer = await self._requests.ask(peer, PEERS, own)
        except BadAnswerError as exc:  # counted and penalised by PeerRequests
            reason = exc.detail
            self._metrics.exchanges.labels("bad_answer").inc()
            log(logger, logging.DEBUG, "peer exchange refused", peer=peer, reason=reason)
            return
        except NetError:
            self._metrics.exchanges.labels("failed").inc()
            return
        self._metrics.exchanges.labels("ok").inc()
        if peer in self._exchanged:  # still connected
            self.neighbours[peer] = frozenset(answer.neighbours)
        learnt = self.learn(answer.records)
        if learnt:
            log(logger, logging.DEBUG, "learnt peer records", peer=peer, new=learnt, known=len(self.records))

    # -- staying connected ---------------------------------------------------------------------

    async def run(self) -> None:
        """Exchange records with new peers, dial whom we lack, forever (a round every 2 or 30 s)."""
        self.load()
        async with trio.open_nursery() as nursery:
            while True:
                wait = self._round(nursery)
                await trio.sleep(wait)

    def _round(self, nursery: trio.Nursery) -> float:
        """One round; returns the seconds until the next."""
        self.refresh_own()
        connected = set(self._transport.connected_peers())
        now_s = monotonic_ms() / 1000
        for peer in set(self._exchanged) - connected:  # a peer that comes back is asked again
            del self._exchanged[peer]
            self.neighbours.pop(peer, None)
        for peer in sorted(connected):  # new peers at once, then after 5, 10, 20 … up to 120 s
            due_s, wait_s = self._exchanged.get(peer, (now_s, FIRST_REFRESH_S))
            if now_s >= due_s:
                self._exchanged[peer] = (now_s + wait_s, min(REFRESH_S, 2 * wait_s))
                nursery.start_soon(self.exchange, peer)
        dials = self.to_dial(connected, now_s)
        for record in dials:
            self._dialing.add(record.peer_id)
            nursery.start_soon(self._dial, record)
        lacking = self.quorum_peers - connected
        wait = FAST_ROUND_S if lacking or len(connected) < TARGET_CONNECTIONS else SLOW_ROUND_S
        next_due_s = min((due for due, _ in self._exchanged.values()), default=now_s + wait)
        return max(FAST_ROUND_S, min(wait, next_due_s - now_s))

    def to_dial(self, connected: set[str], now_s: float) -> list[PeerRecord]:
        """Whom to dial now: quorum validators we lack, then others up to the target."""
        if self._dialer is None:
            return []

        def ready(peer: str) -> bool:
            next_at, _ = self._backoff.get(peer, (0.0, 0.0))
            return peer not in connected and peer not in self._dialing and now_s >= next_at

        chosen = [self.records[p] for p in sorted(self.quorum_peers) if p in self.records and ready(p)]
        room = TARGET_CONNECTIONS - len(connected) - len(self._dialing) - len(chosen)
        if room > 0:
            others = [r for p, r in self.records.items() if p not in self.quorum_peers and ready(p)]
            chosen += self._rng.sample(others, min(room, len(others)))
        return chosen[:MAX_DIALS_PER_ROUND]

    async def _dial(self, record: PeerRecord) -> None:
        peer = record.peer_id
        assert self._dialer is not None
        what = "quorum validator" if peer in self.quorum_peers else "discovered peer"
        try:
            await self._dialer.dial(peer, record.dial_addresses())
        except NetError as exc:
            self._metrics.dials.labels("failed").inc()
            _, delay = self._backoff.get(peer, (0.0, BACKOFF_FIRST_S / 2))
            delay = min(BACKOFF_MAX_S, delay * 2)
            self._backoff[peer] = (monotonic_ms() / 1000 + delay, delay)
            if peer in self.quorum_peers:  # said at the default log level, once a minute
                self._failures.failed(peer, ",".join(record.addresses), exc, monotonic_ms() / 1000, what)
            else:
                log(logger, logging.DEBUG, "dial failed", peer=peer, error=str(exc))
        else:
            self._metrics.dials.labels("ok").inc()
            self._backoff.pop(peer, None)
            self._failures.succeeded(peer, what)
        finally:
            self._dialing.discard(peer)

    def status(self) -> dict[str, object]:
        """What /node shows of discovery."""
        connected = set(self._transport.connected_peers())
        return {
            "known_peers": len(self.records),
            "quorum_connected": len(self.quorum_peers & connected),
            "quorum_peers": len(self.quorum_peers),
            "announced": list(self.own.addresses) if self.own else [],
        }
