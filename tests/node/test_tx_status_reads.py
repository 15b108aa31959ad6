"""``LedgerChain.tx_status`` answers a pending transaction from the mempool, without a LevelDB read
(the API answers every admitted payment with its status), and an applied one from the store. Real
node on the in-memory network, trio's virtual clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio
from memnet import MemoryHub, community, signed_tx, start_validators
from trio.testing import MockClock

from protocol.operations import Payment


class CountingLocations:
    """Counts the store's ``tx_location`` reads, passing them on."""

    def __init__(self, read: Any) -> None:
        self.read = read
        self.calls = 0

    def __call__(self, tx_hash: bytes) -> Any:
        self.calls += 1
        return self.read(tx_hash)


async def test_a_pending_payment_s_status_reads_no_store_and_an_applied_one_does(
    tmp_path: Path, virtual_clock: MockClock
) -> None:
    async with trio.open_nursery() as nursery:
        hub = MemoryHub(nursery)
        (validator,) = await start_validators(hub, tmp_path, 1)
        assert validator.node is not None
        node = validator.node
        alice, bob = await community(node)
        payment = signed_tx(node, alice, 1, Payment(bob.public_key, "HOUR", 5))
        reads = CountingLocations(node.chain.store.tx_location)
        node.chain.store.tx_location = reads  # type: ignore[method-assign]
        (admission,) = node.api.submit([payment])
        assert admission.accepted
        assert node.chain.tx_status(payment.hash).status == "pending"
        assert reads.calls == 0
        with trio.fail_after(30):
            while payment.hash in node.chain.mempool:
                await node.chain.closed_event.wait()
        status = node.chain.tx_status(payment.hash)
        assert (status.status, status.ledger) == ("applied", node.chain.last.seq)
        assert reads.calls == 1
        nursery.cancel_scope.cancel()
