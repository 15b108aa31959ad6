"""The node's only clocks.

``monotonic_ms`` drives consensus timers (trio's clock, so tests can use trio's virtual
``autojump_clock``); ``wall_ms`` gives ledger close times, which must be real dates.
"""

from __future__ import annotations

import time

import trio


def monotonic_ms() -> int:
    return int(trio.current_time() * 1000)


def wall_ms() -> int:
    return int(time.time() * 1000)
