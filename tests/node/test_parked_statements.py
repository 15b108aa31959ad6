"""A peer's SCP statement waits (is parked) until this node holds every tx set it names
(node.herder): SCP must never see a value it cannot check. It must count as soon as the set is
here, whichever way the set came. Real nodes on the in-memory network, trio's virtual clock."""

from __future__ import annotations

import time
from pathlib import Path

import trio
from memnet import MemoryHub, TestNode, community, make_validators, signed_tx, start
from trio.testing import MockClock

from consensus import Nominate, Statement, encode_statement
from node.assembly import AssembledNode
from node.peer_ids import peer_id_for
from node.wire import sign_envelope
from protocol.ledger import CloseValue, TxSet, make_tx_set
from protocol.operations import Payment


async def _park_a_leaders_vote(nursery: trio.Nursery, root: Path) -> tuple[AssembledNode, TestNode, TxSet]:
    """Four validators that close no ledger unless given work. The first votes for a set of one
    payment that the second has not seen yet: the second parks that vote. Returns (the second
    node, the voter, the set)."""
    hub = MemoryHub(nursery)
    validators = make_validators(root, 4, heartbeat_interval_ms=3_600_000)
    for v in validators:
        await start(hub, v)
    voter, node = validators[0], validators[1].node
    assert node is not None
    alice, bob = await community(node)
    payment = signed_tx(node, alice, 1, Payment(bob.public_key, "HOUR", 5))
    tx_set = make_tx_set(node.chain.last.hash, [payment])
    value = CloseValue(tx_set.hash, max(int(time.time() * 1000), node.chain.last.close_time_ms + 1))
    qset = voter.config.quorum_set
    assert qset is not None
    statement = Statement(
        voter.keypair.public_key, node.herder.slot, qset.hash, Nominate((value.encode(),), ())
    )
    envelope = sign_envelope(node.api.network_id, encode_statement(statement), voter.keypair)
    node.herder.receive_envelope(envelope, voter.peer_id)
    assert node.herder.describe()["parked"] == 1, "the vote names a set this node cannot build yet"
    assert node.api.submit([payment])[0].accepted  # now it can
    return node, voter, tx_set


def _heard(node: AssembledNode, voter: TestNode) -> bool:
    statements = node.herder.describe()["statements"]
    assert isinstance(statements, list)
    vote = {"node": peer_id_for(voter.keypair.public_key)[-8:], "type": "nominate", "counter": None}
    return vote in statements


async def test_a_vote_for_the_set_this_node_then_nominates_itself_counts_at_once(
    tmp_path: Path, virtual_clock: MockClock
) -> None:
    # Validators with the same mempool build the same set. A leader's vote that arrived a moment
    # before our own nomination waited for a fetch, which finds the set here and brings nothing,
    # so the slot waited for the nomination round's 1 s timeout (one slot in twenty with 0.1 s
    # between validators: test_node_pacing caught it).
    async with trio.open_nursery() as nursery:
        node, voter, tx_set = await _park_a_leaders_vote(nursery, tmp_path)
        assert not _heard(node, voter)
        node.herder._start_nomination()  # (due 0.1 s after the payment arrived; here at once)
        assert node.chain.tx_sets.get(tx_set.hash) == tx_set, "our own set is the voter's set"
        assert node.herder.describe()["parked"] == 0
        assert _heard(node, voter), "SCP has the vote before this node's own nomination round"
        nursery.cancel_scope.cancel()
