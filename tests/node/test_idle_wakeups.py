"""An idle validator sleeps (issue 18): most community validators run on a small board, and every
wake-up of an idle node costs it CPU. The gossip batcher and the board's publisher wake only when
there is something to send (they ticked every 200 ms and every second), and a mempool that holds
only queued-ahead transactions closes no empty ledgers (it closed one every interval). All in
virtual time."""

from __future__ import annotations

from pathlib import Path

import trio
from memnet import MemoryHub, community, make_validators, signed_tx, start, until
from trio.testing import MockClock

from node.board.gossip import EXPIRE_EVERY_S, FLUSH_S, BoardGossip
from node.peer_service import GOSSIP_FLUSH_S, GossipBatcher
from node.wire import decode_tx_batch
from protocol.operations import Payment
from protocol.transactions import Transaction

IDLE_S = 600.0


class _Published:
    def __init__(self) -> None:
        self.txs: list[bytes] = []
        self.board: list[bytes] = []

    def publish(self, data: bytes) -> None:
        self.txs.extend(decode_tx_batch(data))

    def publish_board(self, data: bytes) -> None:
        self.board.append(data)


class _Closes:
    """The chain's ``closed_event``: set and replaced on every close."""

    def __init__(self) -> None:
        self.event = trio.Event()

    def close(self) -> None:
        self.event.set()
        self.event = trio.Event()


async def test_the_gossip_batcher_sleeps_until_a_transaction_or_a_close(autojump_clock: MockClock) -> None:
    published, closes = _Published(), _Closes()
    looks: list[float] = []
    promoted: list[Transaction] = []

    def take_promoted() -> list[Transaction]:
        looks.append(trio.current_time())
        taken = list(promoted)
        promoted.clear()
        return taken

    batcher = GossipBatcher(published, take_promoted, lambda: closes.event)  # type: ignore[arg-type]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(batcher.run)
        await trio.sleep(IDLE_S)
        assert looks == [], "an idle node's batcher never woke"
        batcher.add(b"tx-from-the-api")
        await trio.sleep(GOSSIP_FLUSH_S + 0.01)
        assert published.txs == [b"tx-from-the-api"]
        promoted.append(_FakeTx(b"promoted-by-a-ledger"))  # type: ignore[arg-type]
        closes.close()
        await trio.sleep(GOSSIP_FLUSH_S + 0.01)
        assert published.txs[-1] == b"promoted-by-a-ledger"
        promoted.append(_FakeTx(b"promoted-by-a-peer's"))  # type: ignore[arg-type]
        batcher.check_promotions()
        await trio.sleep(GOSSIP_FLUSH_S + 0.01)
        assert published.txs[-1] == b"promoted-by-a-peer's"
        assert len(looks) == 3
        nursery.cancel_scope.cancel()


class _FakeTx:
    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def encode(self) -> bytes:
        return self.raw


class _Board:
    def __init__(self) -> None:
        self.expired: list[float] = []

    def submit(self, raw: bytes, now_ms: int) -> object:
        class _Accepted:
            class verdict:  # mirrors BoardAnswer.verdict.accepted
                accepted = True

        return _Accepted()

    def expire(self, now_ms: int) -> None:
        self.expired.append(trio.current_time())


async def test_the_board_publisher_wakes_for_an_item_or_an_expiry(autojump_clock: MockClock) -> None:
    published, board = _Published(), _Board()
    gossip = BoardGossip(board, published, None, None)  # type: ignore[arg-type]
    flushes: list[float] = []
    real_flush = gossip._flush

    def counting_flush() -> None:
        flushes.append(trio.current_time())
        real_flush()

    gossip._flush = counting_flush  # type: ignore[method-assign]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(gossip._publish_and_expire)
        await trio.sleep(IDLE_S + 1)
        assert len(board.expired) == int(IDLE_S / EXPIRE_EVERY_S)
        assert len(flushes) == len(board.expired), "woken only to expire (it flushed every second)"
        gossip.submit(b"a listing")
        gossip.submit(b"another")
        await trio.sleep(FLUSH_S + 0.01)
        assert len(published.board) == 1, "one message for both"
        nursery.cancel_scope.cancel()


async def test_queued_ahead_transactions_alone_close_no_ledgers(
    tmp_path: Path, autojump_clock: MockClock
) -> None:
    async with trio.open_nursery() as nursery:
        hub = MemoryHub(nursery)
        nodes = [await start(hub, v) for v in make_validators(tmp_path, 4, close_interval_ms=1_000)]
        alice, bob = await community(nodes[0])
        await trio.sleep(5)  # whatever the community's ledgers left to do
        seq = nodes[0].chain.last.seq
        second = signed_tx(nodes[0], alice, 2, Payment(bob.public_key, "HOUR", 1))
        assert nodes[0].api.submit([second])[0].queued
        await trio.sleep(30)
        assert nodes[0].chain.last.seq == seq, "no empty ledger for a payment that cannot apply yet"
        first = signed_tx(nodes[0], alice, 1, Payment(bob.public_key, "HOUR", 1))
        assert nodes[0].api.submit([first])[0].accepted
        await until(
            lambda: all(n.chain.tx_status(second.hash).status == "applied" for n in nodes), "both applied"
        )
        nursery.cancel_scope.cancel()
