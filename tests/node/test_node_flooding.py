"""Statement flooding on the in-memory network: validators that are not neighbours still hear each
other because every validator relays the statements it accepts; what is relayed and what is
refused (far-future slots, replays, bad signatures, duplicates, validators outside the quorum)."""

from __future__ import annotations

import time
from collections.abc import Collection
from pathlib import Path

import nacl.utils
import pytest
import trio
from memnet import (
    PASSPHRASE,
    MemoryHub,
    TestNode,
    community,
    make_validators,
    seqs,
    signed_tx,
    start,
    start_chain,
    until,
)
from trio.testing import MockClock

from consensus import Nominate, QuorumSet, Statement, encode_statement
from node import herder as herder_module
from node.assembly import AssembledNode
from node.flood import StatementFlood, TransitiveQuorum
from node.metrics import NodeMetrics
from node.peer_ids import peer_id_for
from node.wire import SignedEnvelope, decode_envelope, encode_envelope_frame, sign_envelope
from protocol.hashing import network_id
from protocol.keys import Keypair
from protocol.ledger import CloseValue, make_tx_set
from protocol.operations import Payment

NETWORK = network_id(PASSPHRASE)
ATTACKER = peer_id_for(b"\x07" * 32)
OTHER_PEER = peer_id_for(b"\x08" * 32)


def _sample(node: AssembledNode, name: str, **labels: str) -> float:
    return node.metrics.registry.get_sample_value(name, labels) or 0.0


def _relay_outcome(node: AssembledNode, outcome: str) -> float:
    return _sample(node, "tally_scp_messages_total", direction="relay", outcome=outcome)


def _relayed(node: AssembledNode) -> float:
    return _relay_outcome(node, "sent")


def _penalties(node: AssembledNode, reason: str) -> int:
    penalties: list[tuple[str, str]] = node.herder.transport.penalties  # type: ignore[attr-defined]
    return sum(1 for _, r in penalties if r == reason)


async def test_a_chain_of_validators_agrees_by_relaying_statements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, virtual_clock: MockClock
) -> None:
    """v0 - v1 - v2 - v3, threshold 3 of 4: v0 can only reach a quorum with v2's (or v3's)
    statements, which arrive only if v1 relays them; the slow "stuck" pull is switched off, and
    so is dialling (discovery would soon connect everyone)."""
    monkeypatch.setattr(herder_module, "STUCK_AFTER_MS", 10**9)
    async with trio.open_nursery() as nursery:
        hub = MemoryHub(nursery)
        validators = await start_chain(hub, tmp_path, 4, dials=False)
        first, last = validators[0].node, validators[3].node
        assert first is not None
        assert last is not None
        alice, bob = await community(first)
        payments = [signed_tx(first, alice, seq, Payment(bob.public_key, "HOUR", 150)) for seq in range(1, 6)]
        assert all(a.accepted for a in first.api.submit(payments))
        await first.api.wait_for([p.hash for p in payments], 60)
        assert [first.api.tx_status(p.hash).status for p in payments] == ["applied"] * 5
        target = first.chain.last.seq
        await until(lambda: min(seqs(validators)) >= target, "every validator reaches the ledger")
        assert len({v.node.chain.store.header(target) for v in validators if v.node}) == 1
        assert _connected_pairs(hub) == 3, "still a chain"
        _, holdings, _ = last.api.account_state(bob.public_key)
        assert {h.currency: h.balance for h in holdings} == {"HOUR": 750}
        assert _relayed(validators[1].node) > 0  # type: ignore[arg-type]
        assert _relayed(validators[2].node) > 0  # type: ignore[arg-type]
        # The far end voted on its ledgers itself instead of fetching them afterwards.
        assert _sample(last, "tally_catchup_ledgers_total") <= 1
        nursery.cancel_scope.cancel()


def _connected_pairs(hub: MemoryHub) -> int:
    return sum(len(hub.neighbours(p)) for p in hub.nodes) // 2


def _nomination(signer: Keypair, slot: int, qset: QuorumSet, value: bytes) -> SignedEnvelope:
    statement = Statement(signer.public_key, slot, qset.hash, Nominate((value,), ()))
    return sign_envelope(NETWORK, encode_statement(statement), signer)


