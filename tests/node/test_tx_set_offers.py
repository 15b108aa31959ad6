"""Tx sets offered by their proposer (node.tx_set_offers): on an honest network no validator has to
ask for a tx set's hashes, a false offer changes nothing but one rebuild, and an offer is decoded
strictly. Real nodes on the in-memory network, trio's virtual clock."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import nacl.utils
import pytest
import trio
from memnet import (
    TIMEOUT_S,
    MemoryHub,
    MemoryTransport,
    TestNode,
    community,
    make_validators,
    signed_tx,
    start,
)
from trio.testing import MockClock

from node import wire
from node.errors import NodeError
from node.net import GossipVerdict
from node.peer_requests import TX_OFFER, TxSetOffer, offer_parts
from protocol.errors import DecodeError
from protocol.keys import Keypair
from protocol.ledger import make_tx_set
from protocol.operations import Payment


@pytest.fixture
def requests_asked(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every request a memnet node makes, by request name."""
    asked: Counter[str] = Counter()
    request = MemoryTransport.request

    async def counting(self: MemoryTransport, peer: str, name: str, payload: bytes, **kwargs: float) -> bytes:
        asked[name] += 1
        return await request(self, peer, name, payload, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(MemoryTransport, "request", counting)
    return asked


@pytest.mark.parametrize("part_hashes", [1_500, 1])  # 1: every set of two or more comes in parts
async def test_validators_take_offered_sets_without_asking_for_their_hashes(
    tmp_path: Path,
    virtual_clock: MockClock,
    requests_asked: Counter[str],
    monkeypatch: pytest.MonkeyPatch,
    part_hashes: int,
) -> None:
    monkeypatch.setattr("node.peer_requests.TX_OFFER_PART_HASHES", part_hashes)
    async with trio.open_nursery() as nursery:
        hub = MemoryHub(nursery)
        validators = make_validators(tmp_path, 4)
        for v in validators:
            await start(hub, v)
        nodes = [v.node for v in validators if v.node is not None]
        alice, bob = await community(nodes[0])
        for seq in range(1, 9):  # two payments through each node in turn, ledgers between them
            node = nodes[seq % 4]
            payments = [
                signed_tx(node, alice, seq, Payment(bob.public_key, "HOUR", 10)),
                signed_tx(node, bob, seq, Payment(alice.public_key, "HOUR", 10)),
            ]
            assert all(a.accepted for a in node.api.submit(payments))
            await node.api.wait_for([p.hash for p in payments], TIMEOUT_S)
            assert [node.api.tx_status(p.hash).status for p in payments] == ["applied"] * 2
        assert requests_asked[wire.REQ_TX_IDS] == 0, "a validator had to ask for an offered set"
        assert requests_asked[wire.REQ_TX_SET] == 0
        assert requests_asked[wire.REQ_TX_OFFER] > 0
        nursery.cancel_scope.cancel()


async def _quiet_network(nursery: trio.Nursery, root: Path) -> list[TestNode]:
    """Four validators that close no ledger unless given work (an hour's heartbeat)."""
    hub = MemoryHub(nursery)
    validators = make_validators(root, 4, heartbeat_interval_ms=3_600_000)
    for v in validators:
        await start(hub, v)
    return validators


async def test_a_false_offer_is_not_taken_and_the_set_is_still_fetched(
    tmp_path: Path, virtual_clock: MockClock
) -> None:
    async with trio.open_nursery() as nursery:
        validators = await _quiet_network(nursery, tmp_path)
        proposer, other = validators[0].node, validators[1].node
        assert proposer is not None
        assert other is not None
        payer, payee = Keypair(nacl.utils.random(32)), Keypair(nacl.utils.random(32))
        real = make_tx_set(
            proposer.chain.last.hash, [signed_tx(proposer, payer, 1, Payment(payee.public_key, "HOUR", 1))]
        )
        proposer.chain.tx_sets.add(real)
        # a peer claims the real set's hash for other transactions (ones the receiver holds none of)
        lacking = other.herder.offered(TxSetOffer(real.hash, real.previous_hash, (b"\x01" * 32,)))
        assert lacking == 1
        assert real.hash not in other.chain.tx_sets
        with trio.fail_after(TIMEOUT_S):
            await other.herder._fetch_tx_set_task(real.hash, validators[0].peer_id)
        assert other.chain.tx_sets.get(real.hash) == real
        assert other.herder.offers.ids(real.hash) is None, "the false offer is tried once, then gone"
        nursery.cancel_scope.cancel()


async def test_a_quorum_validators_offer_the_mempool_completes_is_a_known_set_at_once(
    tmp_path: Path, virtual_clock: MockClock
) -> None:
    async with trio.open_nursery() as nursery:
        validators = await _quiet_network(nursery, tmp_path)
        node = validators[1].node
        assert node is not None
        alice, bob = await community(node)
        payment = signed_tx(node, alice, 1, Payment(bob.public_key, "HOUR", 5))
        offered_set = make_tx_set(node.chain.last.hash, [payment])
        offer = TxSetOffer(offered_set.hash, offered_set.previous_hash, (payment.hash,))
        assert node.herder.offered(offer) == 1  # not admitted here yet: kept
        assert offered_set.hash not in node.chain.tx_sets
        assert node.api.submit([payment])[0].accepted
        raw = TX_OFFER.encode_query(offer)
        with pytest.raises(NodeError):  # an offer costs a rebuild: quorum validators only
            await node.peers.on_request(wire.REQ_TX_OFFER, raw, "12D3KooWsomeoneelse")
        assert offered_set.hash not in node.chain.tx_sets
        answer = await node.peers.on_request(wire.REQ_TX_OFFER, raw, validators[0].peer_id)
        assert TX_OFFER.decode_answer(answer, node.api.network_id) == 0
        assert node.chain.tx_sets.get(offered_set.hash) == offered_set
        nursery.cancel_scope.cancel()


def test_an_offer_out_of_canonical_order_does_not_decode() -> None:
    low, high = b"\x01" * 32, b"\x02" * 32
    with pytest.raises(DecodeError):  # part 2 of 2 does not exist (parts count from 0)
        TX_OFFER.decode_query(wire.encode_tx_offer(b"\x03" * 32, b"\x04" * 32, 2, 2, [low]))
    raw = wire.encode_tx_offer(b"\x03" * 32, b"\x04" * 32, 0, 1, [high, low])
    with pytest.raises(DecodeError):
        TX_OFFER.decode_query(raw)
    assert TX_OFFER.decode_query(
        wire.encode_tx_offer(b"\x03" * 32, b"\x04" * 32, 0, 1, [low, high])
    ).tx_hashes == (
        low,
        high,
    )


async def test_a_large_set_is_offered_in_parts_and_counts_once_all_are_here(
    tmp_path: Path, virtual_clock: MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An offer must fit the request cap peers enforce (one of 2,100 hashes got its proposer
    banned): a larger set goes in parts, which may arrive in any order."""
    monkeypatch.setattr("node.peer_requests.TX_OFFER_PART_HASHES", 1)
    async with trio.open_nursery() as nursery:
        validators = await _quiet_network(nursery, tmp_path)
        node = validators[1].node
        assert node is not None
        alice, bob = await community(node)
        payments = [
            signed_tx(node, alice, 1, Payment(bob.public_key, "HOUR", 5)),
            signed_tx(node, bob, 1, Payment(alice.public_key, "HOUR", 5)),
        ]
        assert all(a.accepted for a in node.api.submit(payments))
        large = make_tx_set(node.chain.last.hash, payments)
        first, second = offer_parts(large)
        assert (first.parts, len(first.tx_hashes), second.part) == (2, 1, 1)
        assert node.herder.offered(second) == 0
        assert large.hash not in node.chain.tx_sets
        assert node.herder.offered(first) == 0
        assert node.chain.tx_sets.get(large.hash) == large
        # parts that do not join in canonical order are a false offer: nothing is built
        swapped = make_tx_set(node.chain.last.hash, payments[:1])
        wrong = [
            TxSetOffer(swapped.hash, swapped.previous_hash, second.tx_hashes, 0, 2),
            TxSetOffer(swapped.hash, swapped.previous_hash, first.tx_hashes, 1, 2),
        ]
        assert [node.herder.offered(part) for part in wrong] == [0, 0]
        assert swapped.hash not in node.chain.tx_sets
        nursery.cancel_scope.cancel()


async def test_a_set_being_fetched_is_taken_once_gossip_brings_what_it_lacked(
    tmp_path: Path, virtual_clock: MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The transactions a validator lacks of an offered set are the proposer's latest, which it
    gossips as it offers the set: when they arrive while the proposer is slow to answer for them,
    the set is complete without the answer (node.tx_set_fetch)."""
    asked, answered = trio.Event(), trio.Event()
    request = MemoryTransport.request

    async def slow_txs(self: MemoryTransport, peer: str, name: str, payload: bytes, **kwargs: float) -> bytes:
        if name == wire.REQ_TXS:
            asked.set()
            await answered.wait()  # a busy proposer: never within this test
        return await request(self, peer, name, payload, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(MemoryTransport, "request", slow_txs)
    async with trio.open_nursery() as nursery:
        validators = await _quiet_network(nursery, tmp_path)
        node = validators[1].node
        assert node is not None
        alice, bob = await community(node)
        known, latest = (
            signed_tx(node, a, 1, Payment(b.public_key, "HOUR", 5)) for a, b in ((alice, bob), (bob, alice))
        )
        assert node.api.submit([known])[0].accepted
        offered_set = make_tx_set(node.chain.last.hash, [known, latest])
        offer = TxSetOffer(
            offered_set.hash, offered_set.previous_hash, tuple(sorted((known.hash, latest.hash)))
        )
        assert node.herder.offered(offer) == 1  # lacks the proposer's latest: kept
        nursery.start_soon(node.herder._fetch_tx_set_task, offered_set.hash, validators[0].peer_id)
        with trio.fail_after(TIMEOUT_S):
            await asked.wait()  # the request for what it lacks is out
        assert offered_set.hash not in node.chain.tx_sets
        verdict = await node.peers.on_tx_batch(wire.encode_tx_batch([latest.encode()]), validators[0].peer_id)
        assert verdict is GossipVerdict.ACCEPT
        assert node.chain.tx_sets.get(offered_set.hash) == offered_set, "not taken when gossip completed it"
        assert not answered.is_set()
        nursery.cancel_scope.cancel()
