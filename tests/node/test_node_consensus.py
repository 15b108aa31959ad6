"""Four real validators (LevelDB, mempool, herder, SCP, catch-up) on an in-memory network and
trio's virtual clock: ledgers close, payments apply everywhere identically, a crashed validator
resumes and catches up, and a side without a quorum closes nothing."""

from __future__ import annotations

from pathlib import Path

import nacl.utils
import trio
from memnet import TIMEOUT_S, MemoryHub, community, make_validators, seqs, signed_tx, start, stop, until
from trio.testing import MockClock

from node.net import GossipVerdict
from node.peer_ids import peer_id_for
from node.wire import encode_ledger_closed_frame
from protocol.keys import Keypair
from protocol.ledger import make_tx_set
from protocol.operations import Payment
from protocol.transactions import Transaction


async def test_four_validators_close_ledgers_and_agree(tmp_path: Path, virtual_clock: MockClock) -> None:
    async with trio.open_nursery() as nursery:
        hub = MemoryHub(nursery)
        validators = make_validators(tmp_path, 4)
        for v in validators:
            await start(hub, v)
        first = validators[0].node
        assert first is not None
        alice, bob = await community(first)
        payments = [signed_tx(first, alice, seq, Payment(bob.public_key, "HOUR", 150)) for seq in range(1, 6)]
        assert all(a.accepted for a in first.api.submit(payments))
        await first.api.wait_for([p.hash for p in payments], TIMEOUT_S)
        assert [first.api.tx_status(p.hash).status for p in payments] == ["applied"] * 5
        target = first.chain.last.seq
        await until(lambda: min(seqs(validators)) >= target, "all validators reach the ledger")
        headers = {v.node.chain.store.header(target).hash for v in validators if v.node}  # type: ignore[union-attr]
        assert len(headers) == 1, "validators disagree on the ledger"
        _, holdings, _ = validators[3].node.api.account_state(bob.public_key)  # type: ignore[union-attr]
        assert {h.currency: h.balance for h in holdings} == {"HOUR": 750}
        for v in validators:
            record = v.node.chain.store.ledger_record(target)  # type: ignore[union-attr]
            assert record is not None
            assert len(record.proof) >= 3, "each ledger carries a quorum's signatures"
        nursery.cancel_scope.cancel()


async def test_crashed_validator_catches_up_and_partition_without_quorum_stalls(
    tmp_path: Path, virtual_clock: MockClock
) -> None:
    async with trio.open_nursery() as nursery:
        hub = MemoryHub(nursery)
        validators = make_validators(tmp_path, 4)
        for v in validators:
            await start(hub, v)
        first = validators[0].node
        assert first is not None
        alice, bob = await community(first)
        await stop(hub, validators[3])
        payments = [signed_tx(first, alice, seq, Payment(bob.public_key, "HOUR", 100)) for seq in range(1, 4)]
        first.api.submit(payments)
        await first.api.wait_for([p.hash for p in payments], TIMEOUT_S)
        assert first.api.tx_status(payments[-1].hash).status == "applied"
        target = first.chain.last.seq
        await start(hub, validators[3])  # restarts from its database and catches up
        await until(lambda: validators[3].node.chain.last.seq >= target, "restarted node catches up")  # type: ignore[union-attr]
        caught = validators[3].node.chain.store.header(target)  # type: ignore[union-attr]
        assert caught == first.chain.store.header(target)

        # 2-2 split: neither side has 3 of 4, so nothing closes (safety)...
        names = [v.peer_id for v in validators]
        hub.partition(names[:2], names[2:])
        before = seqs(validators)
        first.api.submit([signed_tx(first, alice, 4, Payment(bob.public_key, "HOUR", 100))])
        await trio.sleep(30)  # virtual: 300 close intervals, SCP's timeouts and seven "stuck" pulls
        assert seqs(validators) == before, "a side without a quorum closed a ledger"
        # ...and after the heal everyone converges without help (liveness).
        hub.heal()
        await until(lambda: min(seqs(validators)) > max(before), "network converges after heal")
        seq = min(seqs(validators))
        assert len({v.node.chain.store.header(seq) for v in validators if v.node}) == 1
        nursery.cancel_scope.cancel()


