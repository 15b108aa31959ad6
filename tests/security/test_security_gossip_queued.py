"""A queued-ahead transaction is not gossiped until it applies (issue 12).

One real validator (LevelDB, herder, SCP with a quorum of itself) whose transport records what it
publishes, on trio's virtual clock: the node gossips every 200 ms, so a few virtual seconds show
what it would ever send. Ledgers are written in a worker thread, during which the virtual clock
runs ahead freely, so waits for a ledger get a virtual deadline far beyond any real run (the
test's real-time limit is pytest's timeout).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import trio
from quorum_in_process import check_quorums_in_process
from spam_ledger import key, noop

from consensus import QuorumSet
from node import wire
from node.assembly import AssembledNode, assemble_node
from node.config import NodeConfig
from node.metrics import NodeMetrics
from node.net.handlers import GossipVerdict
from protocol.keys import Keypair
from protocol.transactions import Transaction, TransactionBody, build_transaction

PASSPHRASE = "Tally gossip test network"
LEDGER_WAIT_S = 1e6  # virtual seconds


class RecordingTransport:
    """No peers; remembers every gossip batch."""

    def __init__(self) -> None:
        self.published: list[bytes] = []

    def gossiped(self) -> list[bytes]:
        return [raw for batch in self.published for raw in wire.decode_tx_batch(batch)]

    def publish(self, data: bytes) -> None:
        self.published.append(data)

    def publish_board(self, data: bytes) -> None:
        return None

    def broadcast(self, frame: bytes, *, exclude: Collection[str] = ()) -> None:
        pass

    def send(self, peer: str, frame: bytes) -> None:
        pass

    async def request(
        self, peer: str, name: str, payload: bytes, *, max_response: int, timeout_s: float = 10.0
    ) -> bytes:
        raise AssertionError("a lone validator asks no one")

    def connected_peers(self) -> list[str]:
        return []

    def peers_info(self) -> list[dict[str, Any]]:
        return []

    def penalize(self, peer: str, reason: str) -> None:
        pass


def _node(tmp_path: Path, transport: RecordingTransport) -> AssembledNode:
    validator = key()
    config = NodeConfig(
        path=tmp_path / "node.toml",
        role="validator",
        network_passphrase=PASSPHRASE,
        data_dir=tmp_path / "data",
        key_file=tmp_path / "node.key",
        quorum_set=QuorumSet(1, (validator.public_key,)),
        close_interval_ms=100,
    )
    node = assemble_node(config=config, keypair=validator, transport=transport, metrics=NodeMetrics())
    return check_quorums_in_process(node)


def _tx(node: AssembledNode, source: Keypair, seq: int) -> Transaction:
    body = TransactionBody(source.public_key, seq, 10_000, b"", (noop(source),))
    return build_transaction(node.api.network_id, body, (source,))


async def test_a_queued_transaction_is_gossiped_only_once_it_applies(
    tmp_path: Path, autojump_clock: Any
) -> None:
    transport = RecordingTransport()
    node = _node(tmp_path, transport)
    account = key()
    first, second, third = (_tx(node, account, seq) for seq in (1, 2, 3))
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(node.serve)
            assert node.api.submit([first])[0].accepted
            await node.api.wait_for([first.hash], LEDGER_WAIT_S)
            assert node.api.tx_status(first.hash).status == "applied"  # the account is on the ledger now

            assert node.api.submit([third])[0].queued
            await trio.sleep(5)
            assert node.api.tx_status(third.hash).status == "pending"
            assert transport.gossiped() == [first.encode()]

            assert node.api.submit([second])[0].accepted
            await node.api.wait_for([second.hash, third.hash], LEDGER_WAIT_S)
            assert [node.api.tx_status(t.hash).status for t in (second, third)] == ["applied", "applied"]
            await trio.sleep(1)
            assert transport.gossiped() == [first.encode(), second.encode(), third.encode()]
            nursery.cancel_scope.cancel()
    finally:
        node.chain.store.close()


async def test_a_peer_batch_holding_a_queued_transaction_is_not_relayed(
    tmp_path: Path, autojump_clock: Any
) -> None:
    transport = RecordingTransport()
    node = _node(tmp_path, transport)
    account, newcomer, another = key(), key(), key()
    first, third = _tx(node, account, 1), _tx(node, account, 3)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(node.serve)
            assert node.api.submit([first])[0].accepted
            await node.api.wait_for([first.hash], LEDGER_WAIT_S)

            valid_now = _tx(node, newcomer, 1)
            verdict = await node.peers.on_tx_batch(
                wire.encode_tx_batch([third.encode(), valid_now.encode()]), "peer"
            )
            assert verdict is GossipVerdict.IGNORE  # not relayed, the peer not penalised
            assert node.api.tx_status(third.hash).status == "pending"
            plain = _tx(node, another, 1)
            assert (
                await node.peers.on_tx_batch(wire.encode_tx_batch([plain.encode()]), "peer")
                is GossipVerdict.ACCEPT
            )
            await trio.sleep(5)
            # We send on what applies now from the ignored batch; the accepted batch relays itself.
            assert transport.gossiped() == [first.encode(), valid_now.encode()]
            nursery.cancel_scope.cancel()
    finally:
        node.chain.store.close()
