"""Regression (found by scripts/chaos, 500 tx/s with a SIGKILL every 20 s): a validator persisted
its own SCP statements before sending them, but not the tx sets they name. Killed and restarted
mid-slot, it re-sent statements naming a tx set nobody had any more; peers parked them (and the
statements of everyone who had voted for that value) waiting for a tx set no peer could send,
and the network stalled for good. Now the tx sets are persisted with the statements and
restored with them, and a stuck slot retries fetching the tx sets its parked statements need."""

from __future__ import annotations

from pathlib import Path

import nacl.utils
import trio
from peerless_transport import PeerlessTransport, lone_validator_config

from consensus import Nominate, QuorumSet, Statement
from node.assembly import AssembledNode, assemble_node
from node.config import NodeConfig
from node.metrics import NodeMetrics
from node.storage.store import LedgerStore
from protocol.keys import Keypair
from protocol.ledger import CloseValue, make_tx_set


async def _run(
    config: NodeConfig, keypair: Keypair, nursery: trio.Nursery
) -> tuple[AssembledNode, LedgerStore]:
    node = assemble_node(config=config, keypair=keypair, transport=PeerlessTransport(), metrics=NodeMetrics())
    await nursery.start(node.serve)
    return node, node.store


async def test_a_restarted_validator_can_still_serve_the_tx_sets_its_statements_name(tmp_path: Path) -> None:
    keys = [Keypair(nacl.utils.random(32)) for _ in range(4)]
    qset = QuorumSet(3, tuple(k.public_key for k in keys))
    config = lone_validator_config(tmp_path, qset, close_interval_ms=100, heartbeat_interval_ms=60_000)
    with trio.fail_after(20):
        async with trio.open_nursery() as first:
            node, store = await _run(config, keys[0], first)
            slot = node.herder.slot
            tx_set = make_tx_set(node.chain.last.hash, [])
            node.chain.tx_sets.add(tx_set)
            value = CloseValue(tx_set.hash, node.chain.last.close_time_ms + 1, ()).encode()
            node.herder._emit(Statement(keys[0].public_key, slot, qset.hash, Nominate((value,), ())))
            named = {tx_set.hash}
            while node.herder.outbox.writes == 0:  # noqa: ASYNC110  # written in a worker thread (node.outbox)
                await trio.sleep(0.01)
            assert len(store.own_tx_sets(slot)) == 1
            first.cancel_scope.cancel()  # a crash: everything in memory is gone
        store.close()
        async with trio.open_nursery() as second:
            restarted, store = await _run(config, keys[0], second)
            assert restarted.herder.slot == slot
            for tx_set_hash in named:
                assert tx_set_hash in restarted.chain.tx_sets
            second.cancel_scope.cancel()
        store.close()
