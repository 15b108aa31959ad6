"""How a node admits the transactions in peers' batches (node.peer_service). Real nodes on the
in-memory network, trio's virtual clock.

* A batch that arrives while this node applies and writes a ledger waits for the close
  (node.chain.wait_while_closing): admitted meanwhile, each was applied to the old pending state
  and again after the close, and took the interpreter from the close's worker thread.
* Batches are admitted a chunk at a time, one chunk per pass of the event loop whatever the number
  of batches in progress (GOSSIP_WORK_CHUNK): admitted whole, a batch of a few hundred payments held
  the loop for tens of milliseconds, and the SCP statements that arrived meanwhile waited.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from memnet import MemoryHub, community, signed_tx, start_validators
from trio.testing import MockClock

from node import wire
from node.assembly import AssembledNode
from node.mempool import Admission
from node.net import GossipVerdict
from node.peer_service import GOSSIP_WORK_CHUNK
from protocol.keys import Keypair
from protocol.operations import Payment
from protocol.transactions import Transaction


async def _quiet_validator(nursery: trio.Nursery, tmp_path: Path) -> tuple[AssembledNode, Keypair, Keypair]:
    """One of four validators on the in-memory network, closing only when transactions wait, with
    a community of two members (alice, bob)."""
    hub = MemoryHub(nursery)
    validators = await start_validators(hub, tmp_path, 4, heartbeat_interval_ms=3_600_000)
    node = validators[1].node
    assert node is not None
    alice, bob = await community(node)
    return node, alice, bob


async def test_a_peers_batch_waits_for_the_close_in_progress_then_is_admitted(
    tmp_path: Path, virtual_clock: MockClock
) -> None:
    async with trio.open_nursery() as nursery:
        node, alice, bob = await _quiet_validator(nursery, tmp_path)
        payment = signed_tx(node, alice, 1, Payment(bob.public_key, "HOUR", 5))
        verdicts: list[GossipVerdict] = []

        async def receive() -> None:
            verdicts.append(await node.peers.on_tx_batch(wire.encode_tx_batch([payment.encode()]), "a peer"))

        async with node.chain._closing:  # a ledger being applied and written
            nursery.start_soon(receive)
            await trio.sleep(1)
            assert node.chain.mempool.get(payment.hash) is None, "admitted during the close"
            assert not verdicts
        await trio.sleep(0.01)
        assert verdicts == [GossipVerdict.ACCEPT]
        assert node.api.tx_status(payment.hash).status in ("pending", "applied")  # a ledger may have it now
        nursery.cancel_scope.cancel()


class _PassCounter(trio.abc.Instrument):
    """Counts the passes of trio's run loop (each pass polls for I/O once, then runs the tasks that
    are ready)."""

    def __init__(self) -> None:
        self.count = 0

    def after_io_wait(self, timeout: float) -> None:
        self.count += 1


async def test_two_peers_batches_take_turns_one_chunk_per_pass_of_the_loop(
    tmp_path: Path, virtual_clock: MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with trio.open_nursery() as nursery:
        node, alice, bob = await _quiet_validator(nursery, tmp_path)
        per_batch = 2 * GOSSIP_WORK_CHUNK + 10
        batches = [
            wire.encode_tx_batch(
                [
                    signed_tx(node, payer, seq, Payment(payee.public_key, "HOUR", 1)).encode()
                    for seq in range(1, per_batch + 1)
                ]
            )
            for payer, payee in ((alice, bob), (bob, alice))
        ]
        passes = _PassCounter()
        admitted_in_pass: dict[int, list[str]] = {}  # pass of the loop -> the peer of each admission
        submit = node.chain.submit

        def counting_submit(tx: Transaction, source: str | None = None) -> Admission:
            admitted_in_pass.setdefault(passes.count, []).append(current_peer[tx.body.source])
            return submit(tx, source)

        monkeypatch.setattr(node.chain, "submit", counting_submit)
        current_peer = {alice.public_key: "peer 0", bob.public_key: "peer 1"}
        verdicts: list[GossipVerdict] = []

        async def receive(batch: bytes, peer: str) -> None:
            verdicts.append(await node.peers.on_tx_batch(batch, peer))

        trio.lowlevel.add_instrument(passes)
        try:
            async with trio.open_nursery() as batches_nursery:
                for index, batch in enumerate(batches):
                    batches_nursery.start_soon(receive, batch, f"peer {index}")
        finally:
            trio.lowlevel.remove_instrument(passes)
        assert verdicts == [GossipVerdict.ACCEPT] * len(batches)
        assert sum(len(peers) for peers in admitted_in_pass.values()) == len(batches) * per_batch
        for peers in admitted_in_pass.values():
            assert len(peers) <= GOSSIP_WORK_CHUNK, f"more than a chunk in one pass: {len(peers)}"
            assert len(set(peers)) == 1, "two batches' chunks in one pass of the loop"
        # each batch in three chunks (50, 50, 10), in passes of their own
        assert sorted(len(p) for p in admitted_in_pass.values()) == [10, 10, 50, 50, 50, 50]
        nursery.cancel_scope.cancel()