async def _idle_network(tmp_path: Path, nursery: trio.Nursery) -> tuple[list[TestNode], AssembledNode]:
    """Four validators that closed a few ledgers and now wait (no transactions, long heartbeat)."""
    hub = MemoryHub(nursery)
    validators = make_validators(tmp_path, 4)
    for v in validators:
        await start(hub, v)
    target = validators[0].node
    assert target is not None
    alice, bob = await community(target)
    for seq in range(1, 5):  # one ledger each: the open slot moves well past the first ones
        payment = signed_tx(target, alice, seq, Payment(bob.public_key, "HOUR", 1))
        target.api.submit([payment])
        await target.api.wait_for([payment.hash], 60)
    await until(lambda: len(set(seqs(validators))) == 1, "all on the same ledger")
    return validators, target


def _empty_value(node: AssembledNode) -> bytes:
    tx_set = make_tx_set(node.chain.last.hash, [])
    node.chain.tx_sets.add(tx_set)
    return CloseValue(tx_set.hash, int(time.time() * 1000)).encode()


async def test_far_future_replayed_and_forged_statements_are_dropped_scored_down_and_not_relayed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, virtual_clock: MockClock
) -> None:
    # A budget that does not refill while the test runs, however slow the machine.
    monkeypatch.setattr(herder_module, "FAR_FUTURE_RATE", 1e-9)
    monkeypatch.setattr(herder_module, "FAR_FUTURE_BURST", 50.0)
    async with trio.open_nursery() as nursery:
        validators, target = await _idle_network(tmp_path, nursery)
        signer = validators[1].keypair
        qset = target.herder.config.quorum_set
        slot = target.herder.slot
        assert slot > herder_module.REPLAY_SLACK + 2
        value = _empty_value(target)
        relayed_before = _relayed(target)

        # Far-future slots: verified within a budget (they only say "catch up"), then refused.
        flood = [_nomination(signer, slot + 10 + offset, qset, value) for offset in range(80)]
        for envelope in flood:
            await target.handlers.on_frame(encode_envelope_frame(envelope), ATTACKER)
        assert _penalties(target, "far_future") == 30, "the 50 within the budget only said: catch up"
        assert len(target.herder._future) == 0, "nothing far ahead is kept"

        # Replays: a real envelope of an early ledger, and a new one for a long-closed slot.
        record = target.chain.store.ledger_record(2)
        assert record is not None
        old = decode_envelope(record.proof[0])
        await target.handlers.on_frame(encode_envelope_frame(old), ATTACKER)
        stale = _nomination(signer, slot - herder_module.REPLAY_SLACK - 1, qset, value)
        await target.handlers.on_frame(encode_envelope_frame(stale), ATTACKER)
        assert _penalties(target, "replay") == 2

        # A statement for the open slot whose signature does not verify.
        good = _nomination(signer, slot, qset, value)
        forged = SignedEnvelope(good.statement, bytes(64))
        await target.handlers.on_frame(encode_envelope_frame(forged), ATTACKER)
        assert _penalties(target, "bad_signature") == 1

        assert _relayed(target) == relayed_before, "nothing refused was relayed"
        assert {peer for peer, _ in target.herder.transport.penalties} == {ATTACKER}  # type: ignore[attr-defined]

        # The genuine statement is considered for relaying once, however many peers send it (in
        # this full mesh every peer hears its signer directly, so none needs it relayed).
        handled_before = _relay_outcome(target, "sent") + _relay_outcome(target, "not_needed")
        await target.handlers.on_frame(encode_envelope_frame(good), ATTACKER)
        await target.handlers.on_frame(encode_envelope_frame(good), OTHER_PEER)
        assert _relay_outcome(target, "sent") + _relay_outcome(target, "not_needed") == handled_before + 1
        nursery.cancel_scope.cancel()


async def test_statements_of_validators_outside_the_quorum_are_not_relayed(
    tmp_path: Path, virtual_clock: MockClock
) -> None:
    async with trio.open_nursery() as nursery:
        _, target = await _idle_network(tmp_path, nursery)
        stranger = Keypair(nacl.utils.random(32))
        own = QuorumSet(1, (stranger.public_key,))
        envelope = _nomination(stranger, target.herder.slot, own, _empty_value(target))
        before = _relayed(target)
        await target.handlers.on_frame(encode_envelope_frame(envelope), ATTACKER)
        assert _relayed(target) == before
        assert _sample(target, "tally_scp_messages_total", direction="relay", outcome="outside_quorum") == 1
        assert target.herder.transport.penalties == []  # type: ignore[attr-defined]  # not provably bad
        nursery.cancel_scope.cancel()


