"""This validator's own statements leave only once written durably, off the event loop, in the
order they were emitted, and several written together when they pile up (``node.outbox``).

The store here is a fake whose write, in its worker thread, waits until the test opens a gate,
so a test sees exactly what the outbox does while a write is under way.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import nacl.utils
import pytest
import trio
from memnet import until
from peerless_transport import PeerlessTransport, lone_validator_config
from quorum_in_process import check_quorums_in_process
from trio.testing import MockClock

from consensus import QuorumSet, decode_statement, encode_statement
from node.assembly import AssembledNode, assemble_node
from node.errors import StorageError
from node.faults.disk import FailingDisk
from node.metrics import NodeMetrics
from node.outbox import Held, StatementOutbox
from node.storage.store import LedgerStore, OwnStatements
from node.wire import SignedEnvelope
from protocol.keys import Keypair
from protocol.ledger import TxSet, make_tx_set

TX_SET = make_tx_set(b"\x01" * 32, [])
OTHER_TX_SET = make_tx_set(b"\x02" * 32, [])


def _envelope(n: int) -> SignedEnvelope:
    return SignedEnvelope(f"statement {n}".encode(), b"s" * 64)


class GatedStore:
    """Records each write; a write waits (in its thread) while ``gate`` is closed, and the next
    ``fail`` writes fail. ``entered`` reports each write as it starts."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.fail = 0
        self.writes: list[list[OwnStatements]] = []
        self._report, self.entered = trio.open_memory_channel[int](100)

    def save_own_statements(self, writes: Sequence[OwnStatements]) -> None:
        trio.from_thread.run_sync(self._report.send_nowait, len(writes))
        self.gate.wait(timeout=30)
        if self.fail:
            self.fail -= 1
            raise StorageError("saving consensus state failed: No space left on device")
        self.writes.append(list(writes))


class Sent:
    """The transport side: what left, in order."""

    def __init__(self) -> None:
        self.envelopes: list[SignedEnvelope] = []
        self._changed = trio.Event()

    def __call__(self, envelope: SignedEnvelope) -> None:
        self.envelopes.append(envelope)
        self._changed.set()

    async def until(self, count: int) -> None:
        with trio.fail_after(10):
            while len(self.envelopes) < count:
                self._changed = trio.Event()
                await self._changed.wait()


def _submit(
    outbox: StatementOutbox, n: int, slot: int = 5, tx_sets: tuple[TxSet, ...] = ()
) -> SignedEnvelope:
    envelope = _envelope(n)
    outbox.submit(slot, envelope, [envelope.encode()], tx_sets)
    return envelope


def _outbox(*, gate_open: bool = True) -> tuple[GatedStore, Sent, StatementOutbox]:
    store, sent = GatedStore(), Sent()
    if not gate_open:
        store.gate.clear()
    return store, sent, StatementOutbox(store, sent)


async def _submit_and_start_writing(outbox: StatementOutbox, store: GatedStore, n: int) -> SignedEnvelope:
    """Submit a statement naming TX_SET to an idle outbox; return once its write has begun."""
    envelope = _submit(outbox, n, tx_sets=(TX_SET,))
    assert await store.entered.receive() == 1  # the writer took it alone
    return envelope


async def test_a_statement_leaves_only_after_its_write_completed() -> None:
    store, sent, outbox = _outbox(gate_open=False)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(outbox.run)
        first = await _submit_and_start_writing(outbox, store, 1)  # the write is under way …
        await trio.testing.wait_all_tasks_blocked()
        assert sent.envelopes == []  # … and nothing has left
        assert outbox.held(first.hash) is Held.WAITING  # not served to peers asking either
        store.gate.set()
        await sent.until(1)
        assert sent.envelopes == [first]
        assert outbox.held(first.hash) is None
        assert store.writes == [[OwnStatements(5, (first.encode(),), (TX_SET,))]]
        nursery.cancel_scope.cancel()


