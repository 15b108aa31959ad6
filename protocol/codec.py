"""Strict, canonical msgpack: the one way Tally turns messages into bytes and back.

Every message is a msgpack array with a leading version (or type) tag; maps, floats and extension
types never appear. Decoding is strict: sizes are bounded before any allocation, types are checked
exactly (``bool`` is not an ``int``), and the bytes must be the canonical encoding of what they
decode to, so every signed payload has exactly one byte form and ``encode(decode(b)) == b``.
"""

from __future__ import annotations

from typing import Any

import msgpack

from protocol.errors import DecodeError

# Bounds applied inside the C unpacker, before Python objects are built: a hostile 10-byte
# header cannot make us allocate a 4 GiB list.
DEFAULT_MAX_BIN = 1 << 20
DEFAULT_MAX_STR = 4096
DEFAULT_MAX_ARRAY = 100_000
MAX_DEPTH = 32  # generous: a tx set nests 5 deep, a quorum set at its nesting limit about 10

INT64_MAX = (1 << 63) - 1
UINT32_MAX = (1 << 32) - 1
UINT64_MAX = (1 << 64) - 1


class KeptBytes:
    """An immutable object's canonical encoding and hash, computed once and kept beside it (a
    field with ``compare=False``): a 6 MiB tx set was packed and hashed again on every access, five
    to eight times per ledger. Decoding seeds ``encoded`` with the bytes received, which the strict
    decoder has proven to be the object's canonical encoding."""

    __slots__ = ("encoded", "hash")

    def __init__(self) -> None:
        self.encoded: bytes | None = None
        self.hash: bytes | None = None


# Packers ready for reuse. ``msgpack.packb`` builds a new Packer (and its 1 MiB buffer) per call,
# which cost more than packing a small entry: ~2.0 against ~0.9 µs for a holding, some ten times
# per payment per validator. A packer is taken off this list for one call and put back, so a
# thread (the ledger's worker beside the event loop) never shares one that is mid-pack; list pop
# and append are atomic. A Packer resets its buffer when packing raises. One that packed something
# large (a tx set) is let go rather than kept: its buffer grew to that size.
_PACKERS: list[msgpack.Packer] = []
_KEEP_PACKER_BELOW = 256 * 1024  # bytes packed


def pack(obj: object) -> bytes:
    """Encode tuples/lists, ints, bytes, str, bool and None as canonical msgpack."""
    try:
        packer = _PACKERS.pop()
    except IndexError:
        packer = msgpack.Packer(use_bin_type=True)
    try:
        data: bytes = packer.pack(obj)
    except BaseException:
        _PACKERS.append(packer)
        raise
    if len(data) < _KEEP_PACKER_BELOW:
        _PACKERS.append(packer)
    return data


def unpack(
    data: bytes,
    *,
    max_size: int,
    max_bin: int = DEFAULT_MAX_BIN,
    max_str: int = DEFAULT_MAX_STR,
    max_array: int = DEFAULT_MAX_ARRAY,
    what: str = "message",
) -> Any:
    """Decode one msgpack object from ``data`` (all of it) and check that the encoding is canonical.

    Raises:
        DecodeError: oversize input, malformed msgpack, maps/extensions/floats, trailing bytes,
            or bytes that are not the canonical encoding of the decoded value.
    """
    if not isinstance(data, bytes):
        raise DecodeError(f"{what}: expected bytes, got {type(data).__name__}")
    if len(data) > max_size:
        raise DecodeError(f"{what}: {len(data)} bytes is over the limit of {max_size}")
    try:
        obj = msgpack.unpackb(
            data,
            raw=False,
            use_list=False,
            strict_map_key=True,
            max_bin_len=max_bin,
            max_str_len=max_str,
            max_array_len=max_array,
            max_map_len=0,
            max_ext_len=0,
        )
    except msgpack.ExtraData:
        raise DecodeError(f"{what}: trailing bytes after the message") from None
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise DecodeError(f"{what}: malformed msgpack ({exc})") from None
    if not _plain(obj):
        raise DecodeError(
            f"{what}: only arrays (at most {MAX_DEPTH} deep) of integers, bytes, text, "
            "booleans and nil are allowed"
        )
    if pack(obj) != data:
        raise DecodeError(f"{what}: not the canonical encoding")
    return obj


