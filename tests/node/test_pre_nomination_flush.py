"""Each validator sends its unsent gossip shortly before its own nomination is due
(node.herder.PRE_NOMINATION_FLUSH_MS), so the round's leader holds the payments the others admitted
in the gossip batcher's last flush interval. Real nodes on the in-memory network, trio's virtual
clock; the batcher's own flush is pushed far out, so only the herder's can send the payment."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from memnet import TIMEOUT_S, MemoryHub, MemoryTransport, community, make_validators, signed_tx, start
from trio.testing import MockClock

from node.herder import PRE_NOMINATION_FLUSH_MS, Herder
from protocol.operations import Payment


async def test_a_validator_sends_its_gossip_before_its_nomination_is_due(
    tmp_path: Path, virtual_clock: MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("node.peer_service.GOSSIP_FLUSH_S", 3_600.0)
    async with trio.open_nursery() as nursery:
        hub = MemoryHub(nursery)
        validators = make_validators(tmp_path, 4, close_interval_ms=1_000, heartbeat_interval_ms=3_600_000)
        for v in validators:
            await start(hub, v)
        node, watched = validators[1].node, validators[1].peer_id
        assert node is not None
        alice, bob = await community(node)
        published: list[float] = []
        nominations: list[float] = []
        publish, nominate = MemoryTransport.publish, Herder._start_nomination

        def recording_publish(self: MemoryTransport, data: bytes) -> None:
            if self.peer_id == watched:
                published.append(trio.current_time())
            publish(self, data)

        def recording_nominate(self: Herder) -> None:
            if self is node.herder:
                nominations.append(trio.current_time())
            nominate(self)

        monkeypatch.setattr(MemoryTransport, "publish", recording_publish)
        monkeypatch.setattr(Herder, "_start_nomination", recording_nominate)
        submitted = trio.current_time()
        payment = signed_tx(node, alice, 1, Payment(bob.public_key, "HOUR", 10))
        assert node.api.submit([payment])[0].accepted
        await node.api.wait_for([payment.hash], TIMEOUT_S)
        assert node.api.tx_status(payment.hash).status == "applied"
        first_nomination = min(t for t in nominations if t >= submitted)
        assert published, "the payment was never gossiped"
        assert published[0] <= first_nomination - (PRE_NOMINATION_FLUSH_MS - 10) / 1000
        nursery.cancel_scope.cancel()
