"""``GossipBatcher``'s flush: everything waiting leaves once, in order, in batches within
``node.wire``'s limits (count and bytes), however much waited."""

from __future__ import annotations

import itertools

import trio

from node import wire
from node.peer_service import GossipBatcher
from protocol.transactions import MAX_TX_BYTES


class Published:
    """A transport that keeps what was published."""

    def __init__(self) -> None:
        self.batches: list[tuple[bytes, ...]] = []

    def publish(self, data: bytes) -> None:
        self.batches.append(wire.decode_tx_batch(data))


def test_a_flush_splits_what_waits_into_batches_within_the_wire_limits() -> None:
    transport = Published()
    batcher = GossipBatcher(transport, promoted=list, ledger_closed=trio.Event)  # type: ignore[arg-type]
    small = [b"s%07d" % i for i in range(wire.MAX_TX_BATCH + 500)]  # more than one batch holds
    large = [b"%05d" % i + bytes(MAX_TX_BYTES - 2_000) for i in range(300)]  # ~139 fill a batch's bytes
    for transaction in [*small, *large]:
        batcher.add(transaction)
    batcher.flush_now()
    assert [tx for batch in transport.batches for tx in batch] == [*small, *large]  # once, in order
    room = wire.MAX_TX_BATCH_BYTES - 1024  # what a flush puts in one batch at most
    batches = transport.batches
    assert len(batches) >= 4
    for batch, following in itertools.pairwise(batches):  # each one full: the next did not fit
        assert len(batch) == wire.MAX_TX_BATCH or sum(map(len, batch)) + len(following[0]) >= room
    assert all(len(batch) <= wire.MAX_TX_BATCH and sum(map(len, batch)) < room for batch in batches)
    sent = len(transport.batches)
    batcher.flush_now()  # nothing waits any more
    assert len(transport.batches) == sent
