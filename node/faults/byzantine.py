"""A byzantine validator, made of an honest node and a transport that lies for it
(``[testing] misbehave``).

The herder signs, persists and sends its statements honestly; ``ByzantineTransport`` changes what
leaves, and ``ByzantineHandlers`` what is answered:

* ``silent``     sends no SCP statement at all (and leaves its own out of SCP-state answers);
* ``equivocate`` sends every nomination to each peer with a different made-up vote (a valid
  value: its own tx set, another close time), so no two peers hear the same thing;
* ``garbage``    behaves, and besides sends malformed frames, frames over the size cap and gossip
  RPCs that are not protobuf;
* ``replay``     behaves, and besides re-sends SCP envelopes of slots long closed and gossips
  transactions that are already in ledgers;
* ``lie-qset``   names a quorum-set hash nobody knows in its statements and, asked for it, answers
  with its real quorum set (which does not match the hash).

Honest nodes detect these with production code (``node.nomination_watch``, the herder's replay
and hash checks, the network's frame caps); nothing here is known to them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
from collections import deque
from collections.abc import Callable, Collection
from typing import Any

import trio

from consensus import ConsensusError, Nominate, QuorumSet, Statement, decode_statement, encode_statement
from node import wire
from node.config import Misbehaviour
from node.logs import log
from node.net import P2PNetwork
from node.net.handlers import GossipVerdict, NetHandlers
from node.peer_requests import QSET, SCP_STATE
from node.storage.store import LedgerStore
from node.transport import Transport
from protocol.errors import DecodeError
from protocol.keys import Keypair
from protocol.ledger import CloseValue, decode_close_value, decode_tx_set

logger = logging.getLogger("tally.faults")

GARBAGE_INTERVAL_S = 0.5
REPLAY_INTERVAL_S = 0.5
REPLAY_MEMORY = 500
REPLAY_SLOTS_BACK = 2  # envelopes of slots at least this far behind the chain are replayed
RAW_STREAM_TIMEOUT_S = 2


class ByzantineTransport:
    """A ``Transport`` that rewrites, drops or multiplies this validator's own SCP envelopes."""

    def __init__(
        self,
        inner: Transport,
        mode: Misbehaviour,
        *,
        network: bytes,
        keypair: Keypair,
        quorum_set: QuorumSet,
        store: LedgerStore,
        libp2p: P2PNetwork | None,
    ) -> None:
        self._inner = inner
        self._libp2p = libp2p  # the network under ``inner``, for raw garbage (None in memory tests)
        self.mode = mode
        self._network = network
        self._keypair = keypair
        self.quorum_set = quorum_set
        self._store = store
        self.fake_qset_hash = hashlib.sha256(b"lie-qset" + keypair.public_key).digest()
        self._sent: deque[tuple[int, wire.SignedEnvelope]] = deque(maxlen=REPLAY_MEMORY)
        self._rng = random.Random()

    # -- the Transport ------------------------------------------------------------------------

    def publish(self, data: bytes) -> None:
        self._inner.publish(data)

    def publish_board(self, data: bytes) -> None:
        self._inner.publish_board(data)

    def broadcast(self, frame: bytes, *, exclude: Collection[str] = ()) -> None:
        own = self._own_statement(frame)
        if own is None:
            self._inner.broadcast(frame, exclude=exclude)
        else:
            self._misbehave(own, lambda out: self._inner.broadcast(out, exclude=exclude), exclude)

    def send(self, peer: str, frame: bytes) -> None:
        own = self._own_statement(frame)
        if own is None:
            self._inner.send(peer, frame)
        else:
            others = [p for p in self.connected_peers() if p != peer]
            self._misbehave(own, lambda out: self._inner.send(peer, out), others)

    async def request(
        self, peer: str, name: str, payload: bytes, *, max_response: int, timeout_s: float = 10.0
    ) -> bytes:
        return await self._inner.request(peer, name, payload, max_response=max_response, timeout_s=timeout_s)

    def connected_peers(self) -> list[str]:
        return self._inner.connected_peers()

    def peers_info(self) -> list[dict[str, Any]]:
        return self._inner.peers_info()

    def penalize(self, peer: str, reason: str) -> None:
        self._inner.penalize(peer, reason)

    # -- outgoing envelopes ---------------------------------------------------------------------

    def _own_statement(self, frame: bytes) -> tuple[wire.SignedEnvelope, Statement] | None:
        """The envelope and statement if ``frame`` carries one of our own SCP statements."""
        try:
            decoded = wire.decode_frame(frame)
        except DecodeError:
            return None
        if not isinstance(decoded, wire.SignedEnvelope):
            return None
        statement = self.own(decoded)
        return None if statement is None else (decoded, statement)

    def own(self, envelope: wire.SignedEnvelope) -> Statement | None:
        """The statement in ``envelope`` if this validator made it."""
        try:
            statement = decode_statement(envelope.statement)
        except ConsensusError:
            return None
        return statement if statement.node_id == self._keypair.public_key else None

    def _misbehave(
        self,
        own: tuple[wire.SignedEnvelope, Statement],
        send: Callable[[bytes], None],
        skip: Collection[str],
    ) -> None:
        """Send (or not) our own envelope the way ``mode`` wants; ``send(frame)`` sends honestly."""
        envelope, statement = own
        if self.mode is Misbehaviour.SILENT:
            return
        if self.mode is Misbehaviour.EQUIVOCATE and isinstance(statement.pledge, Nominate):
            self._equivocate(statement, skip)
            return
        if self.mode is Misbehaviour.LIE_QSET:
            lying = Statement(statement.node_id, statement.slot, self.fake_qset_hash, statement.pledge)
            send(wire.encode_envelope_frame(self._sign(lying)))
            return
        if self.mode is Misbehaviour.REPLAY:
            self._sent.append((statement.slot, envelope))
        send(wire.encode_envelope_frame(envelope))

    def _sign(self, statement: Statement) -> wire.SignedEnvelope:
        return wire.sign_envelope(self._network, encode_statement(statement), self._keypair)

    def _equivocate(self, statement: Statement, skip: Collection[str]) -> None:
        assert isinstance(statement.pledge, Nominate)
        honest = [decode_close_value(v) for v in statement.pledge.votes]
        if not honest:
            return
        base = honest[0]
        for peer in self._inner.connected_peers():
            if peer in skip:
                continue
            forged = CloseValue(
                base.tx_set_hash, base.close_time_ms + self._rng.randrange(1, 5_000), base.upgrades
            ).encode()
            variant = Statement(
                statement.node_id, statement.slot, statement.qset_hash, Nominate((forged,), ())
            )
            self._inner.send(peer, wire.encode_envelope_frame(self._sign(variant)))

    # -- misbehaviour of its own ----------------------------------------------------------------

    async def run(self) -> None:
        """What the mode does besides lying about our statements (until cancelled)."""
        if self.mode is Misbehaviour.GARBAGE:
            await self._garbage()
        elif self.mode is Misbehaviour.REPLAY:
            await self._replay()

    async def _garbage(self) -> None:
        while True:
            await trio.sleep(GARBAGE_INTERVAL_S)
            self._inner.broadcast(os.urandom(self._rng.randrange(1, 512)))  # not a frame we know
            if self._libp2p is not None:
                for peer in self._inner.connected_peers():
                    await _oversize_frame(self._libp2p, peer)
                    await _bad_gossip_rpc(self._libp2p, peer)

    async def _replay(self) -> None:
        while True:
            await trio.sleep(REPLAY_INTERVAL_S)
            current = self._store.last_header.seq
            old = [envelope for slot, envelope in self._sent if slot < current - REPLAY_SLOTS_BACK]
            for envelope in self._rng.sample(old, min(10, len(old))):
                self._inner.broadcast(wire.encode_envelope_frame(envelope))
            transactions = self._old_transactions(current)
            if transactions:
                self._inner.publish(wire.encode_tx_batch(transactions))

    def _old_transactions(self, current: int) -> list[bytes]:
        for seq in range(max(2, current - 5), current):
            record = self._store.ledger_record(seq)
            if record is None:
                continue
            try:
                tx_set = decode_tx_set(record.tx_set, self._network)
            except DecodeError:
                continue
            if tx_set.transactions:
                return [tx.encode() for tx in tx_set.transactions[:50]]
        return []


