"""A peer's transactions that arrive while this node applies and writes a ledger wait for the close
(node.chain.wait_while_closing): admitted meanwhile, each was applied to the old pending state and
again after the close, and took the interpreter from the close's worker thread. Real nodes on the
in-memory network, trio's virtual clock."""

from __future__ import annotations

from pathlib import Path

import trio
from memnet import MemoryHub, community, signed_tx, start_validators
from trio.testing import MockClock

from node import wire
from node.net import GossipVerdict
from protocol.operations import Payment


async def test_a_peers_batch_waits_for_the_close_in_progress_then_is_admitted(
    tmp_path: Path, virtual_clock: MockClock
) -> None:
    async with trio.open_nursery() as nursery:
        hub = MemoryHub(nursery)
        validators = await start_validators(hub, tmp_path, 4, heartbeat_interval_ms=3_600_000)
        node = validators[1].node
        assert node is not None
        alice, bob = await community(node)
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
