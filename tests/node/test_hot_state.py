"""State entries kept decoded in front of LevelDB (issue 18): decoded once until a ledger changes
them, never kept from a read that raced a ledger's write, and what the node uses is what it would
read from disk."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import trio
from memnet import MemoryHub, community, make_validators, signed_tx, start, until
from trio.testing import MockClock

from node.assembly import AssembledNode
from node.storage.hot_state import HotEntries
from protocol.fields import CurrencyKind
from protocol.operations import Payment
from protocol.state import Currency, account_key, decode_entry, encode_entry, holding_key, new_account


def _account_bytes(seq: int) -> tuple[bytes, bytes]:
    account = dataclasses.replace(new_account(b"\x01" * 32), seq=seq)
    return account.key, encode_entry(account)


class _Disk:
    def __init__(self) -> None:
        self.values: dict[bytes, bytes] = {}
        self.reads = 0
        self.during_read: list[object] = []  # what happens while a read is under way

    def read(self, key: bytes) -> bytes | None:
        self.reads += 1
        for action in self.during_read:
            action()  # type: ignore[operator]
        return self.values.get(key)


def test_an_entry_is_decoded_once_until_a_write_changes_it() -> None:
    disk = _Disk()
    key, raw = _account_bytes(1)
    disk.values[key] = raw
    hot = HotEntries(disk.read)
    first = hot.get(key)
    assert first == (raw, decode_entry(key, raw))
    assert hot.get(key) is first
    assert disk.reads == 1
    assert hot.get(b"\x00" + b"\x02" * 32) == (None, None)  # absent entries are remembered too
    _, newer = _account_bytes(2)
    hot.write_begins()
    disk.values[key] = newer
    hot.write_ended([key])
    assert hot.get(key) == (newer, decode_entry(key, newer))
    assert disk.reads == 3


def test_a_successful_write_keeps_the_accounts_and_holdings_it_wrote() -> None:
    disk = _Disk()
    key, raw = _account_bytes(1)
    disk.values[key] = raw
    hot = HotEntries(disk.read)
    hot.get(key)
    hour = Currency("HOUR", CurrencyKind.TIME, 2, b"\x02" * 32, (b"\x02" * 32,), 1, 0, 10**6, 0, 0, 0)
    hot.get(hour.key)  # absent, remembered
    _, newer = _account_bytes(2)
    hot.write_begins()
    disk.values[key] = newer
    disk.values[hour.key] = encode_entry(hour)
    computed = decode_entry(key, newer)
    hot.write_ended([key, hour.key], [(key, newer, computed), (hour.key, encode_entry(hour), hour)])
    assert hot.get(key) == (newer, computed)
    assert disk.reads == 2  # the account came from the write, not from the disk
    assert hot.get(hour.key) == (encode_entry(hour), hour)  # not an account or holding: read again
    assert disk.reads == 3
    hot.write_begins()
    hot.write_ended([key])  # a failed write keeps nothing
    hot.get(key)
    assert disk.reads == 4


def test_a_read_that_raced_a_write_is_not_kept() -> None:
    disk = _Disk()
    key, raw = _account_bytes(1)
    disk.values[key] = raw
    hot = HotEntries(disk.read)
    disk.during_read = [hot.write_begins]  # a close's write begins while the event loop reads
    assert hot.get(key)[0] == raw  # what the disk held then
    disk.during_read = []
    assert len(hot) == 0
    hot.get(key)  # the write is still under way: not kept either
    assert len(hot) == 0
    hot.write_ended([key])
    hot.get(key)
    assert len(hot) == 1
    disk.during_read = [hot.write_begins, lambda: hot.write_ended([])]  # a whole write meanwhile
    hot.write_begins()
    hot.write_ended([key])
    hot.get(key)
    assert len(hot) == 0


def test_the_cache_is_bounded() -> None:
    disk = _Disk()
    hot = HotEntries(disk.read, max_entries=3)
    for i in range(10):
        hot.get(bytes([0, i]) + b"\x00" * 31)
    assert len(hot) <= 3


def _written(node: AssembledNode, tx_hash: bytes) -> Callable[[], bool]:
    """The transaction's ledger is written, to the end (its index shows during the write)."""

    def written() -> bool:
        status = node.chain.tx_status(tx_hash)
        return status.ledger is not None and node.chain.store.last_header.seq >= status.ledger

    return written


async def test_a_node_reads_what_its_ledgers_wrote(tmp_path: Path, autojump_clock: MockClock) -> None:
    async with trio.open_nursery() as nursery:
        hub = MemoryHub(nursery)
        nodes = [await start(hub, v) for v in make_validators(tmp_path, 4, close_interval_ms=1_000)]
        alice, bob = await community(nodes[0])
        store = nodes[1].chain.store
        keys = (account_key(alice.public_key), holding_key(alice.public_key, "HOUR"))
        for key in keys:
            store.get_entry(key)  # now kept decoded
        for seq in (1, 2, 3):
            payment = signed_tx(nodes[0], alice, seq, Payment(bob.public_key, "HOUR", 25))
            assert nodes[0].api.submit([payment])[0].accepted
            await until(_written(nodes[1], payment.hash), "written")
            for key in keys:
                raw = store.get_raw(key)
                assert raw is not None
                assert store.get_entry(key) == (raw, decode_entry(key, raw)), (
                    "the ledger's write, not a stale one"
                )
        assert store.get_entry(keys[0])[1].seq == 3  # type: ignore[union-attr]
        nursery.cancel_scope.cancel()
