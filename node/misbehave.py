"""Test-only misbehaviour and fault injection, for the reliability tests (tests/reliability).

Everything here is refused unless the network passphrase marks a test network (see
``node.config``): ``[testing] misbehave`` is checked when the config loads, and the admin
actions below check the passphrase again before doing anything.

Byzantine modes (``[testing] misbehave``), hooked into the herder's emission and the node's
request answers:

* ``silent``     sends no SCP statement at all (the herder skips emission);
* ``equivocate`` sends every nomination to each peer with a different made-up vote (a valid
  value: its own tx set, another close time), so no two peers hear the same thing;
* ``garbage``    behaves, and besides sends malformed frames, frames over the size cap and
  gossip RPCs that are not protobuf;
* ``replay``     behaves, and besides re-sends SCP envelopes of slots long closed and gossips
  transactions that are already in ledgers;
* ``lie-qset``   names a quorum-set hash nobody knows in its statements and, asked for it,
  answers with its real quorum set (which does not match the hash).

Honest-node detection of the two that need it lives here as well (``NominationWatch``).

Admin actions (``POST /admin/{action}``, test networks only):

* ``peer-filter`` ``{"block": [peer ids]}`` cuts this node off from those peers (frames,
  requests and gossip both ways; connections stay up so a heal is immediate); ``{"block": []}``
  heals;
* ``disk-fault`` ``{"fail": true|false}`` makes every ledger WriteBatch fail mid-batch (as a full
  disk would), or stops doing so.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import plyvel
import trio

from consensus import Nominate, QuorumSet, Statement, encode_statement
from node.config import TEST_NETWORK_MARKERS
from node.logs import log
from node.wire import SignedEnvelope, encode_envelope_frame, encode_tx_batch, sign_envelope
from protocol.errors import DecodeError
from protocol.keys import Keypair
from protocol.ledger import CloseValue, decode_close_value, decode_tx_set

if TYPE_CHECKING:
    from node.chain import LedgerChain
    from node.facade import NodeApi
    from node.transport import Transport

logger = logging.getLogger("tally.misbehave")

ADMIN_ACTIONS = ("peer-filter", "disk-fault")
GARBAGE_INTERVAL_S = 0.5
REPLAY_INTERVAL_S = 0.5
REPLAY_MEMORY = 500


def is_test_network(passphrase: str) -> bool:
    lowered = passphrase.lower()
    return any(marker in lowered for marker in TEST_NETWORK_MARKERS)


class Misbehaviour:
    """One validator's misbehaviour (``mode`` is one of node.config.MISBEHAVIOURS)."""

    def __init__(
        self,
        mode: str,
        network: bytes,
        keypair: Keypair,
        quorum_set: QuorumSet,
        transport: Transport,
        chain: LedgerChain,
    ) -> None:
        self.mode = mode
        self.network = network
        self.keypair = keypair
        self.quorum_set = quorum_set
        self.transport = transport
        self.chain = chain
        self.fake_qset_hash = hashlib.sha256(b"lie-qset" + keypair.public_key).digest()
        self._sent: deque[SignedEnvelope] = deque(maxlen=REPLAY_MEMORY)
        self._rng = random.Random()

    @property
    def silent(self) -> bool:
        return self.mode == "silent"

    def start(self, nursery: trio.Nursery) -> None:
        if self.mode == "garbage":
            nursery.start_soon(self._garbage)
        elif self.mode == "replay":
            nursery.start_soon(self._replay)

    # -- hooks -----------------------------------------------------------------------------------

    def send(self, statement: Statement, envelope: SignedEnvelope) -> bool:
        """Called instead of broadcasting an own envelope; True when it was sent here."""
        if self.mode == "replay":
            self._sent.append(envelope)
        elif self.mode == "equivocate" and isinstance(statement.pledge, Nominate):
            self._equivocate(statement)
            return True
        elif self.mode == "lie-qset":
            lying = Statement(statement.node_id, statement.slot, self.fake_qset_hash, statement.pledge)
            self.transport.broadcast(encode_envelope_frame(self._sign(lying)))
            return True
        return False

    def answer_qset(self, qset_hash: bytes) -> QuorumSet | None:
        """The lie: asked for the made-up hash, answer the real quorum set."""
        if self.mode == "lie-qset" and qset_hash == self.fake_qset_hash:
            return self.quorum_set
        return None

    # -- the misbehaviours -------------------------------------------------------------------------

    def _sign(self, statement: Statement) -> SignedEnvelope:
        return sign_envelope(self.network, encode_statement(statement), self.keypair)

    def _equivocate(self, statement: Statement) -> None:
        assert isinstance(statement.pledge, Nominate)
        honest = [decode_close_value(v) for v in statement.pledge.votes]
        base = honest[0] if honest else None
        if base is None:
            return
        for peer in self.transport.connected_peers():
            forged = CloseValue(
                base.tx_set_hash, base.close_time_ms + self._rng.randrange(1, 5_000), base.upgrades
            ).encode()
            variant = Statement(
                statement.node_id, statement.slot, statement.qset_hash, Nominate((forged,), ())
            )
            self.transport.send(peer, encode_envelope_frame(self._sign(variant)))

    async def _garbage(self) -> None:
        while True:
            await trio.sleep(GARBAGE_INTERVAL_S)
            self.transport.broadcast(os.urandom(self._rng.randrange(1, 512)))  # not a frame we know
            for peer in self.transport.connected_peers():
                await self._oversize(peer)
                await self._bad_gossip_rpc(peer)

    async def _oversize(self, peer: str) -> None:
        """A length prefix over the receiver's cap, on a frame stream of our own (the transport
        refuses to send oversize frames, as it should)."""
        host: Any = getattr(self.transport, "host", None)
        config: Any = getattr(self.transport, "config", None)
        if host is None or config is None:
            return
        from libp2p.peer.id import ID

        from node.net import FRAME_PROTOCOL
        from node.net.framing import LENGTH

        try:
            with trio.move_on_after(2):
                stream = await host.new_stream(ID.from_base58(peer), [FRAME_PROTOCOL])
                await stream.write(LENGTH.pack(config.max_frame + 1) + b"\0" * 64)
                await stream.close()
        except Exception as exc:  # the peer reset the stream: that is the point
            log(logger, logging.DEBUG, "oversize frame sent", peer=peer, error=repr(exc))

    async def _bad_gossip_rpc(self, peer: str) -> None:
        """A pubsub RPC that is not protobuf, on a gossipsub stream of our own."""
        host: Any = getattr(self.transport, "host", None)
        if host is None:
            return
        from libp2p.peer.id import ID
        from libp2p.pubsub.gossipsub import PROTOCOL_ID_V11

        try:
            with trio.move_on_after(2):
                stream = await host.new_stream(ID.from_base58(peer), [PROTOCOL_ID_V11])
                body = b"\xff\xff\xff\xff" + os.urandom(16)
                await stream.write(bytes([len(body)]) + body)
                await trio.sleep(0.1)
                await stream.close()
        except Exception as exc:
            log(logger, logging.DEBUG, "malformed gossip RPC sent", peer=peer, error=repr(exc))

    async def _replay(self) -> None:
        while True:
            await trio.sleep(REPLAY_INTERVAL_S)
            current = self.chain.last.seq
            old = [e for e in self._sent if _slot_of(e) is not None and (_slot_of(e) or 0) < current - 2]
            for envelope in self._rng.sample(old, min(10, len(old))):
                self.transport.broadcast(encode_envelope_frame(envelope))
            transactions = self._old_transactions(current)
            if transactions:
                self.transport.publish(encode_tx_batch(transactions))

    def _old_transactions(self, current: int) -> list[bytes]:
        for seq in range(max(2, current - 5), current):
            record = self.chain.store.ledger_record(seq)
            if record is None:
                continue
            try:
                tx_set = decode_tx_set(record.tx_set, self.network)
            except DecodeError:
                continue
            if tx_set.transactions:
                return [tx.encode() for tx in tx_set.transactions[:50]]
        return []