async def test_a_tx_set_with_a_tampered_signature_is_never_taken(
    tmp_path: Path, virtual_clock: MockClock
) -> None:
    """A transaction's hash does not cover its signatures: a proposer could add a junk one to a
    member's payment. Such a tx set is refused at fetch time and its sender is penalised."""
    async with trio.open_nursery() as nursery:
        hub = MemoryHub(nursery)
        validators = make_validators(tmp_path, 4)
        for v in validators:
            await start(hub, v)
        liar, honest = validators[0].node, validators[1].node
        assert liar is not None
        assert honest is not None
        payer, junk = Keypair(nacl.utils.random(32)), Keypair(nacl.utils.random(32))
        good = signed_tx(liar, payer, 1, Payment(junk.public_key, "HOUR", 1))
        tampered = Transaction(
            good.body,
            good.body_bytes,
            good.hash,
            (*good.signatures, (junk.public_key, junk.sign(b"not the hash"))),
        )
        tx_set = make_tx_set(liar.chain.last.hash, [tampered])
        liar.chain.tx_sets.add(tx_set)
        with trio.fail_after(TIMEOUT_S):
            await honest.herder._fetch_tx_set_task(tx_set.hash, validators[0].peer_id)
        assert tx_set.hash not in honest.chain.tx_sets
        assert (validators[0].peer_id, "bad_tx_set") in honest.herder.transport.penalties  # type: ignore[attr-defined]
        nursery.cancel_scope.cancel()


class _Liar:
    """A peer that claims a ledger far ahead and never answers a request."""

    async def on_tx_batch(self, data: bytes, peer: str) -> GossipVerdict:
        return GossipVerdict.IGNORE

    async def on_board_batch(self, data: bytes, peer: str) -> GossipVerdict:
        return GossipVerdict.IGNORE

    async def on_frame(self, data: bytes, peer: str) -> None:
        pass

    async def on_request(self, name: str, payload: bytes, peer: str) -> bytes:
        await trio.sleep_forever()
        raise AssertionError("unreachable")


async def test_a_liar_met_first_does_not_hold_up_a_restarted_validator(
    tmp_path: Path, virtual_clock: MockClock
) -> None:
    """A restarted validator whose only peer at first is a liar (it claims a ledger far ahead and
    never answers) still catches up as soon as its quorum's validators are reachable: neither
    its poll for the latest ledger (5 s timeout) nor its ledger request (20 s) waits the liar out."""
    async with trio.open_nursery() as nursery:
        hub = MemoryHub(nursery)
        validators = make_validators(tmp_path, 4)
        for v in validators:
            await start(hub, v)
        first, late = validators[0].node, validators[3]
        assert first is not None
        alice, bob = await community(first)
        await stop(hub, late)
        payments = [signed_tx(first, alice, seq, Payment(bob.public_key, "HOUR", 1)) for seq in range(1, 4)]
        for payment in payments:  # a ledger each
            first.api.submit([payment])
            await first.api.wait_for([payment.hash], TIMEOUT_S)
        top = first.chain.last.seq
        liar = peer_id_for(Keypair(nacl.utils.random(32)).public_key)
        hub.nodes[liar] = _Liar()
        others = [v.peer_id for v in validators[:3]]
        hub.partition([late.peer_id, liar], others)  # at first the restarted node meets the liar only
        restarted = await start(hub, late)

        async def keep_claiming() -> None:
            while True:
                hub.deliver(liar, late.peer_id, "frame", encode_ledger_closed_frame(10**6, bytes(32)))
                await trio.sleep(0.1)

        nursery.start_soon(keep_claiming)
        await trio.sleep(0.5)  # its first poll went to the liar
        hub.heal()
        healed = trio.current_time()
        await until(lambda: restarted.chain.last.seq >= top, "the restarted validator catches up")
        assert trio.current_time() - healed < 2.0
        assert restarted.chain.store.header(top) == first.chain.store.header(top)
        nursery.cancel_scope.cancel()
