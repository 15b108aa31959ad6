"""Statement flooding: every validator relays the SCP statements it accepts to its other peers.

Validators on separate machines are rarely all connected to each other (a node bootstraps from
one or two peers; discovery fills in the rest over time), yet SCP needs every statement of a
quorum. Like stellar-core's floodgate, a validator passes on each *new*, signature-checked
statement of a validator in its transitive quorum, for the slot it works on or a few ahead (or
the one it just closed), to every connected peer except the one it came from and its signer.

* Dedup by hash happens in the herder before anything else (``Herder._seen``); ``relay`` also
  refuses an envelope it already relayed, so a statement crosses each link at most once per
  direction.
* A statement is relayed only once the herder holds every tx set it names, so the peer that
  receives it can fetch them from us (it asks the relayer first).
* A peer that told us (``node.discovery``'s neighbour lists) it is connected to the signer gets the
  statement first-hand and is skipped: in a full mesh nothing is relayed at all, in a chain
  everything is. A stale list costs at worst a statement that arrives with the 4 s "stuck" pull.
* Per origin (the signing validator) relays are rate-limited: a validator of our quorum that
  floods valid but pointless statements is not amplified by the network.
* Counted in ``tally_scp_messages{direction="relay", outcome=…}``: ``sent`` (one per statement,
  whatever the number of peers), ``rate_limited``, ``outside_quorum``; the frames themselves show
  in ``tally_net_messages_out_total{type="frame"}``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from consensus import QuorumSet, Statement
from consensus.quorum_health import MAX_TRANSITIVE_NODES, transitive_quorum
from node.clock import monotonic_ms
from node.metrics import NodeMetrics
from node.peer_ids import peer_id_for
from node.ratelimit import RateLimiter
from node.transport import Transport
from node.wire import SignedEnvelope, encode_envelope_frame

RELAY_RATE_PER_ORIGIN = 200.0  # statements per second relayed for one validator (sustained) …
RELAY_BURST_PER_ORIGIN = 1_000.0  # … and in a burst (an honest one makes ~10-20 per ledger)
RELAYED_MEMORY = 20_000  # envelope hashes remembered as relayed


class TransitiveQuorum:
    """The validators whose statements matter to us: our quorum set's, and, transitively, those of
    the quorum sets its members announce with their statements (``consensus.quorum_health``'s
    breadth-first walk, bounded by its ``MAX_TRANSITIVE_NODES``).
    """

    def __init__(self, own_id: bytes, own: QuorumSet) -> None:
        self._own_id, self._own = own_id, own
        self._announced: dict[bytes, QuorumSet] = {}  # member -> the quorum set it votes with
        self._members = self._walk()

    def _walk(self) -> frozenset[bytes]:
        return frozenset(transitive_quorum(self._own_id, self._own, self._announced.get))

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._members

    def __len__(self) -> int:
        return len(self._members)

    def members(self) -> frozenset[bytes]:
        return self._members

    def learn(self, node_id: bytes, qset: QuorumSet | None) -> None:
        """``node_id`` says it votes with ``qset`` (when we know it): take that in if it is a member."""
        if qset is None or node_id not in self._members or self._announced.get(node_id) == qset:
            return
        self._announced[node_id] = qset
        self._members = self._walk()


class StatementFlood:
    """Relays other validators' statements; the herder decides *when* (see the module docstring)."""

    def __init__(
        self,
        transport: Transport,
        metrics: NodeMetrics,
        quorum: TransitiveQuorum,
        *,
        hears_directly: Callable[[str, str], bool] = lambda peer, origin: False,
        rate: float = RELAY_RATE_PER_ORIGIN,
        burst: float = RELAY_BURST_PER_ORIGIN,
    ) -> None:
        self._transport = transport
        self._metrics = metrics
        self.quorum = quorum
        self._hears_directly = hears_directly
        self._limiter = RateLimiter(rate, burst, max_clients=MAX_TRANSITIVE_NODES, clock=_seconds)
        self._relayed: OrderedDict[bytes, None] = OrderedDict()

    def relay(self, envelope: SignedEnvelope, statement: Statement, came_from: str) -> bool:
        """Pass ``envelope`` on to every connected peer but ``came_from`` and its signer.

        Returns whether it went out (False: relayed before, signer outside our transitive quorum,
        or over the signer's rate).
        """
        digest = envelope.hash
        if digest in self._relayed:
            return False
        self._relayed[digest] = None
        if len(self._relayed) > RELAYED_MEMORY:
            self._relayed.popitem(last=False)
        outcome = self._metrics.scp_messages.labels
        if statement.node_id not in self.quorum:
            outcome("relay", "outside_quorum").inc()
            return False
        if not self._limiter.allow(statement.node_id.hex()):
            outcome("relay", "rate_limited").inc()
            return False
        origin = peer_id_for(statement.node_id)
        skip = {came_from, origin}
        targets = [p for p in self._transport.connected_peers() if p not in skip]
        direct = {p for p in targets if self._hears_directly(p, origin)}  # the signer sent it them
        if len(direct) == len(targets):
            outcome("relay", "not_needed").inc()
            return False
        self._transport.broadcast(encode_envelope_frame(envelope), exclude=skip | direct)
        outcome("relay", "sent").inc()
        return True


def _seconds() -> float:
    return monotonic_ms() / 1000
