"""How a node admits transactions in bulk: peers' batches (node.peer_service) and API requests.
Real nodes on the in-memory network, trio's virtual clock.

* A payment that arrives (in a peer's batch or an API request) while this node applies and writes a
  ledger waits for the close, which holds LedgerChain.admission_turns: admitted meanwhile, each was
  applied to the old pending state and again after the close, and took the interpreter from the
  close's worker thread. The payments of the ledger being closed do not count against the API's
  admission limit meanwhile.
* Peers' batches and API requests are admitted a chunk at a time, taking turns: one chunk per pass
  of the event loop whatever the number of batches and requests in progress (GOSSIP_WORK_CHUNK,
  LedgerChain.admission_turns): admitted whole and side by side, batches of a few hundred payments
  held the loop for tens of milliseconds, and the SCP statements that arrived meanwhile waited.
"""

from __future__ import annotations

import base64
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import trio
from memnet import MemoryHub, community, signed_tx, start_validators
from trio.testing import MockClock

from node import wire
from node.api.app import WORK_CHUNK, create_app
from node.assembly import AssembledNode
from node.errors import StorageError
from node.mempool import Admission
from node.net import GossipVerdict
from node.peer_service import GOSSIP_WORK_CHUNK
from protocol.keys import Keypair
from protocol.ledger import ClosedLedger, CloseValue, TxSet
from protocol.operations import Payment
from protocol.transactions import Transaction


@pytest.fixture
async def quiet(
    nursery: trio.Nursery, tmp_path: Path, virtual_clock: MockClock
) -> tuple[AssembledNode, Keypair, Keypair]:
    """One of four validators on the in-memory network, closing only when transactions wait, with
    a community of two members: (node, alice, bob)."""
    hub = MemoryHub(nursery)
    validators = await start_validators(hub, tmp_path, 4, heartbeat_interval_ms=3_600_000)
    node = validators[1].node
    assert node is not None
    alice, bob = await community(node)
    return node, alice, bob


async def _post(node: AssembledNode, txs: list[Transaction]) -> list[str]:
    """``POST /tx`` to the node's API app (taking the node's admission turns); each one's status."""
    app = create_app(node.api, admission_turns=node.chain.admission_turns)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://node") as client:
        response = await client.post(
            "/tx", json={"txs": [base64.b64encode(tx.encode()).decode() for tx in txs]}
        )
        return [str(result["status"]) for result in response.json()["results"]]


@contextlib.asynccontextmanager
async def _close_in_progress(
    node: AssembledNode,
    nursery: trio.Nursery,
    monkeypatch: pytest.MonkeyPatch,
    transactions: tuple[Transaction, ...] = (),
) -> AsyncIterator[None]:
    """A real ``LedgerChain.close`` of ``transactions`` whose apply and write (its worker thread) go
    on until the block ends; then the write fails, which leaves the chain as it was."""
    started, release = threading.Event(), threading.Event()

    def apply_and_write(*args: object) -> ClosedLedger:
        started.set()
        release.wait(timeout=30)
        raise StorageError("the test's close ends without a ledger")

    monkeypatch.setattr(node.chain, "_apply_and_write", apply_and_write)
    tx_set = TxSet(node.chain.last.hash, transactions)
    value = CloseValue(tx_set.hash, node.chain.last.close_time_ms + 1)

    closed = trio.Event()

    async def close() -> None:
        with pytest.raises(StorageError):
            await node.chain.close(tx_set, value, [])
        closed.set()

    nursery.start_soon(close)
    try:
        await trio.to_thread.run_sync(started.wait, 30)
        yield
    finally:
        release.set()
    await closed.wait()
    monkeypatch.undo()


async def _by_gossip(node: AssembledNode, payment: Transaction) -> str:
    return str(await node.peers.on_tx_batch(wire.encode_tx_batch([payment.encode()]), "a peer"))


async def _by_api(node: AssembledNode, payment: Transaction) -> str:
    return (await _post(node, [payment]))[0]


@pytest.mark.parametrize(("send", "answer"), [(_by_gossip, str(GossipVerdict.ACCEPT)), (_by_api, "pending")])
async def test_a_payment_that_arrives_during_a_close_waits_for_it_then_is_admitted(
    quiet: tuple[AssembledNode, Keypair, Keypair],
    nursery: trio.Nursery,
    monkeypatch: pytest.MonkeyPatch,
    send: Callable[[AssembledNode, Transaction], Awaitable[str]],
    answer: str,
) -> None:
    node, alice, bob = quiet
    payment = signed_tx(node, alice, 1, Payment(bob.public_key, "HOUR", 5))
    answers: list[str] = []

    async def arrive() -> None:
        answers.append(await send(node, payment))

    async with _close_in_progress(node, nursery, monkeypatch):
        nursery.start_soon(arrive)
        await trio.testing.wait_all_tasks_blocked()
        assert node.chain.mempool.get(payment.hash) is None, "admitted during the close"
        assert not answers
    await trio.testing.wait_all_tasks_blocked()
    assert answers == [answer]
    assert node.api.tx_status(payment.hash).status in ("pending", "applied")  # a ledger may have it now


