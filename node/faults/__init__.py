"""Test-only faults: byzantine validators, partitions and full disks, as wrappers around a real node.

Loaded by ``node.assembly`` only, and only for a node whose config says ``[testing]
enable_test_faults = true`` (``tally testnet`` writes it; ``tally node init`` never does). No
production class knows these wrappers exist; ``tests/node/test_node_layering.py`` checks that no
other production module imports this package.

* ``byzantine``   a transport that lies for an honest node (``[testing] misbehave``), and the
                  handlers that answer quorum-set and SCP-state requests the same way;
* ``peer_filter`` a transport and handlers that cut the node off from chosen peers
                  (admin action ``peer-filter`` ``{"block": [peer ids]}``; ``{"block": []}`` heals);
* ``disk``        the store's LevelDB handle, whose write batches fail half way on command
                  (admin action ``disk-fault`` ``{"fail": true|false}``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from node.config import Misbehaviour, NodeConfig
from node.faults.byzantine import ByzantineHandlers, ByzantineTransport
from node.faults.disk import FailingDisk
from node.faults.peer_filter import FilteredHandlers, FilteredTransport, PeerFilter
from node.logs import log
from node.net import P2PNetwork
from node.net.handlers import NetHandlers
from node.storage.store import LedgerStore
from node.transport import Transport
from protocol.keys import Keypair

logger = logging.getLogger("tally.faults")

AdminAction = Callable[[dict[str, Any]], dict[str, Any]]


class NodeFaults:
    """The test faults of one node, wired in by the assembly in this order: ``open_store``,
    ``wrap_transport``, ``wrap_handlers``; then ``tasks`` run with the node and
    ``admin_actions`` join the node's admin API."""

    def __init__(self, config: NodeConfig, keypair: Keypair) -> None:
        assert config.test_faults, "test faults on a node whose config does not enable them"
        self._config = config
        self._keypair = keypair
        self.disk = FailingDisk()
        self.peer_filter = PeerFilter()
        self._byzantine: ByzantineTransport | None = None
        log(
            logger,
            logging.WARNING,
            "test faults enabled ([testing] enable_test_faults)",
            misbehave=config.misbehave.value,
        )

    def open_store(self) -> LedgerStore:
        return LedgerStore(self._config.data_dir, self._config.network_id, open_db=self.disk.open)

    def wrap_transport(self, transport: Transport, store: LedgerStore) -> Transport:
        filtered = FilteredTransport(transport, self.peer_filter)
        if self._config.misbehave is Misbehaviour.NONE:
            return filtered
        assert self._config.quorum_set is not None  # load_config guarantees it
        self._byzantine = ByzantineTransport(
            filtered,
            self._config.misbehave,
            network=self._config.network_id,
            keypair=self._keypair,
            quorum_set=self._config.quorum_set,
            store=store,
            libp2p=transport if isinstance(transport, P2PNetwork) else None,
        )
        return self._byzantine

    def wrap_handlers(self, handlers: NetHandlers) -> NetHandlers:
        if self._byzantine is not None:
            handlers = ByzantineHandlers(handlers, self._byzantine)
        return FilteredHandlers(handlers, self.peer_filter)

    def tasks(self) -> list[Callable[[], Awaitable[None]]]:
        return [] if self._byzantine is None else [self._byzantine.run]

    def admin_actions(self) -> dict[str, AdminAction]:
        return {"peer-filter": self._set_peer_filter, "disk-fault": self._set_disk_fault}

    def _set_peer_filter(self, params: dict[str, Any]) -> dict[str, Any]:
        block = params.get("block")
        if not isinstance(block, list) or not all(isinstance(p, str) for p in block):
            raise ValueError('expected {"block": [peer ids]}')
        self.peer_filter.blocked = frozenset(block)
        log(logger, logging.WARNING, "peer filter set (test faults)", blocked=len(block))
        return {"ok": True, "blocked": sorted(self.peer_filter.blocked)}

    def _set_disk_fault(self, params: dict[str, Any]) -> dict[str, Any]:
        fail = params.get("fail")
        if not isinstance(fail, bool):
            raise ValueError('expected {"fail": true|false}')
        self.disk.failing = fail
        log(logger, logging.WARNING, "disk fault injection (test faults)", fail=fail)
        return {"ok": True, "fail": fail}
