"""What the host supplies (a ``Driver`` answering pure questions) and what SCP hands back (effects).

The driver never performs I/O on behalf of SCP: emitting, timers and externalisation come back as
effect values from each ``ScpNode`` input method, executed by the caller in order.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from consensus._messages import Statement


class Validity(enum.Enum):
    """How the application judges a value (CORE-OLD ``ValidationLevel``)."""

    INVALID = 0
    MAYBE_VALID = 1  # cannot tell yet (e.g. behind); the node records but stops emitting for the slot
    FULLY_VALID = 2


class TimerKind(enum.Enum):
    NOMINATION = 0
    BALLOT = 1


class Driver(Protocol):
    """Pure, synchronous questions SCP asks the application.

    Optional extras, looked up with ``getattr`` so a driver may omit them: ``node_weight(node, qset,
    is_local) -> int`` (leader-election weight out of 2^64-1), ``hash_node(slot, prev, is_priority,
    round, node) -> int`` and ``hash_value(slot, prev, round, value) -> int`` (64-bit nomination hashes;
    the defaults are BLAKE2b-based, tests override them to pick leaders).
    """

    def validate_value(self, slot: int, value: bytes, nomination: bool) -> Validity: ...

    def extract_valid_value(self, slot: int, value: bytes) -> bytes | None: ...

    def combine_candidates(self, slot: int, values: Sequence[bytes]) -> bytes: ...

    def compute_timeout_ms(self, round: int, is_nomination: bool) -> int: ...


@dataclass(frozen=True)
class Emit:
    """Sign and broadcast ``statement`` (persist it first: scp.md §5.10)."""

    statement: Statement


@dataclass(frozen=True)
class SetTimer:
    """(Re)arm the slot's timer of ``kind``; call ``timer_fired(slot, kind, generation)`` after ``delay_ms``."""

    slot: int
    kind: TimerKind
    delay_ms: int
    generation: int


@dataclass(frozen=True)
class CancelTimer:
    slot: int
    kind: TimerKind


@dataclass(frozen=True)
class Externalized:
    """The slot is decided (reported at most once per slot)."""

    slot: int
    value: bytes


@dataclass(frozen=True)
class NeedQuorumSet:
    """A statement from ``node_id`` is parked until the quorum set with ``qset_hash`` is supplied."""

    qset_hash: bytes
    node_id: bytes


Effect = Emit | SetTimer | CancelTimer | Externalized | NeedQuorumSet
