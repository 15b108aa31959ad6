"""Per-client token buckets: one client flooding us cannot starve the others.

Shared by the HTTP API (clients by address) and the peer network (requests by peer id).
"""

from __future__ import annotations

import time


class RateLimiter:
    def __init__(self, rate: float, burst: float, max_clients: int = 10_000) -> None:
        self.rate, self.burst, self.max_clients = rate, burst, max_clients
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, client: str, cost: float = 1.0) -> bool:
        now = time.monotonic()
        tokens, stamp = self._buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - stamp) * self.rate)
        allowed = tokens >= cost
        if allowed:
            tokens -= cost
        if len(self._buckets) >= self.max_clients and client not in self._buckets:
            self._buckets.pop(next(iter(self._buckets)))
        self._buckets[client] = (tokens, now)
        return allowed