# -- the flood on its own ------------------------------------------------------------------------


class _Recorder:
    def __init__(self, connected: tuple[str, ...] = (OTHER_PEER, ATTACKER)) -> None:
        self.sent: list[tuple[bytes, set[str]]] = []
        self.connected = connected

    def connected_peers(self) -> list[str]:
        return list(self.connected)

    def broadcast(self, frame: bytes, *, exclude: Collection[str] = ()) -> None:
        self.sent.append((frame, set(exclude)))


async def test_relays_are_rate_limited_per_signer_and_skip_sender_and_signer() -> None:
    a, b, c = (Keypair(bytes([i]) * 32) for i in (1, 2, 3))
    quorum = TransitiveQuorum(a.public_key, QuorumSet(2, (a.public_key, b.public_key, c.public_key)))
    recorder = _Recorder()
    metrics = NodeMetrics()
    flood = StatementFlood(recorder, metrics, quorum, rate=1.0, burst=3.0)  # type: ignore[arg-type]
    qset = QuorumSet(2, (a.public_key, b.public_key, c.public_key))
    for slot in range(2, 12):
        envelope = _nomination(b, slot, qset, b"v")
        statement = Statement(b.public_key, slot, qset.hash, Nominate((b"v",), ()))
        flood.relay(envelope, statement, came_from=OTHER_PEER)
    assert len(recorder.sent) == 3, "the burst, then nothing until tokens come back"
    assert recorder.sent[0][1] == {OTHER_PEER, peer_id_for(b.public_key)}
    limited = metrics.registry.get_sample_value(
        "tally_scp_messages_total", {"direction": "relay", "outcome": "rate_limited"}
    )
    assert limited == 7
    envelope = _nomination(c, 2, qset, b"v")
    statement = Statement(c.public_key, 2, qset.hash, Nominate((b"v",), ()))
    assert flood.relay(envelope, statement, came_from=OTHER_PEER), "another signer has its own budget"
    assert not flood.relay(envelope, statement, came_from=ATTACKER), "relayed once"


async def test_peers_that_hear_the_signer_directly_are_not_relayed_to() -> None:
    a, b = Keypair(b"\x01" * 32), Keypair(b"\x02" * 32)
    qset = QuorumSet(1, (a.public_key, b.public_key))
    third, fourth = peer_id_for(b"\x03" * 32), peer_id_for(b"\x04" * 32)
    recorder = _Recorder(connected=(OTHER_PEER, third, fourth))
    metrics = NodeMetrics()
    hearing = {third}  # third told us it is connected to b
    flood = StatementFlood(
        recorder,  # type: ignore[arg-type]
        metrics,
        TransitiveQuorum(a.public_key, qset),
        hears_directly=lambda peer, origin: origin == peer_id_for(b.public_key) and peer in hearing,
    )

    def relay(slot: int) -> bool:
        statement = Statement(b.public_key, slot, qset.hash, Nominate((b"v",), ()))
        return flood.relay(_nomination(b, slot, qset, b"v"), statement, came_from=OTHER_PEER)

    assert relay(2)
    assert recorder.sent[-1][1] == {OTHER_PEER, peer_id_for(b.public_key), third}, "only fourth needs it"
    hearing.add(fourth)
    assert not relay(3), "everyone hears the signer: nothing to relay (a full mesh)"
    assert (
        metrics.registry.get_sample_value(
            "tally_scp_messages_total", {"direction": "relay", "outcome": "not_needed"}
        )
        == 1
    )


def test_the_transitive_quorum_grows_through_members_quorum_sets_only() -> None:
    a, b, c, d, e = (bytes([i]) * 32 for i in range(1, 6))
    quorum = TransitiveQuorum(a, QuorumSet(1, (b,)))
    assert a in quorum
    assert b in quorum
    assert c not in quorum
    quorum.learn(e, QuorumSet(1, (d,)))  # e is not a member: its quorum set does not count
    assert d not in quorum
    quorum.learn(b, QuorumSet(2, (b, c), (QuorumSet(1, (d,)),)))
    assert {a, b, c, d} <= quorum.members()
    assert e not in quorum
