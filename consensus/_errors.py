"""Typed errors of the consensus layer.

Expected invalidity of a received statement is not an exception: ``ScpNode.receive`` just returns
no effects. Exceptions here mean malformed bytes, an unusable quorum set, or misuse of the API.
"""

from __future__ import annotations

from protocol.errors import DecodeError


class ConsensusError(Exception):
    """Base class of every error raised by ``consensus``."""


class QuorumSetError(ConsensusError, ValueError):
    """A quorum set that breaks a sanity rule (the message says which and how to fix it)."""


class StatementDecodeError(ConsensusError, DecodeError):
    """Bytes that are not a valid, canonical encoding of a statement or quorum set.

    Also a ``protocol.errors.DecodeError``, so the node can treat every bad wire message alike.
    """


class InvariantViolation(AssertionError):
    """A broken internal invariant of the state machine (a bug): never caught, never expected."""
