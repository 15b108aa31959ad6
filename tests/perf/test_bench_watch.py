"""``scripts/bench`` times a payment to the moment node 0's event stream says its ledger closed,
not to when the bench has finished reading that ledger's transactions (a read that took up to
172 ms of each latency when node 0 was busiest), nor to when it finished reading the ledger
before."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import httpx
import pytest
import trio
import trio.testing

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import bench_load

READ_TAKES_S = 0.5  # how long node 0 takes to answer GET /ledgers/{seq} in this fake


class FakeNode0:
    """Node 0's event stream (some ledgers close at once) and ledger reads that take time."""

    def __init__(self, ledgers: dict[int, list[bytes]], stop: trio.Event) -> None:
        self.ledgers = ledgers
        self.stop = stop
        self.streams = 0
        self.read: list[int] = []
        self.all_read = trio.Event()

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/events":
            self.streams += 1
            if self.streams > 1:  # the stream ended and the bench asks again: over once all read
                await self.all_read.wait()
                self.stop.set()
                raise httpx.ConnectError("gone", request=request)
            lines = "".join(f"event: ledger\nid: {seq}\ndata: {{}}\n\n" for seq in sorted(self.ledgers))
            return httpx.Response(200, content=lines.encode())
        seq = int(request.url.path.rsplit("/", 1)[1])
        await trio.sleep(READ_TAKES_S)
        self.read.append(seq)
        if len(self.read) == len(self.ledgers):
            self.all_read.set()
        transactions = [{"hash": tx_hash.hex()} for tx_hash in self.ledgers[seq]]
        return httpx.Response(200, json={"close_time_ms": 1_000 * seq, "transactions": transactions})


async def test_a_payment_is_applied_when_its_ledger_closed_event_arrives(
    monkeypatch: pytest.MonkeyPatch, autojump_clock: trio.testing.MockClock
) -> None:
    stop = trio.Event()
    ours = [bytes([n]) * 32 for n in (1, 2, 3)]
    node0 = FakeNode0({5: [ours[0]], 6: [ours[1], b"\x09" * 32], 7: [ours[2]]}, stop)
    monkeypatch.setattr(bench_load, "time", types.SimpleNamespace(monotonic=trio.current_time))
    bench = bench_load.Bench(["http://node0"], {}, b"net")
    bench.http = httpx.AsyncClient(transport=httpx.MockTransport(node0.handle))
    run = bench_load.Run(rate=1.0, duration=1.0)
    events_at = trio.current_time()
    for tx_hash in ours:
        run.submitted_at[tx_hash] = events_at - 1.0

    with trio.fail_after(60):
        await bench.watch_ledgers(run, 5, stop)

    # The three events arrived together; reading each ledger then took 0.5 s.
    assert node0.read == [5, 6, 7]
    assert trio.current_time() >= events_at + 3 * READ_TAKES_S
    assert run.applied_at == dict.fromkeys(ours, events_at)  # not the other payment (not ours)
    assert run.close_times_ms == [5_000, 6_000, 7_000]
