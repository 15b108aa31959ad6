"""Typed errors of the node layer."""

from __future__ import annotations


class NodeError(Exception):
    """Base class of errors raised by ``node``."""


class ConfigError(NodeError):
    """The configuration file is missing, unreadable, or has an unknown key or a bad value
    (the message names the key and says what is expected)."""


class StorageError(NodeError):
    """The ledger database could not be opened, read or written (disk full, corrupt, locked)."""
