"""The deadline queue: which proposals a ledger must decide, found without a sweep.

State offers only point lookups, so deadlines are grouped by hour: ``DeadlineBucket`` entries
hold the open proposals due in one hour, and the single ``DeadlineIndex`` entry lists the hours
that have any. A ledger closing at time t reads the index (one small entry) and only the buckets
of hours that began by t, so its cost grows with the proposals it decides, not with how many are
open. The index stays small however many proposals are open: deadlines lie at most the longest
voting period ahead, so it holds at most one item per hour of that period.

A bucket holds at most ``MAX_BUCKET_ITEMS`` proposals (a flood of proposals due in the same hour
is refused with ``too_many_open_proposals`` rather than growing one entry without bound).
"""

from __future__ import annotations

import bisect

from protocol.governance.entries import (
    DEADLINE_INDEX_KEY,
    MAX_BUCKET_ITEMS,
    DeadlineBucket,
    DeadlineIndex,
    deadline_bucket_key,
)
from protocol.state import StateOverlay

HOUR_MS = 3_600_000

Due = tuple[int, str, int]  # (deadline in ms, currency code, proposal number)


def enqueue(state: StateOverlay, deadline_ms: int, code: str, number: int) -> bool:
    """Queue a proposal's deadline; False (nothing written) when its hour is full."""
    hour = deadline_ms // HOUR_MS
    bucket = _bucket(state, hour)
    if len(bucket.items) >= MAX_BUCKET_ITEMS:
        return False
    items = list(bucket.items)
    bisect.insort(items, (deadline_ms, code, number))
    state.put(DeadlineBucket(hour, tuple(items)))
    hours = _index(state).hours
    if hour not in hours:
        state.put(DeadlineIndex(tuple(sorted((*hours, hour)))))
    return True


def pop_due(state: StateOverlay, now_ms: int) -> list[Due]:
    """Remove and return every queued deadline at or before ``now_ms``, in (deadline, code,
    number) order: the order in which the ledger decides them."""
    hours = _index(state).hours
    if not hours or hours[0] * HOUR_MS > now_ms:
        return []
    due: list[Due] = []
    remaining = list(hours)
    for hour in hours:
        if hour * HOUR_MS > now_ms:
            break
        bucket = _bucket(state, hour)
        split = bisect.bisect_right(bucket.items, (now_ms, "\U0010ffff", 1 << 32))
        due.extend(bucket.items[:split])
        state.put(DeadlineBucket(hour, bucket.items[split:]))
        if split == len(bucket.items):
            remaining.remove(hour)
    state.put(DeadlineIndex(tuple(remaining)))
    return due


def next_deadline(state: StateOverlay) -> int | None:
    """The earliest queued deadline (ms), or None: a node closes a ledger then (phase of the
    herder), so a vote ends on time even on an idle network."""
    hours = _index(state).hours
    if not hours:
        return None
    items = _bucket(state, hours[0]).items
    return items[0][0] if items else None


def _index(state: StateOverlay) -> DeadlineIndex:
    found = state.get(DEADLINE_INDEX_KEY)
    return found if isinstance(found, DeadlineIndex) else DeadlineIndex(())


def _bucket(state: StateOverlay, hour: int) -> DeadlineBucket:
    found = state.get(deadline_bucket_key(hour))
    return found if isinstance(found, DeadlineBucket) else DeadlineBucket(hour, ())
