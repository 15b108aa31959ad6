"""The herder: runs one SCP slot per ledger and turns externalized values into closed ledgers.

It is the consensus ``Driver`` (the pure questions SCP asks about values) and the glue between
the sans-IO ``consensus.ScpNode`` and the world: it signs and sends this validator's statements
(persisting them first), verifies peers' envelopes, holds a statement back until the tx sets it
names are fetched, relays the ones it accepts to its other peers (``node.flood``: validators that
are not connected to each other still hear each other), runs SCP's timers, and decides when to
start a slot:

* while transactions wait, one ledger per ``close_interval`` (default 1 s);
* with nothing to do, one heartbeat ledger per ``heartbeat_interval`` (default 60 s), so an idle
  community network costs almost nothing;
* at once when a peer already nominates for the slot, so no validator lags its quorum;
* at the deadline of a proposal (protocol version 2), so a vote ends on time on an idle network.

Values are ``protocol.ledger.CloseValue`` encodings: {tx-set hash, close time, upgrades}. Which
values this validator votes for, and how confirmed candidates combine (the largest tx set, the
median close time, upgrades only as configured), is ``protocol.close_values``.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import trio

from consensus import (
    CancelTimer,
    Confirm,
    ConsensusError,
    Effect,
    Emit,
    Externalized,
    NeedQuorumSet,
    Nominate,
    Prepare,
    QuorumSet,
    ScpNode,
    SetTimer,
    Statement,
    TimerKind,
    Validity,
    all_validators,
    decode_statement,
    encode_statement,
    organisation_weight,
)
from node.chain import LedgerChain
from node.clock import monotonic_ms, wall_ms
from node.cpu import CPU, Stage
from node.errors import NetError, NodeError, StorageError
from node.flood import StatementFlood, TransitiveQuorum
from node.logs import log
from node.metrics import NodeMetrics
from node.nomination_watch import NominationWatch
from node.outbox import Held, StatementOutbox
from node.peer_ids import peer_id_for
from node.peer_requests import (
    SCP_STATE,
    TX_OFFER,
    BadAnswerError,
    PeerRequests,
    TxSetOffer,
    offer_parts,
    peers_starting_with,
)
from node.quorum_monitor import QuorumMonitor
from node.quorum_sets import QuorumSets
from node.ratelimit import RateLimiter
from node.timers import TimerService
from node.transport import Transport
from node.tx_set_fetch import TxSetFetcher
from node.tx_set_offers import TxSetOffers
from node.wire import (
    SignedEnvelope,
    decode_envelope,
    encode_envelope_frame,
    encode_ledger_closed_frame,
    envelope_signature_valid,
    sign_envelope,
)
from protocol.close_values import UpgradeWishes, close_value_problem, combine_close_values
from protocol.errors import DecodeError
from protocol.governance.deadlines import next_deadline
from protocol.keys import Keypair
from protocol.ledger import (
    MAX_TX_SET_BYTES,
    CloseValue,
    TxSet,
    decode_close_value,
    decode_tx_set,
    make_tx_set,
)
from protocol.state import StateOverlay
from protocol.versions import PROTOCOL_V2

logger = logging.getLogger("tally.herder")

FUTURE_SLOTS = 3  # envelopes this many slots ahead are kept for when we get there
MAX_FUTURE_ENVELOPES = 2_000
MAX_PARKED = 2_000
STUCK_AFTER_MS = 4_000  # a slot not externalized after this long: pull peers' SCP state
SEEN_MEMORY = 20_000
REPLAY_SLACK = 3  # an envelope for a slot this far back is a replay
FAR_FUTURE_RATE = 100.0  # envelopes per second per peer for slots past FUTURE_SLOTS that we check …
FAR_FUTURE_BURST = 1_000.0  # … and in a burst (honest peers send such only while we are behind)
MAX_TIMEOUT_MS = 60_000
# Validators nominate at about the same time (each paces from its own previous nomination), and
# only the round's leader's tx set goes into the ledger. A payment another validator admitted in
# the gossip batcher's last flush interval (0.2 s) was not in the leader's mempool yet, so it
# waited a whole interval more: about a fifth of all payments at a 1 s interval. Each validator
# sends what it holds this long before its own nomination is due, so the leader has it.
PRE_NOMINATION_FLUSH_MS = 100
MAX_DECODED_VALUES = 1_000  # close values kept decoded (a few per slot; bounded against floods)
NO_UPGRADES = UpgradeWishes()


@dataclass(frozen=True)
class HerderConfig:
    """The herder's settings, from node.toml (``node.assembly`` builds it)."""

    network: bytes
    keypair: Keypair
    quorum_set: QuorumSet
    is_validator: bool
    close_interval_ms: int = 1000
    heartbeat_interval_ms: int = 60_000
    max_tx_set_size: int = 10_000
    upgrade_wishes: UpgradeWishes = NO_UPGRADES  # what this validator votes to upgrade (node.toml)


