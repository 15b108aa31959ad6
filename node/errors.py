"""Typed errors of the node layer."""

from __future__ import annotations


class NodeError(Exception):
    """Base class of errors raised by ``node``."""


class ConfigError(NodeError):
    """The configuration file is missing, unreadable, or has an unknown key or a bad value
    (the message names the key and says what is expected)."""


class StorageError(NodeError):
    """The ledger database could not be opened, read or written (disk full, corrupt, locked)."""


class NetError(NodeError):
    """A request to a peer failed. ``reason`` is a short code: ``timeout``, ``oversize``,
    ``remote`` (the peer's handler refused; ``detail`` has its message), ``unreachable``,
    ``filtered``, ``banned``, ``protocol`` (malformed response) or ``closed``."""

    def __init__(self, peer: str, reason: str, detail: str = "") -> None:
        self.peer = peer
        self.reason = reason
        self.detail = detail
        super().__init__(f"peer {peer}: {reason}" + (f": {detail}" if detail else ""))


class AdminForbiddenError(NodeError):
    """An admin action this node does not allow (a test-only action on a node whose config does
    not enable test faults); the API answers 403."""


def node_error_in(exc: BaseException) -> NodeError | None:
    """The error to report for ``exc``: itself if a NodeError, else the first NodeError inside it
    when it is an exception group (trio wraps what a task raises inside a nursery), preferring a
    ConfigError; None when there is none (a bug: let it propagate with its traceback)."""
    found = _leaves(exc)
    config = next((e for e in found if isinstance(e, ConfigError)), None)
    if config is not None:  # a bad setting explains whatever else broke with it
        return config
    errors = [e for e in found if isinstance(e, NodeError)]
    if not errors or any(not isinstance(e, NodeError | KeyboardInterrupt) for e in found):
        return None
    return errors[0]


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]