async def test_statements_emitted_during_a_write_go_out_together_next_and_in_order() -> None:
    store, sent, outbox = _outbox(gate_open=False)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(outbox.run)
        first = await _submit_and_start_writing(outbox, store, 1)
        later = [_submit(outbox, n, tx_sets=(TX_SET, OTHER_TX_SET)) for n in (2, 3, 4)]
        await trio.testing.wait_all_tasks_blocked()
        assert sent.envelopes == []
        store.gate.set()
        await sent.until(4)
        assert sent.envelopes == [first, *later]  # the emitting order
        assert [len(write) for write in store.writes] == [1, 3]  # group commit: two synced writes
        assert outbox.writes == 2
        # each tx set is written once: TX_SET went with the first write, OTHER_TX_SET with the second
        assert [w.tx_sets for w in store.writes[1]] == [(OTHER_TX_SET,), (), ()]
        nursery.cancel_scope.cancel()


async def test_a_failed_write_sends_nothing_until_a_write_of_it_succeeds() -> None:
    store, sent, outbox = _outbox()
    store.fail = 1
    async with trio.open_nursery() as nursery:
        nursery.start_soon(outbox.run)
        failed = await _submit_and_start_writing(outbox, store, 1)
        after = _submit(outbox, 2, tx_sets=(TX_SET,))  # written next: one writer, in order
        await sent.until(1)
        assert sent.envelopes == [after]  # the failed one never left …
        assert outbox.held(failed.hash) is Held.WITHHELD  # … and is not served to peers
        assert store.writes[0][0].tx_sets == (TX_SET,)  # its tx set was not counted as written
        outbox.submit(5, failed, [failed.encode()], (TX_SET,))  # handed in again (stuck timer)
        await sent.until(2)
        assert sent.envelopes == [after, failed]
        assert outbox.held(failed.hash) is None
        nursery.cancel_scope.cancel()


async def test_a_stop_finishes_the_write_under_way_and_drops_the_waiting_statements() -> None:
    store, sent, outbox = _outbox(gate_open=False)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(outbox.run)
        written = await _submit_and_start_writing(outbox, store, 1)
        dropped = _submit(outbox, 2)
        nursery.cancel_scope.cancel()
        store.gate.set()  # the thread is never abandoned: the stop waits for the write
    assert [[w.envelopes for w in write] for write in store.writes] == [[(written.encode(),)]]
    assert dropped not in sent.envelopes  # never written, never sent
    assert sent.envelopes in ([], [written])  # what was written may have gone out
    assert outbox.held(dropped.hash) is Held.WAITING


def test_statements_waiting_past_the_bound_are_dropped_unsent() -> None:
    outbox = StatementOutbox(GatedStore(), Sent(), max_waiting=2)
    first, second, third = (_submit(outbox, n) for n in (1, 2, 3))
    assert outbox.waiting == 2
    assert outbox.held(first.hash) is Held.WITHHELD
    assert outbox.held(second.hash) is outbox.held(third.hash) is Held.WAITING


@pytest.mark.parametrize("below", [5, 6])
def test_forgetting_old_slots_forgets_their_envelopes(below: int) -> None:
    outbox = StatementOutbox(GatedStore(), Sent())
    envelope = _submit(outbox, 1, slot=5)
    outbox.forget_below(below)
    assert outbox.held(envelope.hash) is (Held.WAITING if below == 5 else None)


# -- the herder's send path, on a real node (LevelDB, SCP) -----------------------------------


def _validator(tmp_path: Path, *, test_faults: bool = False) -> tuple[AssembledNode, PeerlessTransport]:
    """A validator that is a quorum by itself: nominating runs its slot through SCP to the end
    (nominate, prepare, confirm, externalize) without any peer, and closes the ledger."""
    key = Keypair(nacl.utils.random(32))
    config = lone_validator_config(tmp_path, QuorumSet(1, (key.public_key,)), test_faults=test_faults)
    transport = PeerlessTransport()
    node = assemble_node(config=config, keypair=key, transport=transport, metrics=NodeMetrics())
    return check_quorums_in_process(node), transport


def _own(node: AssembledNode, slot: int) -> list[SignedEnvelope]:
    """Every envelope this validator signed for ``slot``, in the order it signed them."""
    return list(node.herder._signed.get(slot, {}).values())


def _latest(node: AssembledNode, slot: int) -> list[SignedEnvelope]:
    signed = node.herder._signed[slot]
    return [signed[encode_statement(s)] for s in node.herder.scp.own_latest(slot)]