def peek(
    data: bytes, *, max_size: int, max_bin: int = DEFAULT_MAX_BIN, max_array: int = DEFAULT_MAX_ARRAY
) -> Any:
    """Decode ``data`` within the same allocation bounds as ``unpack``, but without its checks of
    types and canonical form: fast, for a first look at untrusted input that is then either
    refused or decoded with ``unpack``. Never use what it returns to accept anything.

    Raises:
        DecodeError: oversize or malformed msgpack.
    """
    if len(data) > max_size:
        raise DecodeError(f"{len(data)} bytes is over the limit of {max_size}")
    try:
        return msgpack.unpackb(
            data,
            raw=False,
            use_list=False,
            max_bin_len=max_bin,
            max_str_len=DEFAULT_MAX_STR,
            max_array_len=max_array,
            max_map_len=0,
            max_ext_len=0,
        )
    except (ValueError, TypeError, msgpack.ExtraData, msgpack.UnpackException) as exc:
        raise DecodeError(f"malformed msgpack ({exc})") from None


_SCALARS = frozenset({int, bytes, str, bool, type(None)})


def _plain(obj: object) -> bool:
    """Only arrays (nested at most ``MAX_DEPTH`` deep) of ints, bytes, text, booleans and nil.

    An empty map or a float64 would otherwise survive the canonical re-encoding check, and
    msgpack accepts nesting deeper than Python's recursion limit (which ``repr`` in an error
    message would then hit). Iterative for the same reason.
    """
    if type(obj) is not tuple:
        return type(obj) in _SCALARS
    stack = [(obj, 1)]
    while stack:
        items, depth = stack.pop()
        if depth > MAX_DEPTH:
            return False
        for item in items:
            kind = type(item)
            if kind is tuple:
                stack.append((item, depth + 1))
            elif kind not in _SCALARS:
                return False
    return True


def array(obj: object, length: int, what: str) -> tuple[Any, ...]:
    """``obj`` as a tuple of exactly ``length`` items."""
    if type(obj) is not tuple:
        raise DecodeError(f"{what}: expected an array, got {_kind(obj)}")
    if len(obj) != length:
        raise DecodeError(f"{what}: expected {length} fields, got {len(obj)}")
    return obj


def seq(obj: object, what: str, *, max_len: int, min_len: int = 0) -> tuple[Any, ...]:
    """``obj`` as a tuple of ``min_len``..``max_len`` items (a list field)."""
    if type(obj) is not tuple:
        raise DecodeError(f"{what}: expected a list, got {_kind(obj)}")
    if not min_len <= len(obj) <= max_len:
        raise DecodeError(f"{what}: expected {min_len}..{max_len} items, got {len(obj)}")
    return obj


def integer(obj: object, what: str, *, lo: int = 0, hi: int = INT64_MAX) -> int:
    """``obj`` as an int in ``[lo, hi]`` (booleans are refused)."""
    if type(obj) is not int:
        raise DecodeError(f"{what}: expected an integer, got {_kind(obj)}")
    if not lo <= obj <= hi:
        raise DecodeError(f"{what}: {obj} is outside {lo}..{hi}")
    return obj


def blob(obj: object, what: str, *, size: int | None = None, max_len: int = DEFAULT_MAX_BIN) -> bytes:
    """``obj`` as bytes of exactly ``size`` bytes, or at most ``max_len``."""
    if type(obj) is not bytes:
        raise DecodeError(f"{what}: expected bytes, got {_kind(obj)}")
    if size is not None and len(obj) != size:
        raise DecodeError(f"{what}: expected {size} bytes, got {len(obj)}")
    if len(obj) > max_len:
        raise DecodeError(f"{what}: {len(obj)} bytes is over the limit of {max_len}")
    return obj


def text(obj: object, what: str, *, max_len: int) -> str:
    """``obj`` as a str of at most ``max_len`` characters."""
    if type(obj) is not str:
        raise DecodeError(f"{what}: expected text, got {_kind(obj)}")
    if len(obj) > max_len:
        raise DecodeError(f"{what}: {len(obj)} characters is over the limit of {max_len}")
    return obj


def boolean(obj: object, what: str) -> bool:
    if type(obj) is not bool:
        raise DecodeError(f"{what}: expected true/false, got {_kind(obj)}")
    return obj


def tag(obj: object, expected: int, what: str) -> None:
    """Check a version or type tag."""
    if type(obj) is not int or obj != expected:
        raise DecodeError(f"{what}: unknown version {obj!r} (this software speaks {expected})")


def _kind(obj: object) -> str:
    if obj is None:
        return "nil"
    return {tuple: "array", bytes: "bytes", str: "text", int: "integer", bool: "boolean"}.get(
        type(obj), type(obj).__name__
    )