class ByzantineHandlers:
    """``NetHandlers`` that answer quorum-set and SCP-state requests the way ``mode`` wants."""

    def __init__(self, inner: NetHandlers, transport: ByzantineTransport) -> None:
        self._inner = inner
        self._transport = transport

    async def on_tx_batch(self, data: bytes, peer: str) -> GossipVerdict:
        return await self._inner.on_tx_batch(data, peer)

    async def on_board_batch(self, data: bytes, peer: str) -> GossipVerdict:
        return await self._inner.on_board_batch(data, peer)

    async def on_frame(self, data: bytes, peer: str) -> None:
        await self._inner.on_frame(data, peer)

    async def on_request(self, name: str, payload: bytes, peer: str) -> bytes:
        mode = self._transport.mode
        if mode is Misbehaviour.LIE_QSET and name == QSET.name:
            try:
                if QSET.decode_query(payload) == self._transport.fake_qset_hash:
                    return QSET.encode_answer(self._transport.quorum_set)  # the lie
            except DecodeError:
                pass
        answer = await self._inner.on_request(name, payload, peer)
        if mode is Misbehaviour.SILENT and name == SCP_STATE.name:
            envelopes = SCP_STATE.decode_answer(answer, b"")
            return SCP_STATE.encode_answer(tuple(e for e in envelopes if self._transport.own(e) is None))
        return answer


# -- raw misbehaviour, below the transport (libp2p only) ------------------------------------------


async def _oversize_frame(net: P2PNetwork, peer: str) -> None:
    """A length prefix over the receiver's cap, on a frame stream of our own (the transport refuses
    to send oversize frames, as it should)."""
    from libp2p.peer.id import ID

    from node.net import FRAME_PROTOCOL
    from node.net.framing import LENGTH

    try:
        with trio.move_on_after(RAW_STREAM_TIMEOUT_S):
            stream = await net.host.new_stream(ID.from_base58(peer), [FRAME_PROTOCOL])
            await stream.write(LENGTH.pack(net.config.max_frame + 1) + b"\0" * 64)
            await stream.close()
    except Exception as exc:  # the peer reset the stream: that is the point
        log(logger, logging.DEBUG, "oversize frame sent", peer=peer, error=repr(exc))


async def _bad_gossip_rpc(net: P2PNetwork, peer: str) -> None:
    """A pubsub RPC that is not protobuf, on a gossipsub stream of our own."""
    from libp2p.peer.id import ID
    from libp2p.pubsub.gossipsub import PROTOCOL_ID_V11

    try:
        with trio.move_on_after(RAW_STREAM_TIMEOUT_S):
            stream = await net.host.new_stream(ID.from_base58(peer), [PROTOCOL_ID_V11])
            body = b"\xff\xff\xff\xff" + os.urandom(16)
            await stream.write(bytes([len(body)]) + body)
            await trio.sleep(0.1)
            await stream.close()
    except Exception as exc:
        log(logger, logging.DEBUG, "malformed gossip RPC sent", peer=peer, error=repr(exc))
