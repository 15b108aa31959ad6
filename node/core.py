"""The node: what the HTTP API and the network talk to.

``LedgerNode`` answers API queries from the ledger database, admits transactions to the mempool
and batches them for gossip, hands SCP envelopes to the herder and "ledger closed"
announcements to catch-up, and serves peers' requests. It owns no I/O itself: the runtime
(``node.runtime``) gives it a transport and runs its tasks.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import trio

from consensus import ConsensusError, QuorumSet, decode_quorum_set
from node import misbehave, wire
from node.api.app import TxStatus
from node.catchup import CatchUp
from node.chain import LedgerChain
from node.clock import monotonic_ms, wall_ms
from node.config import NodeConfig
from node.errors import NodeError
from node.herder import Herder, HerderConfig
from node.logs import log
from node.mempool import Admission
from node.metrics import NodeMetrics
from node.net.handlers import GossipVerdict
from node.storage.store import LedgerStore
from node.timers import TimerService
from node.transport import Transport
from protocol.addresses import encode_validator
from protocol.errors import DecodeError
from protocol.keys import Keypair
from protocol.ledger import LedgerHeader, TxSet, decode_results, decode_tx_set
from protocol.results import ResultCode
from protocol.state import Account, Currency, Holding, StateOverlay
from protocol.transactions import Transaction, decode_transaction

if TYPE_CHECKING:
    from trio_typing import TaskStatus  # trio-typing's stubs shadow trio's own

logger = logging.getLogger("tally.node")

BAD_AUTH = ResultCode.BAD_AUTH.value
GOSSIP_FLUSH_S = 0.2  # one gossip message per 200 ms carries every transaction admitted meanwhile


class NotFoundError(NodeError):
    """A peer asked for something this node does not have."""


@dataclass(frozen=True)
class NodeIdentity:
    role: str
    node_id: str  # tlyv1… validator id
    network_passphrase: str
    network_id: bytes


def assemble_node(
    *, config: NodeConfig, keypair: Keypair, store: LedgerStore, transport: Transport, metrics: NodeMetrics
) -> LedgerNode:
    """Wire chain, herder and catch-up into a node (used by the runtime and by tests)."""
    assert config.quorum_set is not None  # load_config guarantees it
    chain = LedgerChain(store, metrics)
    metrics.ledger_seq.set(store.last_header.seq)
    metrics.healthy.set(1)
    timers = TimerService()
    herder = Herder(
        HerderConfig(
            config.network_id,
            keypair,
            config.quorum_set,
            config.is_validator,
            config.close_interval_ms,
            config.heartbeat_interval_ms,
            config.max_tx_set_size,
            config.misbehave,
        ),
        chain,
        transport,
        timers,
        metrics,
        qset_store=lambda q: store.save_quorum_set(q.hash, q.encode()),
    )
    identity = NodeIdentity(
        config.role, encode_validator(keypair.public_key), config.network_passphrase, config.network_id
    )
    holder: list[LedgerNode] = []
    catchup = CatchUp(
        network=config.network_id,
        node_id=keypair.public_key,
        quorum_set=config.quorum_set,
        chain=chain,
        transport=transport,
        metrics=metrics,
        qset_of=lambda h: holder[0].quorum_set(h),
        learn_qset=lambda q: holder[0].learn_quorum_set(q),
        advanced=herder.ledger_advanced,
    )
    herder.on_behind = catchup.peer_is_at
    node = LedgerNode(identity, chain, herder, catchup, transport, timers, metrics)
    holder.append(node)
    return node


class LedgerNode:
    def __init__(
        self,
        identity: NodeIdentity,
        chain: LedgerChain,
        herder: Herder,
        catchup: CatchUp,
        transport: Transport,
        timers: TimerService,
        metrics: NodeMetrics,
    ) -> None:
        self.identity = identity
        self.network_id = identity.network_id
        self.chain = chain
        self.herder = herder
        self.catchup = catchup
        self.transport = transport
        self.timers = timers
        self.metrics = metrics
        self.started_s = time.time()
        self.peer_id = ""
        self.listen_addrs: list[str] = []
        self.api_url = ""
        self._outgoing: list[bytes] = []
        self._tx_sets_by_ledger: OrderedDict[int, TxSet] = OrderedDict()

    # -- tasks ---------------------------------------------------------------------------------

    async def serve(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the node's own tasks (timers, consensus, catch-up, gossip batching) until cancelled."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.timers.run)
            self.herder.start(nursery, self.chain.store.own_envelopes(self.herder.slot))
            nursery.start_soon(self.catchup.run)
            nursery.start_soon(self.catchup.poll_peers)
            nursery.start_soon(self.flush_gossip)
            nursery.start_soon(self.watch_loop_lag)
            task_status.started()

    async def watch_loop_lag(self) -> None:
        """Measure how late a 100 ms sleep wakes up: the first sign of an overloaded node."""
        while True:
            asked = trio.current_time()
            await trio.sleep(0.1)
            lag = trio.current_time() - asked - 0.1
            self.metrics.loop_lag.observe(lag)
            if lag > 1.0:
                log(logger, logging.WARNING, "event loop was blocked", lag_s=round(lag, 2))

    async def flush_gossip(self) -> None:
        while True:
            await trio.sleep(GOSSIP_FLUSH_S)
            while self._outgoing:
                batch: list[bytes] = []
                size = 0
                while (
                    self._outgoing
                    and len(batch) < wire.MAX_TX_BATCH
                    and size + len(self._outgoing[0]) < wire.MAX_TX_BATCH_BYTES - 1024
                ):
                    size += len(self._outgoing[0])
                    batch.append(self._outgoing.pop(0))
                self.transport.publish(wire.encode_tx_batch(batch))

    # -- NodeFacade (HTTP API) -----------------------------------------------------------------

    def submit(self, transactions: list[Transaction]) -> list[Admission]:
        admissions = []
        for tx in transactions:
            admission = self.chain.submit(tx)
            if admission.accepted:
                self._outgoing.append(tx.encode())
            admissions.append(admission)
        if any(a.accepted for a in admissions):
            self.herder.transactions_arrived()
        return admissions

    async def wait_for(self, tx_hashes: list[bytes], timeout_s: float) -> None:
        await self.chain.wait_for(tx_hashes, timeout_s)

    def tx_status(self, tx_hash: bytes) -> TxStatus:
        return self.chain.tx_status(tx_hash)

    def account_state(self, account: bytes) -> tuple[Account, list[Holding], int]:
        state = StateOverlay(self.chain.store)
        return (
            state.account(account),
            self.chain.store.holdings(account),
            self.chain.mempool.pending_sequence(account),
        )

    def currency(self, code: str) -> Currency | None:
        return StateOverlay(self.chain.store).currency(code)

    def history(
        self, account: bytes, limit: int, before: tuple[int, int] | None
    ) -> list[tuple[int, int, Transaction, str, int]]:
        items = []
        for ledger, index, tx_hash in self.chain.store.account_history(account, limit=limit, before=before):
            tx_set = self._tx_set_of(ledger)
            location = self.chain.store.tx_location(tx_hash)
            header = self.chain.store.header(ledger)
            if tx_set is None or location is None or header is None or index >= len(tx_set.transactions):
                continue
            items.append(
                (ledger, index, tx_set.transactions[index], location.code.value, header.close_time_ms)
            )
        return items

    def ledger(self, seq: int | None) -> tuple[LedgerHeader, list[tuple[str, str]]] | None:
        header = self.chain.last if seq is None else self.chain.store.header(seq)
        if header is None:
            return None
        record = self.chain.store.ledger_record(header.seq)
        if record is None:
            return None
        results = decode_results(record.results)
        return header, [(r.tx_hash.hex(), r.code.value) for r in results]

    def info(self) -> dict[str, Any]:
        last = self.chain.last
        return {
            "node_id": self.identity.node_id,
            "role": self.identity.role,
            "peer_id": self.peer_id,
            "listen": self.listen_addrs,
            "api": self.api_url,
            "network_passphrase": self.identity.network_passphrase,
            "network_id": self.network_id.hex(),
            "ledger": {
                "seq": last.seq,
                "hash": last.hash.hex(),
                "state_hash": last.state_hash.hex(),
                "close_time_ms": last.close_time_ms,
                "age_s": round(max(0, wall_ms() - last.close_time_ms) / 1000, 3) if last.seq > 1 else None,
                "max_tx_set_size": last.params.max_tx_set_size,
            },
            "mempool": len(self.chain.mempool),
            "slot": self.herder.slot,
            "consensus": self.herder.describe(),
            "peers": len(self.transport.connected_peers()),
            "catching_up": self.catchup.running,
            "uptime_s": round(time.time() - self.started_s, 1),
        }

    def peers_info(self) -> list[dict[str, Any]]:
        return self.transport.peers_info()

    def health(self) -> tuple[bool, dict[str, Any]]:
        failure = self.chain.write_failure
        details: dict[str, Any] = {
            "ledger": self.chain.last.seq,
            "peers": len(self.transport.connected_peers()),
            "catching_up": self.catchup.running,
        }
        if failure is not None:
            details["error"] = f"cannot write ledgers: {failure}"
        return failure is None, details

    def metrics_text(self) -> bytes:
        return self.metrics.render()

    def admin(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        if action == "log-level":
            level = params.get("level")
            if level not in ("debug", "info", "warning", "error"):
                raise ValueError("level must be one of debug, info, warning, error")
            logging.getLogger("tally").setLevel(str(level).upper())
            return {"ok": True, "level": level}
        if action in misbehave.ADMIN_ACTIONS:  # test networks only (checked there)
            return misbehave.admin_action(self, action, params)
        raise ValueError(
            f"unknown admin action {action!r} (known: log-level; on test networks also "
            f"{', '.join(sorted(misbehave.ADMIN_ACTIONS))})"
        )

    # -- NetHandlers (peers) -------------------------------------------------------------------

    async def on_tx_batch(self, data: bytes, peer: str) -> GossipVerdict:
        try:
            raw_list = wire.decode_tx_batch(data)
            transactions = [decode_transaction(raw, self.network_id) for raw in raw_list]
        except DecodeError as exc:
            self.metrics.invalid_messages.labels("bad_tx_batch").inc()
            log(logger, logging.INFO, "invalid tx batch", peer=peer, error=str(exc))
            return GossipVerdict.REJECT
        accepted = False
        forged = 0
        for tx in transactions:
            admission = self.chain.submit(tx)
            accepted |= admission.accepted
            # bad_auth is also "signers below threshold" (state-dependent, an honest relay may
            # miss it); a signature that does not verify at all is provable (forged, or made for
            # another network): a node only gossips transactions it admitted.
            if admission.code == BAD_AUTH and tx.signers() is None:
                forged += 1
        if accepted:
            self.herder.transactions_arrived()
        if forged:
            self.metrics.invalid_messages.labels("bad_tx_signature").inc()
            log(
                logger,
                logging.INFO,
                "invalid tx batch",
                peer=peer,
                reason="bad_tx_signature",
                error=f"{forged} of {len(transactions)} transactions carry a signature that does not verify",
            )
            return GossipVerdict.REJECT  # not relayed; the forwarder is penalized
        return GossipVerdict.ACCEPT

    async def on_frame(self, data: bytes, peer: str) -> None:
        try:
            frame = wire.decode_frame(data)
        except DecodeError as exc:
            self.metrics.invalid_messages.labels("bad_frame").inc()
            log(logger, logging.INFO, "invalid frame", peer=peer, error=str(exc))
            self.transport.penalize(peer, "bad_frame")
            return
        if isinstance(frame, wire.SignedEnvelope):
            self.herder.receive_envelope(frame, peer)
            return
        last = self.chain.last.seq
        if frame.seq > last + 1 or self.identity.role != "validator":
            self.catchup.peer_is_at(peer, frame.seq)
        elif frame.seq == last + 1:  # our own vote may finish any moment; look again shortly
            seq = frame.seq
            self.timers.set(
                ("behind", peer), monotonic_ms() + 2000, lambda: self.catchup.peer_is_at(peer, seq)
            )

    async def on_request(self, name: str, payload: bytes, peer: str) -> bytes:
        try:
            return self._answer(name, payload)
        except DecodeError as exc:
            self.metrics.invalid_messages.labels("bad_request").inc()
            raise NotFoundError(f"bad request: {exc}") from None

    def _answer(self, name: str, payload: bytes) -> bytes:
        if name == wire.REQ_TX_SET:
            tx_set = self.chain.tx_sets.get(wire.decode_hash_request(payload))
            if tx_set is None:
                raise NotFoundError("tx set not known here")
            return tx_set.encode()
        if name == wire.REQ_TX_IDS:
            tx_set = self.chain.tx_sets.get(wire.decode_hash_request(payload))
            if tx_set is None:
                raise NotFoundError("tx set not known here")
            return wire.encode_tx_ids(tx_set.previous_hash, [tx.hash for tx in tx_set.transactions])
        if name == wire.REQ_TXS:
            tx_set_hash, wanted = wire.decode_txs_request(payload)
            tx_set = self.chain.tx_sets.get(tx_set_hash)
            if tx_set is None:
                raise NotFoundError("tx set not known here")
            by_hash = {tx.hash: tx for tx in tx_set.transactions}
            if any(h not in by_hash for h in wanted):
                raise NotFoundError("a requested transaction is not in that tx set")
            return wire.encode_tx_batch([by_hash[h].encode() for h in wanted])
        if name == wire.REQ_QSET:
            lie = self.herder.misbehaviour.answer_qset(wire.decode_hash_request(payload))
            if lie is not None:
                return lie
            qset = self.quorum_set(wire.decode_hash_request(payload))
            if qset is None:
                raise NotFoundError("quorum set not known here")
            return qset.encode()
        if name == wire.REQ_LATEST:
            last = self.chain.last
            return wire.encode_latest(wire.LatestLedger(last.seq, last.hash))
        if name == wire.REQ_SCP_STATE:
            slot = wire.decode_slot_request(payload)
            return wire.encode_envelope_list(self.herder.envelopes_for(slot))
        if name == wire.REQ_LEDGERS:
            first, count = wire.decode_range_request(payload)
            return wire.encode_ledgers(self._ledger_blobs(first, count))
        raise NotFoundError(f"unknown request {name!r}")

    def _ledger_blobs(self, first: int, count: int) -> list[wire.LedgerBlob]:
        blobs: list[wire.LedgerBlob] = []
        size = 0
        for seq in range(first, first + count):
            record = self.chain.store.ledger_record(seq)
            if record is None:
                break
            size += (
                len(record.header) + len(record.tx_set) + len(record.results) + sum(map(len, record.proof))
            )
            if blobs and size > wire.MAX_LEDGERS_RESPONSE_BYTES - 64 * 1024:
                break
            blobs.append(wire.LedgerBlob(record.header, record.tx_set, record.results, record.proof))
        return blobs

    # -- quorum sets ---------------------------------------------------------------------------

    def quorum_set(self, qset_hash: bytes) -> QuorumSet | None:
        known = self.herder.quorum_set(qset_hash)
        if known is not None:
            return known
        raw = self.chain.store.quorum_set(qset_hash)
        if raw is None:
            return None
        try:
            return decode_quorum_set(raw)
        except ConsensusError:
            return None

    def learn_quorum_set(self, qset: QuorumSet) -> None:
        self.chain.store.save_quorum_set(qset.hash, qset.encode())

    def _tx_set_of(self, ledger: int) -> TxSet | None:
        cached = self._tx_sets_by_ledger.get(ledger)
        if cached is not None:
            return cached
        record = self.chain.store.ledger_record(ledger)
        if record is None:
            return None
        tx_set = decode_tx_set(record.tx_set, self.network_id)
        self._tx_sets_by_ledger[ledger] = tx_set
        while len(self._tx_sets_by_ledger) > 64:
            self._tx_sets_by_ledger.popitem(last=False)
        return tx_set
