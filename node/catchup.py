"""Catch-up: a node that is behind fetches closed ledgers from a peer and checks them before
applying anything.

Claims come first: ``LedgerClaims`` collects what peers say they closed (their votes on later
slots, their ledger-closed announcements, their answers to our polls); ``CatchUp`` consumes
them. Each ledger must (1) follow our last closed ledger by seq and hash, (2) carry SCP statements,
with valid signatures, from a quorum of *our own* quorum set committing to a value that names
exactly this header's tx set and close time, and (3) re-apply locally to the very header the
peer sent. Only then is it written, through the same ``LedgerChain.close`` path as a ledger
this node voted on. A peer that fails a check is penalised and another one is tried.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
from collections.abc import Callable, Iterator

import trio

from consensus import (
    ConsensusError,
    QuorumSet,
    Statement,
    all_validators,
    committed_value,
    decode_statement,
    proof_is_valid,
)
from node.chain import LedgerChain, LedgerMismatchError
from node.errors import NetError, StorageError
from node.logs import log
from node.metrics import NodeMetrics
from node.peer_ids import peer_id_for
from node.peer_requests import LATEST, LEDGERS, BadAnswerError, LedgerRange, PeerRequests
from node.quorum_sets import QuorumSets
from node.transport import Transport
from node.wire import (
    MAX_LEDGERS_PER_REQUEST,
    LedgerBlob,
    decode_envelope,
    envelope_signature_valid,
)
from protocol.errors import DecodeError
from protocol.ledger import CloseValue, decode_close_value, decode_header, decode_tx_set

logger = logging.getLogger("tally.catchup")

POLL_INTERVAL_S = 5.0
FIRST_POLL_S = 0.25  # until the first peer answers
# An honest peer answers a poll in milliseconds. A peer outside our quorum set gets this long, not
# the request's whole timeout: one that never answers (it may claim any ledger) must not keep us
# from asking our quorum's validators, which may connect meanwhile.
UNTRUSTED_POLL_S = 1.0


class BadLedgerError(Exception):
    """A peer sent a ledger that fails verification (the message says which check)."""


class LedgerClaims:
    """The highest ledger each peer says it has closed, for catch-up to go and fetch.

    Claims are unproven: a peer may claim any ledger and then never answer (each request then
    hangs for its timeout). So validators of our quorum set are asked first, and a request to any
    other peer is abandoned as soon as such a validator claims to be ahead too.

    Invariant: ``targets`` only holds claims above our last closed ledger at the time they came.
    """

    def __init__(self, chain: LedgerChain, metrics: NodeMetrics, quorum_set: QuorumSet) -> None:
        self._chain = chain
        self._metrics = metrics
        self.trusted = frozenset(peer_id_for(v) for v in all_validators(quorum_set))
        self.targets: dict[str, int] = {}  # peer -> highest ledger it claims
        self._untrusted_request: trio.CancelScope | None = None
        self.arrived = trio.Event()  # set when a claim comes; catch-up re-arms it

    def peer_is_at(self, peer: str, seq: int) -> None:
        """``peer`` has closed ledger ``seq``; catch up if that is ahead of us."""
        if seq > self._chain.last.seq:
            self.targets[peer] = max(seq, self.targets.get(peer, 0))
            self._metrics.catchup_behind.set(max(self.targets.values()) - self._chain.last.seq)
            if peer in self.trusted and self._untrusted_request is not None:
                self._untrusted_request.cancel()
            self.arrived.set()

    @contextlib.contextmanager
    def asking(self, peer: str) -> Iterator[trio.CancelScope]:
        """The scope of one request to ``peer``: cancelled when ``peer`` is not a validator of our
        quorum set and one of those claims to be ahead meanwhile."""
        with trio.CancelScope() as scope:
            if peer not in self.trusted:
                self._untrusted_request = scope
            try:
                yield scope
            finally:
                self._untrusted_request = None


class CatchUp:
    """Brings this node level with the claims in ``LedgerClaims``, one verified ledger at a time.

    Invariant: a ledger is written only after its hash chain, its proof (a quorum of our own
    quorum set) and its local re-application all check out, through ``LedgerChain.close``.
    """

    def __init__(
        self,
        *,
        network: bytes,
        node_id: bytes,
        quorum_set: QuorumSet,
        chain: LedgerChain,
        transport: Transport,
        requests: PeerRequests,
        quorum_sets: QuorumSets,
        claims: LedgerClaims,
        metrics: NodeMetrics,
        advanced: Callable[[], None],
        rng: random.Random | None = None,
    ) -> None:
        self.network = network
        self.node_id = node_id
        self.quorum_set = quorum_set
        self.chain = chain
        self.transport = transport
        self.requests = requests
        self.quorum_sets = quorum_sets
        self.claims = claims
        self.metrics = metrics
        self._advanced = advanced  # the herder opens the next slot
        self._rng = rng or random.Random()
        self.running = False

    async def run(self) -> None:
        """Fetch from peers that claim to be ahead, one at a time, until level with them."""
        while True:
            await self.claims.arrived.wait()
            self.claims.arrived = trio.Event()
            self.running = True
            try:
                await self._catch_up()
            finally:
                self.running = False

    async def poll_peers(self) -> None:
        """The pull path: ask a random peer for its latest ledger every few seconds, so a missed
        announcement (restart, dropped link) never leaves this node behind for good. Right after
        start it asks as soon as a peer answers: a restarted node on an idle network (no ledger
        announcements until the next heartbeat) would otherwise wait a whole interval."""
        answered = False
        while True:
            await trio.sleep(POLL_INTERVAL_S if answered else FIRST_POLL_S)
            peers = self.transport.connected_peers()
            if not peers:
                continue
            # our quorum's validators first: any other peer may leave us waiting out the timeout
            peer = self._rng.choice([p for p in peers if p in self.claims.trusted] or peers)
            wait_s = math.inf if peer in self.claims.trusted else UNTRUSTED_POLL_S
            with trio.move_on_after(wait_s):
                try:
                    latest = await self.requests.ask(peer, LATEST, None)
                except (NetError, BadAnswerError):
                    continue
                answered = True
                self.claims.peer_is_at(peer, latest.seq)

    async def _catch_up(self) -> None:
        claims = self.claims
        while claims.targets:
            last = self.chain.last.seq
            claims.targets = {p: s for p, s in claims.targets.items() if s > last}
            if not claims.targets:
                break
            peer = max(claims.targets, key=lambda p: (p in claims.trusted, claims.targets[p]))
            count = min(MAX_LEDGERS_PER_REQUEST, claims.targets[peer] - last)
            try:
                blobs = await self._request_ledgers(peer, last + 1, count)
                if blobs is None:
                    continue  # a validator of our quorum set is ahead too: ask it instead
                if not blobs:
                    raise BadLedgerError(f"peer claimed ledger {claims.targets[peer]} but sent none")
                for blob in blobs:
                    await self._apply(blob, peer)
            except NetError as exc:
                log(logger, logging.INFO, "catch-up request failed", peer=peer, error=str(exc))
                claims.targets.pop(peer, None)
            except BadAnswerError:
                claims.targets.pop(peer, None)
            except (BadLedgerError, DecodeError, ConsensusError, LedgerMismatchError) as exc:
                self.requests.bad_answer(peer, LEDGERS, f"bad ledger: {exc}")
                claims.targets.pop(peer, None)
            except StorageError as exc:
                log(logger, logging.ERROR, "catch-up write failed; retrying in 1 s", error=str(exc))
                await trio.sleep(1)
        self.metrics.catchup_behind.set(0)

    async def _request_ledgers(self, peer: str, first: int, count: int) -> tuple[LedgerBlob, ...] | None:
        """The ledgers from ``peer``; None if abandoned for a validator of our quorum set."""
        blobs: tuple[LedgerBlob, ...] | None = None
        with self.claims.asking(peer):
            blobs = await self.requests.ask(peer, LEDGERS, LedgerRange(first, count))
        return blobs

    async def _apply(self, blob: LedgerBlob, peer: str) -> None:
        last = self.chain.last
        header = decode_header(blob.header)
        if header.seq <= last.seq:
            return  # consensus closed it meanwhile
        if header.seq != last.seq + 1 or header.previous_hash != last.hash:
            raise BadLedgerError(f"ledger {header.seq} does not follow our ledger {last.seq}")
        tx_set = decode_tx_set(blob.tx_set, self.network)
        if tx_set.hash != header.tx_set_hash:
            raise BadLedgerError(f"ledger {header.seq}: tx set does not match the header")
        statements = [self._verified_statement(raw) for raw in blob.proof]
        await self._learn_quorum_sets(statements, peer)
        value = _committed_value(statements, header.tx_set_hash, header.close_time_ms)
        if value is None or not proof_is_valid(
            self.node_id, self.quorum_set, statements, header.seq, value.encode(), self.quorum_sets.get
        ):
            raise BadLedgerError(f"ledger {header.seq}: its signatures are not from a quorum we trust")
        if await self.chain.close(tx_set, value, blob.proof, expected_hash=header.hash) is None:
            return  # consensus closed it meanwhile
        self.metrics.catchup_ledgers.inc()
        log(logger, logging.INFO, "caught up a ledger", seq=header.seq, peer=peer)
        self._advanced()
        await trio.lowlevel.checkpoint()

    def _verified_statement(self, raw: bytes) -> Statement:
        envelope = decode_envelope(raw)
        statement = decode_statement(envelope.statement)
        if not envelope_signature_valid(self.network, statement.node_id, envelope):
            raise BadLedgerError("a proof signature does not verify")
        return statement

    async def _learn_quorum_sets(self, statements: list[Statement], peer: str) -> None:
        """Fetch the quorum sets the proof's signers name that we lack, from the peer that sent
        the proof (one that lies is penalised by ``QuorumSets``, and the proof then fails)."""
        for qset_hash in {s.qset_hash for s in statements}:
            if self.quorum_sets.get(qset_hash) is None:
                await self.quorum_sets.fetch(qset_hash, [peer])


def _committed_value(
    statements: list[Statement], tx_set_hash: bytes, close_time_ms: int
) -> CloseValue | None:
    """The committed value the proof speaks of, if it names this header's tx set and close time."""
    for statement in statements:
        raw = committed_value(statement)
        if raw is None:
            continue
        try:
            value = decode_close_value(raw)
        except DecodeError:
            continue
        if value.tx_set_hash == tx_set_hash and value.close_time_ms == close_time_ms:
            return value
    return None
