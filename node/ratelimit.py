"""Per-client token buckets: one client flooding us cannot starve the others.

Shared by the HTTP API (clients by address) and the peer network (requests by peer id).
"""

from __future__ import annotations

import time
from collections.abc import Callable


class RateLimiter:
    def __init__(
        self,
        rate: float,
        burst: float,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate, self.burst, self.max_clients = rate, burst, max_clients
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, client: str, cost: float = 1.0) -> bool:
        now = self._clock()
        tokens = self._tokens(client, now)
        allowed = tokens >= cost
        if allowed:
            tokens -= cost
        if len(self._buckets) >= self.max_clients and client not in self._buckets:
            self._buckets.pop(next(iter(self._buckets)))
        self._buckets[client] = (tokens, now)
        return allowed

    def wait_s(self, client: str, cost: float = 1.0) -> float:
        """Seconds until ``cost`` tokens are there for ``client`` (0 when they are now): what a
        refused client is told in ``Retry-After``."""
        missing = min(cost, self.burst) - self._tokens(client, self._clock())
        return max(0.0, missing / self.rate) if self.rate > 0 else float("inf")

    def _tokens(self, client: str, now: float) -> float:
        tokens, stamp = self._buckets.get(client, (self.burst, now))
        return min(self.burst, tokens + (now - stamp) * self.rate)
