"""Deadline timers for the consensus state machine, run by one trio task.

Consensus asks for timers as data (``SetTimer(slot, kind, deadline)``); this service fires the
callback once the deadline passes. Setting a timer with the same key replaces the old one, so a
stale deadline can never fire.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable

import trio

from node.clock import monotonic_ms


class TimerService:
    """Keyed deadlines, fired by ``run`` (one trio task) in deadline order.

    Invariant: at most one deadline per key is live; setting a key again or cancelling it means the
    old callback never fires.
    """

    def __init__(self) -> None:
        self._deadlines: dict[Hashable, tuple[int, int]] = {}  # key -> (deadline_ms, generation)
        self._heap: list[tuple[int, int, Hashable]] = []
        self._callbacks: dict[Hashable, Callable[[], None]] = {}
        self._generation = 0
        self._changed = trio.Event()

    def set(self, key: Hashable, deadline_ms: int, callback: Callable[[], None]) -> None:
        self._generation += 1
        self._deadlines[key] = (deadline_ms, self._generation)
        self._callbacks[key] = callback
        heapq.heappush(self._heap, (deadline_ms, self._generation, key))
        self._changed.set()

    def cancel(self, key: Hashable) -> None:
        self._deadlines.pop(key, None)
        self._callbacks.pop(key, None)

    def pending(self) -> int:
        return len(self._deadlines)

    async def run(self) -> None:
        while True:
            self._fire_due()
            self._changed = trio.Event()
            if self._heap:
                with trio.move_on_after(max(0.0, (self._heap[0][0] - monotonic_ms()) / 1000)):
                    await self._changed.wait()
            else:
                await self._changed.wait()

    def _fire_due(self) -> None:
        now = monotonic_ms()
        while self._heap and self._heap[0][0] <= now:
            deadline, generation, key = heapq.heappop(self._heap)
            if self._deadlines.get(key) != (deadline, generation):
                continue  # replaced or cancelled
            del self._deadlines[key]
            callback = self._callbacks.pop(key)
            callback()
