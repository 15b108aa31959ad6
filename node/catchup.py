"""Catch-up: a node that is behind fetches closed ledgers from a peer and checks them before
applying anything.

Each ledger must (1) follow our last closed ledger by seq and hash, (2) carry SCP statements,
with valid signatures, from a quorum of *our own* quorum set committing to a value that names
exactly this header's tx set and close time, and (3) re-apply locally to the very header the
peer sent. Only then is it written, through the same ``LedgerChain.close`` path as a ledger
this node voted on. A peer that fails a check is penalised and another one is tried.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

import trio

from consensus import (
    ConsensusError,
    QuorumSet,
    Statement,
    all_validators,
    committed_value,
    decode_quorum_set,
    decode_statement,
    proof_is_valid,
)
from node.chain import LedgerChain, LedgerMismatchError
from node.errors import NetError, StorageError
from node.logs import log
from node.metrics import NodeMetrics
from node.peer_ids import peer_id_for
from node.transport import Transport
from node.wire import (
    MAX_LEDGERS_PER_REQUEST,
    MAX_LEDGERS_RESPONSE_BYTES,
    REQ_LATEST,
    REQ_LEDGERS,
    REQ_QSET,
    LedgerBlob,
    decode_envelope,
    decode_latest,
    decode_ledgers,
    encode_hash_request,
    encode_range_request,
    envelope_signature_valid,
)
from protocol.errors import DecodeError
from protocol.ledger import CloseValue, decode_close_value, decode_header, decode_tx_set

logger = logging.getLogger("tally.catchup")

POLL_INTERVAL_S = 5.0
FIRST_POLL_S = 0.25  # until the first peer answers


class BadLedgerError(Exception):
    """A peer sent a ledger that fails verification (the message says which check)."""


class CatchUp:
    def __init__(
        self,
        *,
        network: bytes,
        node_id: bytes,
        quorum_set: QuorumSet,
        chain: LedgerChain,
        transport: Transport,
        metrics: NodeMetrics,
        qset_of: Callable[[bytes], QuorumSet | None],
        learn_qset: Callable[[QuorumSet], None],
        advanced: Callable[[], None],
        rng: random.Random | None = None,
    ) -> None:
        self.network = network
        self.node_id = node_id
        self.quorum_set = quorum_set
        self.chain = chain
        self.transport = transport
        self.metrics = metrics
        self._qset_of = qset_of
        self._learn_qset = learn_qset
        self._advanced = advanced
        self._rng = rng or random.Random()
        self._targets: dict[str, int] = {}  # peer -> highest ledger it claims
        # Claims are unproven: a peer may claim any ledger and then never answer (each request
        # then hangs for its timeout). Validators of our quorum set are asked first.
        self._trusted = {peer_id_for(v) for v in all_validators(quorum_set)}
        self._untrusted_request: trio.CancelScope | None = None  # abandoned when a validator is ahead
        self._wake = trio.Event()
        self.running = False

    def peer_is_at(self, peer: str, seq: int) -> None:
        """``peer`` has closed ledger ``seq``; catch up if that is ahead of us."""
        if seq > self.chain.last.seq:
            self._targets[peer] = max(seq, self._targets.get(peer, 0))
            self.metrics.catchup_behind.set(max(self._targets.values()) - self.chain.last.seq)
            if peer in self._trusted and self._untrusted_request is not None:
                self._untrusted_request.cancel()
            self._wake.set()

    async def run(self) -> None:
        """Fetch from peers that claim to be ahead, one at a time, until level with them."""
        while True:
            await self._wake.wait()
            self._wake = trio.Event()
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
            peer = self._rng.choice([p for p in peers if p in self._trusted] or peers)
            try:
                latest = decode_latest(
                    await self.transport.request(peer, REQ_LATEST, b"", max_response=256, timeout_s=5)
                )
            except NetError:
                continue
            except DecodeError:
                self.transport.penalize(peer, "bad_response")
                continue
            answered = True
            self.peer_is_at(peer, latest.seq)

    async def _catch_up(self) -> None:
        while self._targets:
            last = self.chain.last.seq
            self._targets = {p: s for p, s in self._targets.items() if s > last}
            if not self._targets:
                break
            peer = max(self._targets, key=lambda p: (p in self._trusted, self._targets[p]))
            count = min(MAX_LEDGERS_PER_REQUEST, self._targets[peer] - last)
            try:
                raw = await self._request_ledgers(peer, last + 1, count)
                if raw is None:
                    continue  # a validator of our quorum set is ahead too: ask it instead
                blobs = decode_ledgers(raw)
                if not blobs:
                    raise BadLedgerError(f"peer claimed ledger {self._targets[peer]} but sent none")
                for blob in blobs:
                    await self._apply(blob, peer)
            except NetError as exc:
                log(logger, logging.INFO, "catch-up request failed", peer=peer, error=str(exc))
                self._targets.pop(peer, None)
            except (BadLedgerError, DecodeError, ConsensusError, LedgerMismatchError) as exc:
                log(logger, logging.WARNING, "peer sent a bad ledger", peer=peer, error=str(exc))
                self.metrics.invalid_messages.labels("bad_ledger").inc()
                self.transport.penalize(peer, "bad_ledger")
                self._targets.pop(peer, None)
            except StorageError as exc:
                log(logger, logging.ERROR, "catch-up write failed; retrying in 1 s", error=str(exc))
                await trio.sleep(1)
        self.metrics.catchup_behind.set(0)

    async def _request_ledgers(self, peer: str, first: int, count: int) -> bytes | None:
        """The ledgers from ``peer``; None if abandoned for a validator of our quorum set."""
        raw: bytes | None = None
        with trio.CancelScope() as scope:
            if peer not in self._trusted:
                self._untrusted_request = scope
            try:
                raw = await self.transport.request(
                    peer,
                    REQ_LEDGERS,
                    encode_range_request(first, count),
                    max_response=MAX_LEDGERS_RESPONSE_BYTES + 4096,
                    timeout_s=20,
                )
            finally:
                self._untrusted_request = None
        return raw

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
            self.node_id, self.quorum_set, statements, header.seq, value.encode(), self._qset_of
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
        for qset_hash in {s.qset_hash for s in statements}:
            if self._qset_of(qset_hash) is not None:
                continue
            try:
                raw = await self.transport.request(
                    peer, REQ_QSET, encode_hash_request(qset_hash), max_response=64 * 1024
                )
            except NetError:
                continue
            qset = decode_quorum_set(raw)
            if qset.hash != qset_hash:
                raise BadLedgerError("a quorum set does not match its hash")
            self._learn_qset(qset)


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