@dataclass
class _Pending:
    """A statement held back until the tx sets it names are here (SCP must never see a value it
    cannot check)."""

    envelope: SignedEnvelope
    statement: Statement
    peer: str
    missing: set[bytes]


class Herder:
    """Drives one SCP slot per ledger: the consensus driver, the signer and sender of this
    validator's statements, the gate for peers' statements, and the closer of externalized ledgers.

    Invariants: a statement of ours is persisted (with the tx sets it names) before it leaves, so a
    restart never contradicts it (``node.outbox`` writes it off the event loop, then sends it); SCP only sees a peer's statement once its signature verified and
    every tx set it names is here; ``slot`` is always the ledger after the chain's last one, and a
    slot's ledger is written at most once (``_closing``).
    """

    def __init__(
        self,
        config: HerderConfig,
        chain: LedgerChain,
        transport: Transport,
        requests: PeerRequests,
        quorum_sets: QuorumSets,
        timers: TimerService,
        metrics: NodeMetrics,
        *,
        report_behind: Callable[[str, int], None],
        monitor: QuorumMonitor | None = None,
        hears_directly: Callable[[str, str], bool] | None = None,
        flush_gossip: Callable[[], None] = lambda: None,
    ) -> None:
        """``hears_directly(peer, signer)``: whether ``peer`` is connected to ``signer`` (peer ids),
        so relaying ``signer``'s statements to it is not needed (node.discovery). ``flush_gossip``
        sends the transactions this node admitted but has not gossiped yet (node.peer_service)."""
        self.config = config
        self.chain = chain
        self.transport = transport
        self.requests = requests
        self.quorum_sets = quorum_sets
        self.timers = timers
        self.metrics = metrics
        self._report_behind = report_behind  # a peer votes on a later slot: it claims that ledger
        self.monitor = monitor  # live quorum health: sees every verified statement and closed ledger
        self.node_id = config.keypair.public_key
        self.scp = ScpNode(self.node_id, config.quorum_set, self, is_validator=config.is_validator)
        self.validator_peers = {peer_id_for(v) for v in all_validators(config.quorum_set)} - {
            peer_id_for(self.node_id)
        }
        self.slot = chain.last.seq + 1
        self._nominating = False
        self._slot_started_ms = monotonic_ms()
        self._marks: dict[str, int] = {}  # when this slot reached each phase (for the close log)
        self._last_close_ms = monotonic_ms()
        # Ledgers are paced from the start of the previous slot's nomination, not from its close
        # (_schedule_nomination): when this slot began, and when this node started nominating in it.
        self._paced_from_ms = self._last_close_ms
        self._nominated_ms: int | None = None
        self._signed: dict[int, dict[bytes, SignedEnvelope]] = {}  # slot -> statement bytes -> envelope
        self._seen: OrderedDict[bytes, int] = OrderedDict()  # envelope hash -> slot
        self._future: list[tuple[SignedEnvelope, Statement, str]] = []
        self._parked: list[_Pending] = []
        self._fetching: set[bytes] = set()
        self._closing: set[int] = set()  # slots whose ledger is being written
        self._nursery: trio.Nursery | None = None
        self._nominations = NominationWatch()
        self._behind_since_ms = -(10**12)  # when a peer last voted on a slot past our next one
        self._decoded_values: dict[bytes, CloseValue] = {}  # value bytes -> decoded (_close_value)
        self.offers = TxSetOffers(chain.mempool)  # tx sets peers offered before naming them
        self.tx_set_fetcher = TxSetFetcher(requests, self.offers, chain.mempool, chain.tx_sets.__contains__)
        self._flush_gossip = flush_gossip
        self._own_set: TxSet | None = None  # the set this node nominated in the open slot …
        self._own_set_offered = False  # … and whether it was offered to peers yet
        self.flood = StatementFlood(
            transport,
            metrics,
            TransitiveQuorum(self.node_id, config.quorum_set),
            hears_directly=hears_directly or (lambda peer, origin: False),
        )
        # our statements leave only once written, with what they name (node.outbox)
        self.outbox = StatementOutbox(chain.store, self._send_own)
        self._far_future = RateLimiter(
            FAR_FUTURE_RATE, FAR_FUTURE_BURST, max_clients=4096, clock=lambda: monotonic_ms() / 1000
        )  # per peer: envelopes for slots past FUTURE_SLOTS that we verify

    # -- life cycle ----------------------------------------------------------------------------

    def start(self, nursery: trio.Nursery, own_envelopes: dict[int, tuple[bytes, ...]]) -> None:
        """Resume: restore this validator's latest statements for the open slot and re-send them."""
        self._nursery = nursery
        if self.config.is_validator:
            nursery.start_soon(self.outbox.run)
        for raw in self.chain.store.own_tx_sets(self.slot):  # what our restored statements name
            try:
                self.chain.tx_sets.add(decode_tx_set(raw, self.config.network))
            except DecodeError:
                continue
        restored = []
        for raw in own_envelopes.get(self.slot, ()):
            try:
                envelope = decode_envelope(raw)
                statement = decode_statement(envelope.statement)
            except (DecodeError, ConsensusError):
                continue
            restored.append(statement)
            self._signed.setdefault(self.slot, {})[envelope.statement] = envelope
        if restored:
            self.scp.restore(restored)
            self._nominating = any(isinstance(s.pledge, Nominate) for s in restored)
            for statement in restored:  # read back from disk: durable already
                self.transport.broadcast(
                    encode_envelope_frame(self._signed[self.slot][encode_statement(statement)])
                )
            log(logger, logging.INFO, "consensus state restored", slot=self.slot, statements=len(restored))
        self._schedule_nomination()
        self._arm_stuck_timer()

    # -- inputs --------------------------------------------------------------------------------

    def transactions_arrived(self) -> None:
        """The mempool got work: make sure a ledger is planned within ``close_interval``, and take
        any tx set we are fetching that the new transactions complete (node.tx_set_fetch)."""
        self._schedule_nomination()
        for tx_set in self.tx_set_fetcher.completed_meanwhile():
            with CPU.stage(Stage.CONSENSUS):  # called from the network's and the API's tasks
                self._tx_set_known(tx_set)

    def receive_envelope(self, envelope: SignedEnvelope, peer: str) -> None:
        with CPU.stage(Stage.CONSENSUS):  # called from the network's tasks
            self._receive_envelope(envelope, peer)

    def _receive_envelope(self, envelope: SignedEnvelope, peer: str) -> None:
        digest = envelope.hash
        seen_slot = self._seen.get(digest)
        if seen_slot is not None:
            self.metrics.scp_messages.labels("in", "duplicate").inc()
            if seen_slot < self.slot - REPLAY_SLACK:
                self._bad(peer, "replay", f"re-sent an envelope of slot {seen_slot}")
            return
        try:
            statement = decode_statement(envelope.statement)
        except ConsensusError as exc:
            self._remember(digest, 0)
            self._bad(peer, "bad_statement", str(exc))
            return
        self._remember(digest, statement.slot)
        if not self._slot_in_reach(statement.slot, peer):
            return
        if not envelope_signature_valid(self.config.network, statement.node_id, envelope):
            self._bad(peer, "bad_signature", "SCP envelope signature does not verify")
            return
        if self._nominations.conflicting(statement):
            if peer == peer_id_for(statement.node_id):
                self._bad(peer, "equivocation", "two nominations for one slot that contradict each other")
            else:  # relayed by an honest peer: count it, blame nobody
                self.metrics.invalid_messages.labels("equivocation").inc()
            return
        self.metrics.scp_messages.labels("in", "valid").inc()
        if self.monitor is not None:
            self.monitor.statement_seen(statement, peer)
        if not self.config.is_validator:
            return  # watchers follow closed ledgers, not votes
        self.flood.quorum.learn(statement.node_id, self.quorum_sets.get(statement.qset_hash))
        if statement.slot < self.slot:
            if statement.slot == self.slot - 1 and self._tx_sets_known(statement):
                self.flood.relay(envelope, statement, peer)  # for peers still finishing that slot
            return
        if statement.slot > self.slot:
            if statement.slot <= self.slot + FUTURE_SLOTS and len(self._future) < MAX_FUTURE_ENVELOPES:
                self._future.append((envelope, statement, peer))
            if statement.slot > self.slot + 1:
                self._behind_since_ms = monotonic_ms()
                self._report_behind(peer, statement.slot - 1)
            return
        self._process(envelope, statement, peer)

    def _slot_in_reach(self, slot: int, peer: str) -> bool:
        """Whether a statement for ``slot`` deserves a signature check. Long-closed slots are
        replays (honest peers never send those); statements beyond the next few slots are what a
        node that is behind receives, so they are checked within a budget per peer (they only
        tell us to catch up), and a peer that floods them is dropped unchecked and penalised."""
        if slot < self.slot - REPLAY_SLACK:
            self._bad(peer, "replay", f"an envelope of slot {slot}; this node is on slot {self.slot}")
            return False
        if slot > self.slot + FUTURE_SLOTS and not self._far_future.allow(peer):
            self._bad(peer, "far_future", f"too many envelopes for slots past {self.slot + FUTURE_SLOTS}")
            return False
        return True

    def _tx_sets_known(self, statement: Statement) -> bool:
        try:
            hashes = {self._close_value(v).tx_set_hash for v in _values_of(statement)}
        except DecodeError:
            return False
        return all(h in self.chain.tx_sets for h in hashes)

    def ledger_advanced(self) -> None:
        """The chain moved on (by consensus or by catch-up): open the next slot."""
        if self.monitor is not None:
            self.monitor.ledger_closed(self.chain.last)
        self.slot = self.chain.last.seq + 1
        self._nominating = False
        self._last_close_ms = monotonic_ms()
        self._slot_started_ms = self._last_close_ms
        self._paced_from_ms = self._nominated_ms if self._nominated_ms is not None else self._last_close_ms
        self._nominated_ms = None
        self._marks = {}
        self.scp.purge_slots_below(self.slot - 1)
        self._nominations.forget_below(self.slot - 1)
        self.outbox.forget_below(self.slot - 1)
        self._decoded_values.clear()
        self._own_set, self._own_set_offered = None, False
        for tx_set in self.offers.ready_on(self.chain.last.hash):  # offered while we were closing
            self.chain.tx_sets.add(tx_set)
        for old in [s for s in self._signed if s < self.slot - 1]:
            del self._signed[old]
        self._parked = [p for p in self._parked if p.statement.slot >= self.slot]
        future, self._future = self._future, []
        for envelope, statement, peer in future:
            if statement.slot == self.slot:
                self._process(envelope, statement, peer)
            elif statement.slot > self.slot:
                self._future.append((envelope, statement, peer))
        self._schedule_nomination()
        self._arm_stuck_timer()

    def describe(self) -> dict[str, object]:
        """What the open slot waits for (shown by /node; the first thing to read when stuck)."""
        statements = []
        for statement in self.scp.latest_statements(self.slot):
            pledge = statement.pledge
            statements.append(
                {
                    "node": peer_id_for(statement.node_id)[-8:],
                    "type": type(pledge).__name__.lower(),
                    "counter": getattr(getattr(pledge, "ballot", None), "counter", None),
                }
            )
        return {
            "slot": self.slot,
            "nominating": self._nominating,
            "parked": len(self._parked),
            "waiting_for_tx_sets": sorted({h.hex()[:16] for p in self._parked for h in p.missing}),
            "fetching": len(self._fetching),
            "future": len(self._future),
            "statements": statements,
            "externalized": self.scp.externalized_value(self.slot) is not None,
        }

    # -- requests peers make -------------------------------------------------------------------

    def envelopes_for(self, slot: int) -> list[SignedEnvelope]:
        """The latest statements for ``slot`` (ours only once written: ``node.outbox``)."""
        signed = self._signed.get(slot, {})
        found = []
        for statement in self.scp.latest_statements(slot):
            envelope = signed.get(encode_statement(statement))
            if envelope is not None and self.outbox.held(envelope.hash) is None:
                found.append(envelope)
        return found

    # -- consensus driver ----------------------------------------------------------------------

    def validate_value(self, slot: int, value: bytes, nomination: bool) -> Validity:
        try:
            close_value = self._close_value(value)
        except DecodeError:
            return Validity.INVALID
        if slot != self.slot:
            return Validity.MAYBE_VALID
        last = self.chain.last
        wishes = self.config.upgrade_wishes
        if close_value_problem(close_value, last, wall_ms(), wishes, nomination=nomination) is not None:
            return Validity.INVALID
        tx_set = self.chain.tx_sets.get(close_value.tx_set_hash)
        if tx_set is None:
            return Validity.MAYBE_VALID
        if tx_set.previous_hash != last.hash or len(tx_set.transactions) > last.params.max_tx_set_size:
            return Validity.INVALID
        return Validity.FULLY_VALID

    def extract_valid_value(self, slot: int, value: bytes) -> bytes | None:
        return None

    def combine_candidates(self, slot: int, values: Sequence[bytes]) -> bytes:
        def size(tx_set_hash: bytes) -> int:
            tx_set = self.chain.tx_sets.get(tx_set_hash)
            return len(tx_set.transactions) if tx_set else -1

        return combine_close_values([self._close_value(v) for v in values], size).encode()

    def compute_timeout_ms(self, round: int, is_nomination: bool) -> int:
        return min(1000 * round, MAX_TIMEOUT_MS)

    def node_weight(self, node: bytes, qset: QuorumSet, is_local: bool) -> int:
        return organisation_weight(node, qset, is_local)

    # -- internals -----------------------------------------------------------------------------

    def _process(self, envelope: SignedEnvelope, statement: Statement, peer: str) -> None:
        self._signed.setdefault(statement.slot, {})[envelope.statement] = envelope
        try:
            missing = {self._close_value(v).tx_set_hash for v in _values_of(statement)}
        except DecodeError:
            self._bad(peer, "bad_value", "SCP statement names a value that does not decode")
            return
        missing = {h for h in missing if h not in self.chain.tx_sets}
        if missing:
            if len(self._parked) < MAX_PARKED:
                self._parked.append(_Pending(envelope, statement, peer, missing))
            for tx_set_hash in missing:
                self._fetch_tx_set(tx_set_hash, peer)
            return
        if statement.node_id != self.node_id:  # relayed once we can serve the tx sets it names
            self.flood.relay(envelope, statement, peer)
        self._apply(self.scp.receive(statement, monotonic_ms()))
        if isinstance(statement.pledge, Nominate) and not self._nominating and self.config.is_validator:
            self._start_nomination()

    def _apply(self, effects: list[Effect]) -> None:
        # Externalized last: the ledger's proof must include the statements just emitted.
        for effect in sorted(effects, key=lambda e: isinstance(e, Externalized)):
            if isinstance(effect, Emit):
                self._emit(effect.statement)
            elif isinstance(effect, SetTimer):
                self.timers.set(
                    ("scp", effect.slot, effect.kind),
                    monotonic_ms() + effect.delay_ms,
                    functools.partial(self._timer_fired, effect.slot, effect.kind, effect.generation),
                )
            elif isinstance(effect, CancelTimer):
                self.timers.cancel(("scp", effect.slot, effect.kind))
            elif isinstance(effect, Externalized):
                self._externalized(effect.slot, effect.value)
            elif isinstance(effect, NeedQuorumSet):
                self._fetch_qset(effect.qset_hash, peer_id_for(effect.node_id))

    def _timer_fired(self, slot: int, kind: TimerKind, generation: int) -> None:
        self._apply(self.scp.timer_fired(slot, kind, generation, monotonic_ms()))

    def _emit(self, statement: Statement) -> None:
        if isinstance(statement.pledge, Nominate) and not self._own_set_offered:
            self._offer_own_set(statement.pledge)
        self._marks.setdefault(type(statement.pledge).__name__.lower(), monotonic_ms())
        raw = encode_statement(statement)
        envelope = sign_envelope(self.config.network, raw, self.config.keypair)
        self._signed.setdefault(statement.slot, {})[raw] = envelope
        self._remember(envelope.hash, statement.slot)
        self._send_durably(statement, envelope)

    def _offer_own_set(self, pledge: Nominate) -> None:
        """Voting for the set we built (we lead a nomination round): offer it to our validator
        peers as hashes now, while our statement is still being written (node.tx_set_offers).
        Our unsent gossip goes first, so they hold what we admitted in the last flush interval."""
        own = self._own_set
        if own is None or self._nursery is None:
            return
        if own.hash not in {self._close_value(v).tx_set_hash for v in pledge.votes}:
            return
        self._own_set_offered = True
        self._flush_gossip()
        offers = offer_parts(own)
        for peer in self.transport.connected_peers():
            if peer in self.validator_peers:
                self._nursery.start_soon(self._send_offer, peer, offers)

    async def _send_offer(self, peer: str, offers: list[TxSetOffer]) -> None:
        with contextlib.suppress(NetError, BadAnswerError):  # a peer that cannot take it asks later
            for offer in offers:  # in order, one request each
                await self.requests.ask(peer, TX_OFFER, offer)

    def offered(self, offer: TxSetOffer) -> int:
        """A peer offers a tx set it proposes: keep it as a known set if our mempool completes it
        (statements naming it then go straight to SCP). Returns how many transactions we lack."""
        if offer.tx_set_hash in self.chain.tx_sets:
            return 0
        tx_set, lacking = self.offers.receive(offer, self.chain.last.hash)
        if tx_set is not None:
            self._tx_set_known(tx_set)
        return lacking

    def _send_durably(self, statement: Statement, envelope: SignedEnvelope) -> None:
        """Hand our statement to the outbox, which sends it once it is written with our latest
        statements for its slot and the tx sets it names: after a crash we must never contradict
        what we said, and must still be able to serve those tx sets (peers park our statements
        until they have them: a tx set lost with a crash stalled the slot for good)."""
        signed = self._signed.get(statement.slot, {})
        latest = [signed.get(encode_statement(s)) for s in self.scp.own_latest(statement.slot)]
        tx_sets = []
        for value in _values_of(statement):
            tx_set = self.chain.tx_sets.get(self._close_value(value).tx_set_hash)
            if tx_set is not None:
                tx_sets.append(tx_set)
        self.outbox.submit(statement.slot, envelope, [e.encode() for e in latest if e is not None], tx_sets)

    def _send_own(self, envelope: SignedEnvelope) -> None:
        """The outbox's sender: ``envelope`` is written now."""
        self.metrics.scp_messages.labels("out", "sent").inc()
        self.transport.broadcast(encode_envelope_frame(envelope))

    def _externalized(self, slot: int, value: bytes) -> None:
        if slot != self.slot or slot in self._closing or self._nursery is None:
            return
        close_value = self._close_value(value)
        tx_set = self.chain.tx_sets.get(close_value.tx_set_hash)
        if tx_set is None:  # cannot happen: statements wait for their tx sets; be safe anyway
            log(logger, logging.ERROR, "externalized a value whose tx set is unknown", slot=slot)
            return
        proof = [e.encode() for e in self._proof(slot)]
        now = monotonic_ms()
        self.metrics.consensus_seconds.observe((now - self._slot_started_ms) / 1000)
        log(
            logger,
            logging.DEBUG,
            "slot externalized",
            slot=slot,
            total_ms=now - self._slot_started_ms,
            **{f"{phase}_ms": at - self._slot_started_ms for phase, at in self._marks.items()},
        )
        self._closing.add(slot)
        self._nursery.start_soon(self._close, slot, value, tx_set, close_value, proof, now)

    async def _close(
        self,
        slot: int,
        value: bytes,
        tx_set: TxSet,
        close_value: CloseValue,
        proof: list[bytes],
        externalized_ms: int,
    ) -> None:
        try:
            closed = await self.chain.close(tx_set, close_value, proof)
        except StorageError as exc:
            log(logger, logging.ERROR, "ledger write failed; retrying in 1 s", slot=slot, error=str(exc))
            self.timers.set(
                ("retry-close", slot), monotonic_ms() + 1000, lambda: self._externalized(slot, value)
            )
            return
        finally:
            self._closing.discard(slot)
        if closed is None:
            return  # catch-up wrote this ledger first and already opened the next slot
        # what the network closes per second of work, for the API's admissions (node.capacity)
        started = self._nominated_ms if self._nominated_ms is not None else self._slot_started_ms
        mempool = self.chain.mempool
        mempool.capacity.ledger_closed(
            len(tx_set.transactions),
            (monotonic_ms() - started) / 1000,
            backlog=mempool.pending_count,
            agreed_s=max(0, externalized_ms - started) / 1000,
        )
        self.transport.broadcast(encode_ledger_closed_frame(closed.header.seq, closed.header.hash))
        with contextlib.suppress(NodeError):
            self.chain.store.prune_own_envelopes(slot)
        self.ledger_advanced()

    def _proof(self, slot: int) -> list[SignedEnvelope]:
        signed = self._signed.get(slot, {})
        proof = []
        for statement in self.scp.externalize_proof(slot):
            envelope = signed.get(encode_statement(statement))
            if envelope is not None:
                proof.append(envelope)
        return proof

    def _schedule_nomination(self) -> None:
        """Plan this slot's nomination. While transactions wait, slots start ``close_interval``
        apart, counted from when the previous one started nominating: its consensus, apply and
        write overlap the wait instead of adding to it (they added 0.5-0.8 s to every interval
        under load), so the close interval sits at its target as long as a close fits in it.
        With nothing to do, the heartbeat counts from the last close."""
        if not self.config.is_validator or self._nominating:
            return
        next_paced = self._paced_from_ms + self.config.close_interval_ms
        working = self.chain.mempool.pending_count > 0  # queued-ahead ones cannot be in a ledger yet
        due = next_paced if working else self._last_close_ms + self.config.heartbeat_interval_ms
        until_deadline = self._until_deadline_ms()
        if until_deadline is not None:  # a proposal's vote ends: close then, not at the heartbeat
            due = min(due, max(monotonic_ms() + until_deadline, next_paced))
        self.timers.set(("nominate",), due, self._nomination_due)
        if working:  # see PRE_NOMINATION_FLUSH_MS
            self.timers.set(("flush gossip",), due - PRE_NOMINATION_FLUSH_MS, self._flush_gossip)

    def _nomination_due(self) -> None:
        if self._nominating:
            return
        deadline_passed = (until := self._until_deadline_ms()) is not None and until <= 0
        if (
            not self.chain.mempool.pending_count
            and not deadline_passed
            and monotonic_ms() < self._last_close_ms + self.config.heartbeat_interval_ms
        ):
            self._schedule_nomination()
            return
        self._start_nomination()

    def _until_deadline_ms(self) -> int | None:
        """Wall-clock milliseconds until the earliest open proposal's deadline (None: none open)."""
        if self.chain.last.version < PROTOCOL_V2:
            return None
        deadline = next_deadline(StateOverlay(self.chain.store))
        return None if deadline is None else deadline - wall_ms()

    def _start_nomination(self) -> None:
        last = self.chain.last
        self._nominating = True
        self._nominated_ms = monotonic_ms()
        self.timers.cancel(("nominate",))
        max_count = min(self.config.max_tx_set_size, last.params.max_tx_set_size)
        transactions = self.chain.mempool.select(max_count, MAX_TX_SET_BYTES - 64 * 1024)
        tx_set = make_tx_set(last.hash, transactions)
        self._own_set, self._own_set_offered = tx_set, False
        self._tx_set_known(tx_set)  # a peer's vote for the same set may be parked: it counts now
        upgrades = self.config.upgrade_wishes.for_ledger_after(last)
        value = CloseValue(tx_set.hash, max(wall_ms(), last.close_time_ms + 1), upgrades)
        log(logger, logging.DEBUG, "nominating", slot=self.slot, txs=len(transactions))
        self._apply(self.scp.nominate(self.slot, value.encode(), last.hash, monotonic_ms()))

    def _arm_stuck_timer(self) -> None:
        slot = self.slot
        self.timers.set(("stuck",), monotonic_ms() + STUCK_AFTER_MS, lambda: self._stuck(slot))

    def _stuck(self, slot: int) -> None:
        """A slot is taking long: statements may have been lost (restart, dropped link, healed
        partition). Pull peers' statements and send ours again; SCP ignores what it already has."""
        if slot != self.slot or not self.config.is_validator or self._nursery is None:
            return
        if self._nominating or self._parked or self._future:
            for peer in self.transport.connected_peers():
                self._nursery.start_soon(self._pull_state, peer, slot)
            for pending in self._parked:  # a tx set nobody had may be back (its node restarted)
                for tx_set_hash in pending.missing:
                    self._fetch_tx_set(tx_set_hash, pending.peer)
            # Behind (peers vote on later slots): our votes for this slot are stale to them, and
            # re-sending them only reads as a replay (it got restarted validators scored down).
            behind = monotonic_ms() - self._behind_since_ms < 2 * STUCK_AFTER_MS
            if not behind:
                self._resend_own(slot)
        self._arm_stuck_timer()

    def _resend_own(self, slot: int) -> None:
        """Send our latest statements for ``slot`` again; one whose write failed goes back to the
        outbox (written, then sent), one still waiting for its write will go out by itself."""
        signed = self._signed.get(slot, {})
        for statement in self.scp.own_latest(slot):
            envelope = signed.get(encode_statement(statement))
            if envelope is None:
                continue
            held = self.outbox.held(envelope.hash)
            if held is None:
                self.transport.broadcast(encode_envelope_frame(envelope))
            elif held is Held.WITHHELD:
                self._send_durably(statement, envelope)

    async def _pull_state(self, peer: str, slot: int) -> None:
        try:
            envelopes = await self.requests.ask(peer, SCP_STATE, slot)
        except (NetError, BadAnswerError):
            return
        for envelope in envelopes:
            self.receive_envelope(envelope, peer)

    def _fetch_tx_set(self, tx_set_hash: bytes, first_peer: str) -> None:
        self._fetch(tx_set_hash, self._fetch_tx_set_task, first_peer)

    def _fetch(self, key: bytes, task: Callable[[bytes, str], Awaitable[None]], first_peer: str) -> None:
        """Start fetching ``key`` (a tx set or quorum set hash) unless a fetch is already running."""
        if key in self._fetching or self._nursery is None:
            return
        self._fetching.add(key)
        self._nursery.start_soon(task, key, first_peer)

    async def _fetch_tx_set_task(self, tx_set_hash: bytes, first_peer: str) -> None:
        try:
            tx_set = await self.tx_set_fetcher.fetch(
                tx_set_hash, peers_starting_with(first_peer, self.transport.connected_peers())
            )
            if tx_set is not None:  # (None when it turned up meanwhile: released then)
                self._tx_set_known(tx_set)
        finally:
            self._fetching.discard(tx_set_hash)

    def _tx_set_known(self, tx_set: TxSet) -> None:
        """Keep ``tx_set`` and hand SCP the statements that waited for it. Every path that makes
        a set known during a slot goes through here: our own nomination often builds the very set
        a leader's vote (parked a moment earlier) names, and that vote then waited for a fetch
        that finds the set already here, or for the round's 1 s timeout."""
        self.chain.tx_sets.add(tx_set)
        self._release(tx_set.hash)

    def _release(self, tx_set_hash: bytes) -> None:
        ready = []
        for pending in self._parked:
            pending.missing.discard(tx_set_hash)
            if not pending.missing:
                ready.append(pending)
        self._parked = [p for p in self._parked if p.missing]
        for pending in ready:
            if pending.statement.slot == self.slot:
                self._process(pending.envelope, pending.statement, pending.peer)

    def _fetch_qset(self, qset_hash: bytes, peer: str) -> None:
        self._fetch(qset_hash, self._fetch_qset_task, peer)

    async def _fetch_qset_task(self, qset_hash: bytes, first_peer: str) -> None:
        """A statement names a quorum set SCP lacks: from our store (catch-up may have learnt
        it), else from the peer that sent the statement, then from the others."""
        try:
            qset = self.quorum_sets.get(qset_hash) or await self.quorum_sets.fetch(
                qset_hash, peers_starting_with(first_peer, self.transport.connected_peers())
            )
        finally:
            self._fetching.discard(qset_hash)
        if qset is not None:
            self._apply(self.scp.add_quorum_set(qset, monotonic_ms()))

    def _close_value(self, value: bytes) -> CloseValue:
        """``value`` decoded, once: SCP hands the same value to validation, combining, the tx-set
        checks and the close (it was decoded five times per slot). Raises DecodeError."""
        decoded = self._decoded_values.get(value)
        if decoded is None:
            decoded = decode_close_value(value)
            if len(self._decoded_values) >= MAX_DECODED_VALUES:
                self._decoded_values.clear()
            self._decoded_values[value] = decoded
        return decoded

    def _remember(self, digest: bytes, slot: int) -> None:
        self._seen[digest] = slot
        if len(self._seen) > SEEN_MEMORY:
            self._seen.popitem(last=False)

    def _bad(self, peer: str, reason: str, detail: str) -> None:
        self.metrics.invalid_messages.labels(reason).inc()
        self.metrics.scp_messages.labels("in", "invalid").inc()
        log(logger, logging.INFO, "invalid message from peer", peer=peer, reason=reason, detail=detail)
        self.transport.penalize(peer, reason)


def _values_of(statement: Statement) -> list[bytes]:
    """Every value a statement names (each must have its tx set here before SCP sees it)."""
    pledge = statement.pledge
    if isinstance(pledge, Nominate):
        return [*pledge.votes, *pledge.accepted]
    if isinstance(pledge, Prepare):
        ballots = [pledge.ballot, pledge.prepared, pledge.prepared_prime]
        return [b.value for b in ballots if b is not None and b.value]
    if isinstance(pledge, Confirm):
        return [pledge.ballot.value]
    return [pledge.commit.value]
