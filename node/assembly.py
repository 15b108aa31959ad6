"""Builds a node from its config: every part, in dependency order, in this one place.

The runtime (``node.runtime``) and the tests use ``assemble_node``; nothing else constructs the
parts or wires them together, and no part receives a collaborator after it was built:

    store → transport (given) → chain → peer requests → quorum sets → ledger claims → herder
    → catch-up → gossip batcher → board (off-ledger listings) → peer directory (discovery)
    → peer service (for the network) → API façade (for node.api)

On a node whose config enables test faults (``[testing] enable_test_faults``), and only there,
this is also the one place that loads ``node.faults`` and wraps the store's disk, the transport
and the network handlers in them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

import trio

from node.board.board import Board, BoardLimits
from node.board.gossip import BoardGossip
from node.capacity import Capacity, CapacitySettings
from node.catchup import CatchUp, LedgerClaims
from node.chain import LedgerChain
from node.clock import wall_ms
from node.config import NodeConfig
from node.discovery import PeerDirectory
from node.facade import NodeAddresses, NodeApi, NodeIdentity
from node.herder import Herder, HerderConfig
from node.logs import log
from node.metrics import NodeMetrics
from node.net.handlers import NetHandlers
from node.peer_requests import PeerRequests
from node.peer_service import GossipBatcher, PeerService
from node.quorum_monitor import QuorumMonitor
from node.quorum_sets import QuorumSets
from node.storage.store import LedgerStore
from node.timers import TimerService
from node.transport import Dialer, Transport
from protocol.addresses import encode_validator
from protocol.keys import Keypair

if TYPE_CHECKING:
    from trio_typing import TaskStatus  # trio-typing's stubs shadow trio's own

    from node.faults import NodeFaults

logger = logging.getLogger("tally.node")

LOOP_LAG_PROBE_S = 0.1
LOOP_LAG_IDLE_PROBE_S = 2.0
LOOP_LAG_WARN_S = 1.0


class AssembledNode:
    """A node's parts, wired, and the tasks that drive them.

    ``api`` is what ``node.api`` serves, ``handlers`` what the network calls (the peer service,
    wrapped in test faults where enabled); ``serve`` runs timers, consensus, catch-up and gossip
    batching until cancelled. The other attributes are the parts themselves, for the runtime and
    for tests. The node owns ``store``: whoever runs it closes the store after ``serve`` ended.
    """

    def __init__(
        self,
        *,
        api: NodeApi,
        peers: PeerService,
        handlers: NetHandlers,
        store: LedgerStore,
        chain: LedgerChain,
        herder: Herder,
        catchup: CatchUp,
        gossip: GossipBatcher,
        board: BoardGossip,
        directory: PeerDirectory,
        timers: TimerService,
        metrics: NodeMetrics,
        extra_tasks: Sequence[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        self.api = api
        self.peers = peers
        self.handlers = handlers
        self.store = store
        self.chain = chain
        self.herder = herder
        self.catchup = catchup
        self.gossip = gossip
        self.board = board
        self.directory = directory
        self.timers = timers
        self.metrics = metrics
        self._extra_tasks = tuple(extra_tasks)

    async def serve(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the node's own tasks until cancelled."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.timers.run)
            self.herder.start(nursery, self.store.own_envelopes(self.herder.slot))
            nursery.start_soon(self.catchup.run)
            nursery.start_soon(self.catchup.poll_peers)
            nursery.start_soon(self.gossip.run)
            nursery.start_soon(self.board.run)
            nursery.start_soon(self.directory.run)
            nursery.start_soon(self._watch_loop_lag)
            for task in self._extra_tasks:
                nursery.start_soon(task)
            task_status.started()

    async def _watch_loop_lag(self) -> None:
        """Measure how late a short sleep wakes up: the first sign of an overloaded node. Often
        while transactions wait, seldom on an idle node (each wake-up costs it CPU)."""
        while True:
            asked = trio.current_time()
            probe = LOOP_LAG_PROBE_S if len(self.chain.mempool) else LOOP_LAG_IDLE_PROBE_S
            await trio.sleep(probe)
            lag = trio.current_time() - asked - probe
            self.metrics.loop_lag.observe(lag)
            if lag > LOOP_LAG_WARN_S:
                log(logger, logging.WARNING, "event loop was blocked", lag_s=round(lag, 2))


def assemble_node(
    *,
    config: NodeConfig,
    keypair: Keypair,
    transport: Transport,
    metrics: NodeMetrics,
    addresses: NodeAddresses | None = None,
    dialer: Dialer | None = None,
) -> AssembledNode:
    """Open the node's ledger store and wire every part on it and on ``transport`` (used by the
    runtime and by tests). ``dialer`` (the network itself, in production) lets peer discovery
    open connections; without one the node still swaps peer records but dials nobody. Raises
    StorageError when the store cannot be opened."""
    test_faults = None
    if config.test_faults:
        from node import faults  # the only import of node.faults (tests/node/test_node_layering.py)

        test_faults = faults.NodeFaults(config, keypair)
        store = test_faults.open_store()
    else:
        store = LedgerStore(config.data_dir, config.network_id)
    try:
        return _assemble(
            config, keypair, store, transport, dialer, metrics, addresses or NodeAddresses(), test_faults
        )
    except BaseException:
        store.close()
        raise


def _assemble(
    config: NodeConfig,
    keypair: Keypair,
    store: LedgerStore,
    transport: Transport,
    dialer: Dialer | None,
    metrics: NodeMetrics,
    addresses: NodeAddresses,
    test_faults: NodeFaults | None,
) -> AssembledNode:
    assert config.quorum_set is not None  # load_config guarantees it
    if test_faults is not None:
        transport = test_faults.wrap_transport(transport, store)
    chain = LedgerChain(
        store, metrics, Capacity(CapacitySettings(target_interval_s=config.close_interval_ms / 1000))
    )
    metrics.ledger_seq.set(store.last_header.seq)
    metrics.healthy.set(1)
    timers = TimerService()
    requests = PeerRequests(transport, config.network_id, metrics)
    quorum_sets = QuorumSets(config.quorum_set, store, requests)
    claims = LedgerClaims(chain, metrics, config.quorum_set)
    monitor = QuorumMonitor(
        keypair.public_key, config.quorum_set, quorum_sets, metrics, store.last_header.seq
    )
    directory = PeerDirectory(
        keypair=keypair,
        network=config.network_id,
        quorum_set=config.quorum_set,
        transport=transport,
        dialer=dialer,
        requests=requests,
        area=store.peers,
        metrics=metrics,
    )
    if dialer is not None:
        dialer.skip_relays_when(directory.hears_directly)
    gossip = GossipBatcher(transport, chain.mempool.take_promoted, lambda: chain.closed_event)
    herder = Herder(
        HerderConfig(
            config.network_id,
            keypair,
            config.quorum_set,
            config.is_validator,
            config.close_interval_ms,
            config.heartbeat_interval_ms,
            config.max_tx_set_size,
            config.upgrade_wishes,
        ),
        chain,
        transport,
        requests,
        quorum_sets,
        timers,
        metrics,
        report_behind=claims.peer_is_at,
        monitor=monitor,
        hears_directly=directory.hears_directly,
        flush_gossip=gossip.flush_now,
    )
    catchup = CatchUp(
        network=config.network_id,
        node_id=keypair.public_key,
        quorum_set=config.quorum_set,
        chain=chain,
        transport=transport,
        requests=requests,
        quorum_sets=quorum_sets,
        claims=claims,
        metrics=metrics,
        advanced=herder.ledger_advanced,
    )
    board = Board(store.board, store, config.network_id, BoardLimits())
    board.load(wall_ms())
    board_gossip = BoardGossip(board, transport, requests, metrics)
    peers = PeerService(
        network_id=config.network_id,
        is_validator=config.is_validator,
        chain=chain,
        herder=herder,
        claims=claims,
        quorum_sets=quorum_sets,
        transport=transport,
        gossip=gossip,
        board=board_gossip,
        directory=directory,
        timers=timers,
        metrics=metrics,
    )
    identity = NodeIdentity(
        config.role, encode_validator(keypair.public_key), config.network_passphrase, config.network_id
    )
    api = NodeApi(
        identity=identity,
        addresses=addresses,
        chain=chain,
        herder=herder,
        catchup=catchup,
        transport=transport,
        gossip=gossip,
        board=board_gossip,
        directory=directory,
        metrics=metrics,
        quorum_monitor=monitor,
        test_admin_actions=test_faults.admin_actions() if test_faults else None,
    )
    return AssembledNode(
        api=api,
        peers=peers,
        handlers=test_faults.wrap_handlers(peers) if test_faults else peers,
        store=store,
        chain=chain,
        herder=herder,
        catchup=catchup,
        gossip=gossip,
        board=board_gossip,
        directory=directory,
        timers=timers,
        metrics=metrics,
        extra_tasks=(monitor.run, *(test_faults.tasks() if test_faults else ())),
    )