async def test_the_ledger_being_closed_does_not_count_against_the_admission_limit(
    quiet: tuple[AssembledNode, Keypair, Keypair],
    nursery: trio.Nursery,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    node, alice, bob = quiet
    payment = signed_tx(node, alice, 1, Payment(bob.public_key, "HOUR", 5))
    assert node.chain.submit(payment).accepted
    pool = node.chain.mempool
    assert (pool.pending_count, pool.awaiting_a_ledger) == (1, 1)
    async with _close_in_progress(node, nursery, monkeypatch, (payment,)):
        assert (pool.pending_count, pool.awaiting_a_ledger) == (1, 0)
    assert (pool.pending_count, pool.awaiting_a_ledger) == (1, 1)  # the write failed: it still waits


class _PassCounter(trio.abc.Instrument):
    """Counts the passes of trio's run loop (each pass polls for I/O once, then runs the tasks that
    are ready)."""

    def __init__(self) -> None:
        self.count = 0

    def after_io_wait(self, timeout: float) -> None:
        self.count += 1


@contextlib.contextmanager
def _admissions_by_pass(
    monkeypatch: pytest.MonkeyPatch, node: AssembledNode, sender_of: dict[bytes, str]
) -> Iterator[dict[int, list[str]]]:
    """Who sent each transaction admitted meanwhile (``sender_of`` its source account), by the pass
    of trio's run loop that admitted it."""
    passes = _PassCounter()
    by_pass: dict[int, list[str]] = {}
    submit = node.chain.submit

    def counting_submit(tx: Transaction, source: str | None = None) -> Admission:
        by_pass.setdefault(passes.count, []).append(sender_of[tx.body.source])
        return submit(tx, source)

    monkeypatch.setattr(node.chain, "submit", counting_submit)
    trio.lowlevel.add_instrument(passes)
    try:
        yield by_pass
    finally:
        trio.lowlevel.remove_instrument(passes)


def _payments(node: AssembledNode, payer: Keypair, payee: Keypair, count: int) -> list[Transaction]:
    return [signed_tx(node, payer, seq, Payment(payee.public_key, "HOUR", 1)) for seq in range(1, count + 1)]


def _one_sender_per_pass(by_pass: dict[int, list[str]]) -> list[tuple[str, int]]:
    """(sender, admissions) for each pass of the loop that admitted any, checking that no pass
    admitted for two senders."""
    for senders in by_pass.values():
        assert len(set(senders)) == 1, f"two senders' chunks in one pass of the loop: {senders}"
    return sorted((senders[0], len(senders)) for senders in by_pass.values())


async def test_two_peers_batches_take_turns_one_chunk_per_pass_of_the_loop(
    quiet: tuple[AssembledNode, Keypair, Keypair], monkeypatch: pytest.MonkeyPatch
) -> None:
    node, alice, bob = quiet
    per_batch = 2 * GOSSIP_WORK_CHUNK + 10
    batches = {
        "peer 0": _payments(node, alice, bob, per_batch),
        "peer 1": _payments(node, bob, alice, per_batch),
    }
    verdicts: list[GossipVerdict] = []

    async def receive(peer: str, txs: list[Transaction]) -> None:
        verdicts.append(await node.peers.on_tx_batch(wire.encode_tx_batch([tx.encode() for tx in txs]), peer))

    with _admissions_by_pass(
        monkeypatch, node, {alice.public_key: "peer 0", bob.public_key: "peer 1"}
    ) as by_pass:
        async with trio.open_nursery() as batches_nursery:
            for peer, txs in batches.items():
                batches_nursery.start_soon(receive, peer, txs)
    assert verdicts == [GossipVerdict.ACCEPT] * len(batches)
    chunks = [GOSSIP_WORK_CHUNK, GOSSIP_WORK_CHUNK, 10]  # each batch's, each in a pass of its own
    assert _one_sender_per_pass(by_pass) == sorted((peer, n) for peer in batches for n in chunks)


async def test_an_api_request_and_a_peers_batch_take_turns_one_chunk_per_pass_of_the_loop(
    quiet: tuple[AssembledNode, Keypair, Keypair], monkeypatch: pytest.MonkeyPatch
) -> None:
    node, alice, bob = quiet
    requested = _payments(node, alice, bob, WORK_CHUNK + 50)
    gossiped = _payments(node, bob, alice, 2 * GOSSIP_WORK_CHUNK + 10)
    results: list[object] = []

    async def request() -> None:
        results.extend(await _post(node, requested))

    async def receive() -> None:
        batch = wire.encode_tx_batch([tx.encode() for tx in gossiped])
        results.append(await node.peers.on_tx_batch(batch, "a peer"))

    with _admissions_by_pass(monkeypatch, node, {alice.public_key: "api", bob.public_key: "peer"}) as by_pass:
        async with trio.open_nursery() as both:
            both.start_soon(request)
            both.start_soon(receive)
    assert sorted(map(str, results)) == sorted(["pending"] * len(requested) + [str(GossipVerdict.ACCEPT)])
    assert _one_sender_per_pass(by_pass) == [
        ("api", 50),
        ("api", WORK_CHUNK),
        ("peer", 10),
        ("peer", GOSSIP_WORK_CHUNK),
        ("peer", GOSSIP_WORK_CHUNK),
    ]
