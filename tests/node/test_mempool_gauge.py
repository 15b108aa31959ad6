"""``tally_mempool_size`` (and the admission gauges) are read from the mempool when metrics are
scraped (node.chain): they follow admissions and closes without being updated on each admission.
Real nodes on the in-memory network, trio's virtual clock."""

from __future__ import annotations

from pathlib import Path

import trio
from memnet import MemoryHub, community, signed_tx, start_validators
from trio.testing import MockClock

from protocol.operations import Payment


def gauge(metrics_text: bytes, name: str = "tally_mempool_size") -> float:
    for line in metrics_text.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} is not in the metrics")


async def test_the_mempool_gauge_follows_admissions_and_closes(
    tmp_path: Path, virtual_clock: MockClock
) -> None:
    async with trio.open_nursery() as nursery:
        hub = MemoryHub(nursery)
        (validator,) = await start_validators(hub, tmp_path, 1)  # a network of one closes alone
        assert validator.node is not None
        node = validator.node
        alice, bob = await community(node)
        assert gauge(node.api.metrics_text()) == len(node.chain.mempool) == 0
        payments = [signed_tx(node, alice, seq, Payment(bob.public_key, "HOUR", 5)) for seq in (1, 2)]
        assert all(a.accepted for a in node.api.submit(payments))
        metrics = node.api.metrics_text()
        assert gauge(metrics) == 2
        # the API's admission control, read at the same time: what it weighs and its limit
        assert gauge(metrics, "tally_admission_weighed") == 2
        capacity = node.chain.mempool.capacity
        assert gauge(metrics, "tally_admission_limit") == capacity.admission_limit > 2
        assert gauge(metrics, "tally_capacity_tx_per_second") == capacity.rate
        with trio.fail_after(30):
            while node.chain.mempool.pending_count:
                await node.chain.closed_event.wait()
        assert gauge(node.api.metrics_text()) == 0
        nursery.cancel_scope.cancel()
