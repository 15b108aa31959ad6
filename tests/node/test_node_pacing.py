"""The close is pipelined (issue 18): while transactions wait, a validator starts a slot's
nomination ``close_interval`` after it started the previous one, so the previous slot's consensus,
apply and write overlap the wait instead of adding to every interval."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trio
from memnet import MemoryHub, community, make_validators, signed_tx, start, until
from trio.testing import MockClock

from node.chain import LedgerChain
from node.clock import monotonic_ms
from node.herder import Herder
from protocol.operations import Payment

CLOSE_INTERVAL_MS = 1_000
CLOSE_TAKES_S = 0.6  # every ledger's apply and write, in virtual time


async def test_slots_start_a_close_interval_apart_however_long_a_close_takes(
    tmp_path: Path, autojump_clock: MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def slow_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if getattr(fn, "__func__", None) is LedgerChain._apply_and_write:
            await trio.sleep(CLOSE_TAKES_S)  # the ledger's worker thread, run inline in virtual time
        return fn(*args)  # (node.outbox's statement writes: inline, in no virtual time)

    monkeypatch.setattr(trio.to_thread, "run_sync", slow_thread)
    nominations: dict[int, int] = {}  # slot -> when the first validator started nominating it
    real_start = Herder._start_nomination

    def recording(self: Herder) -> None:
        nominations.setdefault(self.slot, monotonic_ms())
        real_start(self)

    monkeypatch.setattr(Herder, "_start_nomination", recording)
    async with trio.open_nursery() as nursery:
        hub = MemoryHub(nursery)
        validators = make_validators(tmp_path, 4, close_interval_ms=CLOSE_INTERVAL_MS)
        nodes = [await start(hub, v) for v in validators]
        alice, bob = await community(nodes[0])
        first_slot = nodes[0].herder.slot
        for seq in itertools.count(1):  # one payment every 100 ms: the mempool is never empty
            admitted = nodes[0].api.submit(
                [signed_tx(nodes[0], alice, seq, Payment(bob.public_key, "HOUR", 1))]
            )
            assert admitted[0].accepted, admitted
            await trio.sleep(0.1)
            if nodes[0].herder.slot >= first_slot + 6:
                break
        await until(lambda: len(nominations) >= 6, "six slots nominated")
        nursery.cancel_scope.cancel()
    starts = [nominations[slot] for slot in sorted(nominations) if slot > first_slot]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps, nominations
    # Paced from the previous nomination: 1 s apart, not 1 s after each 0.6 s close (1.6 s).
    assert all(CLOSE_INTERVAL_MS <= gap <= CLOSE_INTERVAL_MS + 150 for gap in gaps), gaps