def _slot_of(envelope: SignedEnvelope) -> int | None:
    from consensus import ConsensusError, decode_statement

    try:
        return decode_statement(envelope.statement).slot
    except ConsensusError:
        return None


class NominationWatch:
    """Honest side: a validator's nominations for a slot only ever grow (votes and accepted
    values are added, never dropped). Two that are not ordered that way are an equivocation."""

    def __init__(self) -> None:
        self._latest: dict[tuple[bytes, int], tuple[frozenset[bytes], frozenset[bytes]]] = {}

    def conflicting(self, statement: Statement) -> bool:
        pledge = statement.pledge
        if not isinstance(pledge, Nominate):
            return False
        key = (statement.node_id, statement.slot)
        new = (frozenset(pledge.votes), frozenset(pledge.accepted))
        old = self._latest.get(key)
        if old is None or (old[0] <= new[0] and old[1] <= new[1]):
            self._latest[key] = new
            return False
        return not (new[0] <= old[0] and new[1] <= old[1])  # older, out of order: fine

    def forget_below(self, slot: int) -> None:
        for key in [k for k in self._latest if k[1] < slot]:
            del self._latest[key]


# -- admin actions (test networks only) ------------------------------------------------------------


def admin_action(node: NodeApi, action: str, params: dict[str, Any]) -> dict[str, Any]:
    if not is_test_network(node.identity.network_passphrase):
        raise ValueError(f"admin action {action!r} is only allowed on a test network")
    if action == "peer-filter":
        block = params.get("block")
        if not isinstance(block, list) or not all(isinstance(p, str) for p in block):
            raise ValueError('expected {"block": [peer ids]}')
        blocked = frozenset(block)
        set_filter: Callable[[Callable[[str], bool] | None], None] | None = getattr(
            node.transport, "set_peer_filter", None
        )
        if set_filter is None:
            raise ValueError("this transport has no peer filter")
        set_filter((lambda peer: peer not in blocked) if blocked else None)
        log(logger, logging.WARNING, "peer filter set (test network)", blocked=len(blocked))
        return {"ok": True, "blocked": sorted(blocked)}
    if action == "disk-fault":
        fail = params.get("fail")
        if not isinstance(fail, bool):
            raise ValueError('expected {"fail": true|false}')
        store: Any = node.chain.store
        db = store._db
        if fail and not isinstance(db, _FailingDB):
            store._db = _FailingDB(db)
        elif not fail and isinstance(db, _FailingDB):
            store._db = db.inner
        log(logger, logging.WARNING, "disk fault injection (test network)", fail=fail)
        return {"ok": True, "fail": fail}
    raise ValueError(f"unknown admin action {action!r}")


class _FailingDB:
    """A LevelDB handle whose write batches fail half way (what a full disk does to a batch)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def write_batch(self, **kwargs: Any) -> Any:
        return _FailingBatch(self.inner.write_batch(**kwargs))


class _FailingBatch:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.puts = 0

    def __enter__(self) -> _FailingBatch:
        self.inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self.inner.__exit__(*exc)

    def put(self, key: bytes, value: bytes) -> None:
        self.puts += 1
        if self.puts > 3:
            raise plyvel.IOError("injected fault: No space left on device")
        self.inner.put(key, value)

    def delete(self, key: bytes) -> None:
        self.inner.delete(key)
