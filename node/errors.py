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
