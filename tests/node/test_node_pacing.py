"""The close is pipelined (issue 18): while transactions wait, a validator starts a slot's
nomination ``close_interval`` after it started the previous one, so the previous slot's consensus,
apply and write overlap the wait instead of adding to every interval."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trio
from memnet import MemoryHub, community, make_validators, signed_tx, start
from trio.testing import MockClock

from node import assembly
from node.capacity import Capacity, CapacitySettings
from node.chain import LedgerChain
from node.clock import monotonic_ms
from node.herder import Herder
from protocol.operations import Payment

CLOSE_INTERVAL_MS = 1_000
CLOSE_TAKES_S = 0.6  # every ledger's apply and write, in virtual time


def _slow_closes(monkeypatch: pytest.MonkeyPatch, seconds: float = CLOSE_TAKES_S) -> None:
    """Every ledger's apply and write takes ``seconds`` of virtual time (run inline: the virtual
    clock would jump ahead while a real worker thread runs)."""

    async def slow_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if getattr(fn, "__func__", None) is LedgerChain._apply_and_write:
            await trio.sleep(seconds)  # the ledger's worker thread, run inline in virtual time
        return fn(*args)  # (node.outbox's statement writes: inline, in no virtual time)

    monkeypatch.setattr(trio.to_thread, "run_sync", slow_thread)


async def _pay_through_slots(tmp_path: Path, slots: int, latency_s: float = 0.0) -> int:
    """Four validators ``latency_s`` apart, one payment every 100 ms (the mempool is never empty)
    for ``slots`` slots; returns the first of them."""
    async with trio.open_nursery() as nursery:
        hub = MemoryHub(nursery, latency_s=latency_s)
        validators = make_validators(tmp_path, 4, close_interval_ms=CLOSE_INTERVAL_MS)
        nodes = [await start(hub, v) for v in validators]
        alice, bob = await community(nodes[0])
        first_slot = nodes[0].herder.slot
        for seq in itertools.count(1):
            admitted = nodes[0].api.submit(
                [signed_tx(nodes[0], alice, seq, Payment(bob.public_key, "HOUR", 1))]
            )
            assert admitted[0].accepted, admitted
            await trio.sleep(0.1)
            if all(n.herder.slot >= first_slot + slots for n in nodes):
                break
        nursery.cancel_scope.cancel()
    return first_slot


async def test_slots_start_a_close_interval_apart_however_long_a_close_takes(
    tmp_path: Path, autojump_clock: MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _slow_closes(monkeypatch)
    nominations: dict[int, int] = {}  # slot -> when the first validator started nominating it
    real_start = Herder._start_nomination

    def recording(self: Herder) -> None:
        nominations.setdefault(self.slot, monotonic_ms())
        real_start(self)

    monkeypatch.setattr(Herder, "_start_nomination", recording)
    first_slot = await _pay_through_slots(tmp_path, 6)
    starts = [nominations[slot] for slot in sorted(nominations) if slot > first_slot]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(gaps) >= 4, nominations
    # Paced from the previous nomination: 1 s apart, not 1 s after each 0.6 s close (1.6 s).
    assert all(CLOSE_INTERVAL_MS <= gap <= CLOSE_INTERVAL_MS + 150 for gap in gaps), gaps


async def test_the_capacity_estimate_hears_how_long_agreement_and_the_close_took(
    tmp_path: Path, autojump_clock: MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # node.capacity tells a close that is slow because of its work from one whose agreement was
    # slow (validators far apart), so the herder passes both times: here each message takes 0.1 s.
    _slow_closes(monkeypatch)
    heard: list[tuple[int, float, float]] = []  # (transactions, busy_s, agreed_s)
    real_closed = Capacity.ledger_closed

    def recording(
        self: Capacity, transactions: int, busy_s: float, backlog: int = 0, agreed_s: float = 0.0
    ) -> None:
        heard.append((transactions, busy_s, agreed_s))
        real_closed(self, transactions, busy_s, backlog, agreed_s)

    monkeypatch.setattr(Capacity, "ledger_closed", recording)
    await _pay_through_slots(tmp_path, 4, latency_s=0.1)
    paid = [(busy, agreed) for transactions, busy, agreed in heard if transactions]
    assert len(paid) >= 4 * 3, heard  # every validator, every slot with a payment in it
    for busy, agreed in paid:
        assert 0.4 <= agreed <= 1.0, paid  # several rounds of messages
        assert busy - agreed == pytest.approx(CLOSE_TAKES_S, abs=0.05), paid  # then the close


async def test_validators_far_apart_keep_their_admission_limit_under_overload(
    tmp_path: Path, autojump_clock: MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each message takes 0.25 s: agreement alone takes longer than the 1 s interval, so every slot
    # overruns it. Judged by that alone, each full ledger read as saturation and the admission
    # limit shrank ledger after ledger towards its minimum (2 tx/s here), though each close took
    # only 0.1 s.
    _slow_closes(monkeypatch, 0.1)
    monkeypatch.setattr(
        assembly,
        "CapacitySettings",
        functools.partial(CapacitySettings, initial_rate=100.0, min_rate=1.0, min_limit=4),
    )
    async with trio.open_nursery() as nursery:
        hub = MemoryHub(nursery, latency_s=0.25)
        validators = make_validators(tmp_path, 4, close_interval_ms=CLOSE_INTERVAL_MS)
        nodes = [await start(hub, v) for v in validators]
        alice, bob = await community(nodes[0])
        first_slot = nodes[0].herder.slot
        seq, refused = 1, 0
        while nodes[0].herder.slot < first_slot + 8:  # offered more than the limit lets in
            for _ in range(30):
                payment = signed_tx(nodes[0], alice, seq, Payment(bob.public_key, "HOUR", 1))
                if not nodes[0].api.submit([payment], source="198.51.100.7")[0].accepted:
                    refused += 1
                    break  # offered again in the next round
                seq += 1
            await trio.sleep(0.2)
        rates = [n.chain.mempool.capacity.rate for n in nodes]
        nursery.cancel_scope.cancel()
    assert refused > 0  # the limit held the client back: the network was at its limit
    assert min(rates) >= 100.0, rates  # and it never read slow agreement as saturation
