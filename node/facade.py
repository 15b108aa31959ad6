"""What the HTTP API talks to: submitting transactions, queries, node info, health, admin.

``NodeApi`` implements ``node.api.app.NodeFacade``. It reads the ledger store and the mempool and
hands admitted transactions to the herder (to plan a ledger) and to the gossip batcher (to reach
the other nodes); it never talks to peers itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from consensus import all_validators
from node.board.gossip import BoardGossip
from node.catchup import CatchUp
from node.chain import LedgerChain
from node.clock import wall_ms
from node.discovery import PeerDirectory
from node.errors import AdminForbiddenError
from node.herder import Herder
from node.mempool import Admission
from node.metrics import NodeMetrics
from node.peer_ids import peer_id_for
from node.peer_service import GossipBatcher
from node.quorum_monitor import QuorumMonitor
from node.reads import LedgerReads, ValidatorStatus
from node.transport import Transport
from node.tx_status import TxStatus
from protocol.addresses import encode_validator
from protocol.ledger import LedgerHeader, decode_results
from protocol.state import Account, Currency, Holding, StateOverlay
from protocol.transactions import Transaction, TxHeader

LOG_LEVELS = ("debug", "info", "warning", "error")
# Exist only on a node whose config enables test faults (node.faults); refused with 403 elsewhere.
TEST_ONLY_ADMIN_ACTIONS = ("disk-fault", "peer-filter")

AdminAction = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class NodeIdentity:
    """Who this node is and on which network (shown by ``/node``)."""

    role: str
    node_id: str  # tlyv1… validator id
    network_passphrase: str
    network_id: bytes


@dataclass
class NodeAddresses:
    """Where this node can be reached, filled in by the runtime as its servers bind (shown by
    ``/node``; a port chosen by the OS is only known then)."""

    peer_id: str = ""
    listen: list[str] = field(default_factory=list)
    api_url: str = ""


class NodeApi:
    """The node as the HTTP API sees it.

    Invariant: a transaction the API admitted is in the mempool and queued for gossip; the
    answers are read from committed ledgers and the mempool, never from half-written state.
    """

    def __init__(
        self,
        *,
        identity: NodeIdentity,
        addresses: NodeAddresses,
        chain: LedgerChain,
        herder: Herder,
        catchup: CatchUp,
        transport: Transport,
        gossip: GossipBatcher,
        board: BoardGossip,
        directory: PeerDirectory,
        metrics: NodeMetrics,
        quorum_monitor: QuorumMonitor | None = None,
        test_admin_actions: Mapping[str, AdminAction] | None = None,
    ) -> None:
        self.identity = identity
        self.network_id = identity.network_id
        self.addresses = addresses
        self.chain = chain
        self.herder = herder
        self.catchup = catchup
        self.transport = transport
        self.gossip = gossip
        self.board = board  # the offers and requests board (node.api.board)
        self.directory = directory  # peer discovery (known peers, quorum validators connected)
        self.metrics = metrics
        self._quorum = quorum_monitor
        self._test_admin_actions = dict(test_admin_actions or {})
        assert set(self._test_admin_actions) <= set(TEST_ONLY_ADMIN_ACTIONS)
        self.started_s = time.time()
        self.reads = LedgerReads(chain, identity.network_id)  # explorer pages, listings, events

    # -- transactions --------------------------------------------------------------------------

    def submit(self, transactions: list[Transaction], source: str | None = None) -> list[Admission]:
        """Admit ``transactions`` from API client ``source`` (its address, for per-source quotas)."""
        admissions = []
        for tx in transactions:
            admission = self.chain.submit(tx, source)
            if admission.accepted and not admission.queued:  # queued ones go out once they apply
                self.gossip.add(tx.encode())
            admissions.append(admission)
        if any(a.accepted for a in admissions):
            self.herder.transactions_arrived()
        return admissions

    def refuse_early(self, header: TxHeader, source: str | None = None) -> Admission | None:
        """The mempool's refusal on a transaction's first look, before a full decode (junk from
        keys with nothing on the ledger costs little); None when it needs ``submit``."""
        return self.chain.refuse_early(header, source)

    async def wait_for(self, tx_hashes: list[bytes], timeout_s: float) -> None:
        await self.chain.wait_for(tx_hashes, timeout_s)

    def tx_status(self, tx_hash: bytes) -> TxStatus:
        return self.chain.tx_status(tx_hash)

    # -- ledger queries ------------------------------------------------------------------------

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
            tx_set = self.reads.tx_set_of(ledger)
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

    # -- the node itself -----------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        last = self.chain.last
        return {
            "node_id": self.identity.node_id,
            "role": self.identity.role,
            "peer_id": self.addresses.peer_id,
            "listen": self.addresses.listen,
            "api": self.addresses.api_url,
            "network_passphrase": self.identity.network_passphrase,
            "network_id": self.network_id.hex(),
            "ledger": {
                "seq": last.seq,
                "hash": last.hash.hex(),
                "state_hash": last.state_hash.hex(),
                "close_time_ms": last.close_time_ms,
                "age_s": round(max(0, wall_ms() - last.close_time_ms) / 1000, 3) if last.seq > 1 else None,
                "max_tx_set_size": last.params.max_tx_set_size,
                "protocol_version": last.version,
            },
            "mempool": len(self.chain.mempool),
            "slot": self.herder.slot,
            "consensus": self.herder.describe(),
            "peers": len(self.transport.connected_peers()),
            "discovery": self.directory.status(),
            "catching_up": self.catchup.running,
            "uptime_s": round(time.time() - self.started_s, 1),
        }

    def validators(self) -> list[ValidatorStatus]:
        """The validators this node's quorum set names, and what it sees of each right now."""
        connected = set(self.transport.connected_peers())
        herder = self.herder
        voting = {
            statement.node_id
            for slot in (herder.slot - 1, herder.slot)
            for statement in herder.scp.latest_statements(slot)
        }
        return [
            ValidatorStatus(
                node_id=encode_validator(key),
                is_self=key == herder.node_id,
                connected=peer_id_for(key) in connected,
                voting=key in voting,
            )
            for key in sorted(all_validators(herder.config.quorum_set))
        ]

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
        quorum_problem = None if self._quorum is None else self._quorum.problem()
        if quorum_problem is not None:
            details["quorum"] = quorum_problem
        return failure is None and quorum_problem is None, details

    def quorum(self) -> dict[str, Any]:
        """``GET /quorum``: live quorum health (``node.quorum_monitor``)."""
        if self._quorum is None:
            return {"ledger": None, "validators": [], "transitive": None}
        return self._quorum.view()

    def metrics_text(self) -> bytes:
        return self.metrics.render()

    def admin(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """Run an admin action. Raises ValueError (unknown action, bad parameters) or
        AdminForbiddenError (a test-only action on a node without test faults)."""
        if action == "log-level":
            level = params.get("level")
            if level not in LOG_LEVELS:
                raise ValueError(f"level must be one of {', '.join(LOG_LEVELS)}")
            logging.getLogger("tally").setLevel(str(level).upper())
            return {"ok": True, "level": level}
        test_action = self._test_admin_actions.get(action)
        if test_action is not None:
            return test_action(params)
        if action in TEST_ONLY_ADMIN_ACTIONS:
            raise AdminForbiddenError(
                f"admin action {action!r} is for test networks only, and this node's config does not "
                "enable test faults ([testing] enable_test_faults = true, which only `tally testnet` writes)"
            )
        raise ValueError(
            f"unknown admin action {action!r} (known: log-level; on a test network also "
            f"{', '.join(TEST_ONLY_ADMIN_ACTIONS)})"
        )