async def test_the_herder_sends_its_statements_only_once_written_in_order(
    tmp_path: Path, virtual_clock: MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    node, transport = _validator(tmp_path)
    store = GatedStore()
    real_save = node.store.save_own_statements

    def gated_save(writes: Sequence[OwnStatements]) -> None:
        store.save_own_statements(writes)
        real_save(writes)

    monkeypatch.setattr(node.store, "save_own_statements", gated_save)
    store.gate.clear()
    async with trio.open_nursery() as nursery:
        nursery.cancel_scope.deadline = trio.current_time() + 120  # fails, not hangs, if it never sends
        await nursery.start(node.serve)
        slot = node.herder.slot
        node.herder._start_nomination()  # SCP emits this validator's statements for the slot
        assert await store.entered.receive() >= 1  # their write is under way
        # (virtual time stands still while it is: wait for what is not waiting on a thread)
        await trio.testing.wait_all_tasks_blocked()
        assert transport.envelopes() == []  # none broadcast …
        assert node.herder.envelopes_for(slot) == []  # … nor served to a peer asking
        assert node.store.own_envelopes(slot) == {}
        store.gate.set()
        await until(lambda: node.chain.last.seq == slot, "the slot closes (SCP needs no network)")
        emitted = _own(node, slot)
        assert len(emitted) >= 2  # a nomination and a ballot statement at least
        await until(lambda: len(transport.envelopes()) == len(emitted), "all are sent once written")
        assert transport.envelopes() == emitted  # in the order SCP emitted them
        assert node.store.own_envelopes(slot) == {slot: tuple(e.encode() for e in _latest(node, slot))}
        assert {decode_statement(e.statement).node_id for e in emitted} == {node.herder.node_id}
        nursery.cancel_scope.cancel()
    node.store.close()


async def test_the_herder_withholds_statements_whose_write_failed_until_they_are_written(
    tmp_path: Path, virtual_clock: MockClock
) -> None:
    node, transport = _validator(tmp_path, test_faults=True)
    async with trio.open_nursery() as nursery:
        await nursery.start(node.serve)
        slot = node.herder.slot
        assert node.api.admin("disk-fault", {"fail": True})["fail"]  # the test network's full disk

        def all_withheld() -> bool:
            return all(node.herder.outbox.held(e.hash) is Held.WITHHELD for e in _own(node, slot))

        node.herder._start_nomination()
        await until(all_withheld, "the writes fail")
        assert transport.envelopes() == []
        assert node.herder.envelopes_for(slot) == []
        node.herder._stuck(slot)  # the stuck timer re-sends our latest statements: not written yet
        await until(all_withheld, "they fail again")
        assert transport.envelopes() == []
        node.api.admin("disk-fault", {"fail": False})
        node.herder._stuck(slot)
        latest = _latest(node, slot)
        await until(lambda: transport.envelopes() == latest, "sent once written")
        assert node.store.own_envelopes(slot)[slot] == tuple(e.encode() for e in latest)
        nursery.cancel_scope.cancel()
    node.store.close()


def test_the_store_writes_a_group_whole_with_each_slots_latest_envelopes_or_nothing(tmp_path: Path) -> None:
    disk = FailingDisk()
    store = LedgerStore(tmp_path / "db", b"n" * 32, open_db=disk.open)
    store.save_own_statements(
        [
            OwnStatements(5, (b"nominate",), (TX_SET,)),
            OwnStatements(5, (b"nominate", b"prepare"), (OTHER_TX_SET,)),
            OwnStatements(6, (b"next",), ()),
        ]
    )
    assert store.own_envelopes(5) == {5: (b"nominate", b"prepare"), 6: (b"next",)}  # the last per slot
    assert sorted(store.own_tx_sets(5)) == sorted([TX_SET.encode(), OTHER_TX_SET.encode()])
    disk.failing = True  # a full disk: even a one-put synced write fails, and leaves nothing
    with pytest.raises(StorageError, match="slot 7 failed: injected fault: No space left"):
        store.save_own_statements([OwnStatements(7, (b"lost",), ())])
    assert store.own_envelopes(7) == {}
    disk.failing = False
    store.prune_own_envelopes(6)
    assert store.own_envelopes(0) == {6: (b"next",)}
    assert store.own_tx_sets(5) == []
    store.close()
