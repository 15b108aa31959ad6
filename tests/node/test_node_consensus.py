"""Four real validators (LevelDB, mempool, herder, SCP, catch-up) on an in-memory network:
ledgers close, payments apply everywhere identically, a crashed validator resumes and catches
up, and a side without a quorum closes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import nacl.utils
import trio
from memnet import MemoryHub, TestNode, make_validators, start, stop

from node.assembly import AssembledNode
from protocol.keys import Keypair
from protocol.ledger import make_tx_set
from protocol.operations import AdmitMember, CreateCurrency, CurrencyKind, Payment
from protocol.transactions import Transaction, TransactionBody, build_transaction

TIMEOUT_S = 60


def _tx(
    node: AssembledNode, source: Keypair, seq: int, *ops: object, signers: tuple[Keypair, ...] = ()
) -> Transaction:
    body = TransactionBody(source.public_key, seq, 10_000, b"", tuple(ops))  # type: ignore[arg-type]
    return build_transaction(node.api.network_id, body, (source, *signers))


async def _until(predicate: Callable[[], bool], what: str) -> None:
    """Poll ``predicate`` (node state has no single event to wait on); fail after TIMEOUT_S."""
    with trio.fail_after(TIMEOUT_S):
        while not predicate():  # noqa: ASYNC110
            await trio.sleep(0.02)


def _seqs(nodes: list[TestNode]) -> list[int]:
    return [n.node.chain.last.seq for n in nodes if n.node is not None]


async def _community(node: AssembledNode) -> tuple[Keypair, Keypair]:
    """A time bank with two members; returns (alice, bob) who are admitted with 10 h credit."""
    steward, alice, bob = (Keypair(nacl.utils.random(32)) for _ in range(3))
    create = _tx(
        node, steward, 1, CreateCurrency("HOUR", CurrencyKind.TIME, 2, (steward.public_key,), 1, 1000, 0, 0)
    )
    admit = _tx(
        node,
        steward,
        2,
        AdmitMember("HOUR", alice.public_key, None),
        AdmitMember("HOUR", bob.public_key, None),
    )
    assert all(a.accepted for a in node.api.submit([create, admit])), node.api.submit([create, admit])
    await node.api.wait_for([create.hash, admit.hash], TIMEOUT_S)
    assert node.api.tx_status(admit.hash).status == "applied", node.api.tx_status(admit.hash)
    return alice, bob


async def test_four_validators_close_ledgers_and_agree(tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        hub = MemoryHub(nursery)
        validators = make_validators(tmp_path, 4)
        for v in validators:
            await start(hub, v)
        first = validators[0].node
        assert first is not None
        alice, bob = await _community(first)
        payments = [_tx(first, alice, seq, Payment(bob.public_key, "HOUR", 150)) for seq in range(1, 6)]
        assert all(a.accepted for a in first.api.submit(payments))
        await first.api.wait_for([p.hash for p in payments], TIMEOUT_S)
        assert [first.api.tx_status(p.hash).status for p in payments] == ["applied"] * 5
        target = first.chain.last.seq
        await _until(lambda: min(_seqs(validators)) >= target, "all validators reach the ledger")
        headers = {v.node.chain.store.header(target).hash for v in validators if v.node}  # type: ignore[union-attr]
        assert len(headers) == 1, "validators disagree on the ledger"
        _, holdings, _ = validators[3].node.api.account_state(bob.public_key)  # type: ignore[union-attr]
        assert {h.currency: h.balance for h in holdings} == {"HOUR": 750}
        for v in validators:
            record = v.node.chain.store.ledger_record(target)  # type: ignore[union-attr]
            assert record is not None
            assert len(record.proof) >= 3, "each ledger carries a quorum's signatures"
        nursery.cancel_scope.cancel()


async def test_crashed_validator_catches_up_and_partition_without_quorum_stalls(tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        hub = MemoryHub(nursery)
        validators = make_validators(tmp_path, 4)
        for v in validators:
            await start(hub, v)
        first = validators[0].node
        assert first is not None
        alice, bob = await _community(first)
        await stop(hub, validators[3])
        payments = [_tx(first, alice, seq, Payment(bob.public_key, "HOUR", 100)) for seq in range(1, 4)]
        first.api.submit(payments)
        await first.api.wait_for([p.hash for p in payments], TIMEOUT_S)
        assert first.api.tx_status(payments[-1].hash).status == "applied"
        target = first.chain.last.seq
        await start(hub, validators[3])  # restarts from its database and catches up
        await _until(lambda: validators[3].node.chain.last.seq >= target, "restarted node catches up")  # type: ignore[union-attr]
        caught = validators[3].node.chain.store.header(target)  # type: ignore[union-attr]
        assert caught == first.chain.store.header(target)

        # 2-2 split: neither side has 3 of 4, so nothing closes (safety)...
        names = [v.peer_id for v in validators]
        hub.partition(names[:2], names[2:])
        before = _seqs(validators)
        first.api.submit([_tx(first, alice, 4, Payment(bob.public_key, "HOUR", 100))])
        await trio.sleep(2)
        assert _seqs(validators) == before, "a side without a quorum closed a ledger"
        # ...and after the heal everyone converges without help (liveness).
        hub.heal()
        await _until(lambda: min(_seqs(validators)) > max(before), "network converges after heal")
        seq = min(_seqs(validators))
        assert len({v.node.chain.store.header(seq) for v in validators if v.node}) == 1
        nursery.cancel_scope.cancel()


async def test_a_tx_set_with_a_tampered_signature_is_never_taken(tmp_path: Path) -> None:
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
        good = _tx(liar, payer, 1, Payment(junk.public_key, "HOUR", 1))
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
