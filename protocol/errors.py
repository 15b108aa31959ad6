"""Typed errors of the protocol layer.

Expected invalidity of a well-formed transaction is *not* an exception: it is a ``ResultCode``.
Exceptions here mean malformed input (bytes, text) or misuse of the API.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Base class of every error raised by ``protocol``."""


class DecodeError(ProtocolError):
    """Bytes that are not a valid, canonical encoding of the expected message.

    Raised for wrong types, unknown versions or codes, missing or extra fields, oversize fields
    or lists, trailing bytes and non-canonical encodings. Remote input that raises this is
    dropped (and its sender penalised) by the node; it never crashes anything.
    """


class AddressError(ProtocolError, ValueError):
    """Text that is not a valid address, validator id or secret seed (the message says why)."""


class AmountError(ProtocolError, ValueError):
    """A decimal amount that the currency cannot represent (sign, decimals, range)."""


class MnemonicError(ProtocolError, ValueError):
    """A recovery phrase with unknown words, a wrong word count or a bad checksum."""
