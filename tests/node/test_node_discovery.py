"""Peer discovery on the in-memory network and trio's virtual clock: nodes that each know one bootstrap peer (a chain)
learn the others' signed records and connect to every validator of their quorum; a node that
loses its only bootstrap peer stays connected through the peers it discovered, and after a
restart finds them again from the records it persisted."""

from __future__ import annotations

from pathlib import Path

import trio
from memnet import MemoryHub, TestNode, community, make_validators, signed_tx, start, start_chain, stop, until
from trio.testing import MockClock

from protocol.operations import Payment


def _connected(hub: MemoryHub, node: TestNode) -> set[str]:
    return set(hub.neighbours(node.peer_id))


def _fully_connected(hub: MemoryHub, nodes: list[TestNode]) -> bool:
    return all(_connected(hub, n) == {m.peer_id for m in nodes if m is not n} for n in nodes)


async def test_a_chain_of_bootstraps_becomes_a_full_mesh_of_the_quorum(
    tmp_path: Path, virtual_clock: MockClock
) -> None:
    async with trio.open_nursery() as nursery:
        hub = MemoryHub(nursery)
        validators = await start_chain(hub, tmp_path, 5)
        assert _connected(hub, validators[4]) == {validators[3].peer_id}
        await until(lambda: _fully_connected(hub, validators), "every validator connected to every other")
        node = validators[4].node
        assert node is not None
        status = node.api.directory.status()
        assert status["quorum_connected"] == status["quorum_peers"] == 4
        assert status["known_peers"] == 4
        nursery.cancel_scope.cancel()


async def test_neighbour_lists_catch_up_with_the_mesh_within_seconds(
    tmp_path: Path, virtual_clock: MockClock
) -> None:
    """The lists node.flood uses to skip relays are the ones of each peer's last exchange; the first
    exchange happens while the chain is still a chain, so the next must come soon, not in 2 minutes."""
    async with trio.open_nursery() as nursery:
        hub = MemoryHub(nursery)
        validators = await start_chain(hub, tmp_path, 5)
        started_s = trio.current_time()
        await until(lambda: _fully_connected(hub, validators), "every validator connected to every other")

        def lists_are_current() -> bool:
            for v in validators:
                assert v.node is not None
                directory = v.node.api.directory
                for peer in _connected(hub, v):
                    if set(directory.neighbours.get(peer, ())) != {m.peer_id for m in validators} - {peer}:
                        return False
            return True

        await until(lists_are_current, "every node knows whom each of its peers hears directly")
        assert trio.current_time() - started_s < 60, "well before the 2-minute refresh"
        nursery.cancel_scope.cancel()


async def test_losing_the_only_bootstrap_peer_and_restarting_without_it(
    tmp_path: Path, virtual_clock: MockClock
) -> None:
    async with trio.open_nursery() as nursery:
        hub = MemoryHub(nursery)
        validators = make_validators(tmp_path, 4)
        v0, v1, v2, v3 = validators
        hub.chain([v.peer_id for v in validators])  # v3 knows only v2 …
        hub.unreachable = {v3.peer_id}  # … and is behind NAT: only v3 can open its connections
        for v in validators:
            await start(hub, v)
        await until(lambda: _fully_connected(hub, validators), "discovery connects everyone")
        first = v0.node
        assert first is not None
        alice, bob = await community(first)

        await stop(hub, v2)  # v3's only bootstrap peer goes away …
        assert _connected(hub, v3) == {v0.peer_id, v1.peer_id}, "… v3 keeps the peers it discovered"
        pay = signed_tx(first, alice, 1, Payment(bob.public_key, "HOUR", 100))
        first.api.submit([pay])
        await first.api.wait_for([pay.hash], 60)
        target = first.chain.last.seq
        await until(lambda: v3.node is not None and v3.node.chain.last.seq >= target, "v3 follows")

        await stop(hub, v3)  # … and v3 restarts while v2 is still down: only its records remain
        await start(hub, v3)
        await until(lambda: _connected(hub, v3) == {v0.peer_id, v1.peer_id}, "v3 dials the peers it knew")
        assert v3.node is not None
        assert v3.node.api.directory.status()["known_peers"] == 3, "from its store (v2's record too)"
        pay = signed_tx(first, alice, 2, Payment(bob.public_key, "HOUR", 100))
        first.api.submit([pay])
        await first.api.wait_for([pay.hash], 60)
        target = first.chain.last.seq
        await until(lambda: v3.node is not None and v3.node.chain.last.seq >= target, "v3 catches up")
        nursery.cancel_scope.cancel()
