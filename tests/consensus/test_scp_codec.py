"""Statement codec (strict canonical msgpack), sanity checks and "newer than" ordering."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consensus import (
    Ballot,
    Confirm,
    Externalize,
    Nominate,
    Prepare,
    Statement,
    StatementDecodeError,
    decode_statement,
    encode_statement,
)
from consensus._messages import (
    MAX_STATEMENT_BYTES,
    ballot_is_newer,
    ballot_is_sane,
    nomination_is_newer,
    nomination_is_sane,
)
from protocol import codec

NODE = bytes(range(32))
QH = bytes(32)

values = st.binary(min_size=0, max_size=40)
counters = st.integers(0, (1 << 32) - 1)
ballots = st.builds(Ballot, counters, values)
opt_ballots = st.none() | ballots
pledges = st.one_of(
    st.builds(
        Nominate,
        st.lists(values, max_size=4, unique=True).map(lambda v: tuple(sorted(v))),
        st.lists(values, max_size=4, unique=True).map(lambda v: tuple(sorted(v))),
    ),
    st.builds(Prepare, ballots, opt_ballots, opt_ballots, counters, counters),
    st.builds(Confirm, ballots, counters, counters, counters),
    st.builds(Externalize, ballots, counters),
)
statements = st.builds(
    Statement,
    st.binary(min_size=32, max_size=32),
    st.integers(0, (1 << 63) - 1),
    st.binary(min_size=32, max_size=32),
    pledges,
)


@settings(max_examples=300, deadline=None)
@given(statements)
def test_round_trip_is_byte_exact(s: Statement) -> None:
    data = encode_statement(s)
    back = decode_statement(data)
    assert back == s
    assert encode_statement(back) == data


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_decode_random_bytes_raises_only_statement_decode_error(data: bytes) -> None:
    with contextlib.suppress(StatementDecodeError):
        decode_statement(data)


@settings(max_examples=300, deadline=None)
@given(statements, st.integers(0, 200), st.integers(0, 255))
def test_decode_mutated_statement_raises_only_statement_decode_error(
    s: Statement, pos: int, byte: int
) -> None:
    data = bytearray(encode_statement(s))
    data[pos % len(data)] = byte
    with contextlib.suppress(StatementDecodeError):
        decode_statement(bytes(data))


def test_rejects_non_canonical_wrong_version_and_oversize() -> None:
    s = Statement(NODE, 1, QH, Nominate((b"a",), ()))
    data = encode_statement(s)
    with pytest.raises(StatementDecodeError, match="trailing"):
        decode_statement(data + b"\x00")
    with pytest.raises(StatementDecodeError, match="version"):
        decode_statement(codec.pack((2, NODE, 1, QH, 3, ((b"a",), ()))))
    with pytest.raises(StatementDecodeError):
        decode_statement(codec.pack((1, NODE, 1, QH, 4, ())))  # unknown type
    with pytest.raises(StatementDecodeError):
        decode_statement(codec.pack((1, NODE[:31], 1, QH, 3, ((b"a",), ()))))
    with pytest.raises(StatementDecodeError, match="limit"):
        decode_statement(
            encode_statement(Statement(NODE, 1, QH, Nominate((b"v" * MAX_STATEMENT_BYTES,), ())))
        )
    # a non-minimal integer encoding (uint16 for 1) is refused
    non_canonical = data.replace(b"\x01", b"\xcd\x00\x01", 1)
    with pytest.raises(StatementDecodeError):
        decode_statement(non_canonical)
    with pytest.raises(StatementDecodeError):
        decode_statement(codec.pack((1, NODE, True, QH, 3, ((b"a",), ()))))  # bool is not an int


# ------------------------------------------------------------------------------------ sanity


B1, B2 = Ballot(1, b"x"), Ballot(2, b"x")


@pytest.mark.parametrize(
    ("pledge", "sane"),
    [
        (Prepare(B1), True),
        (Prepare(Ballot(0, b"x")), False),
        (Prepare(B2, B1, Ballot(1, b"y")), False),  # p' must be below p and incompatible
        (Prepare(B2, Ballot(1, b"y"), B1), True),
        (Prepare(B2, B1, B1), False),
        (Prepare(B2, B1, None, 0, 2), False),  # h above p
        (Prepare(B2, B2, None, 1, 2), True),
        (Prepare(B2, B2, None, 3, 2), False),  # c above h
        (Prepare(B2, B2, None, 1, 0), False),  # c without h
        (Confirm(B2, 2, 1, 2), True),
        (Confirm(B2, 2, 1, 3), False),  # h above b
        (Confirm(B2, 2, 2, 1), False),  # c above h
        (Confirm(Ballot(0, b"x"), 0, 0, 0), False),
        (Externalize(B2, 2), True),
        (Externalize(B2, 1), False),
        (Externalize(Ballot(0, b"x"), 1), False),
    ],
)
def test_ballot_sanity(pledge: Prepare | Confirm | Externalize, sane: bool) -> None:
    assert ballot_is_sane(pledge) == sane


def test_nomination_sanity() -> None:
    assert nomination_is_sane(Nominate((b"a", b"b"), ()))
    assert not nomination_is_sane(Nominate((), ()))
    assert not nomination_is_sane(Nominate((b"b", b"a"), ()))
    assert not nomination_is_sane(Nominate((b"a", b"a"), ()))


def test_newer_than() -> None:
    assert nomination_is_newer(Nominate((b"a",), ()), Nominate((b"a", b"b"), ()))
    assert nomination_is_newer(Nominate((b"a",), ()), Nominate((b"a",), (b"a",)))
    assert not nomination_is_newer(Nominate((b"a",), ()), Nominate((b"a",), ()))
    assert not nomination_is_newer(Nominate((b"a", b"b"), ()), Nominate((b"a",), (b"c",)))
    assert ballot_is_newer(Prepare(B1), Prepare(B2))
    assert not ballot_is_newer(Prepare(B2), Prepare(B1))
    assert ballot_is_newer(Prepare(B2), Prepare(B2, B1))  # absent < present
    assert ballot_is_newer(Prepare(B2, B1), Prepare(B2, B1, None, 0, 1))  # nH grows
    assert ballot_is_newer(Prepare(B2, B2), Confirm(B1, 1, 1, 1))
    assert ballot_is_newer(Confirm(B2, 2, 1, 2), Externalize(B1, 1))
    assert not ballot_is_newer(Externalize(B1, 1), Externalize(B2, 2))
    assert not ballot_is_newer(Confirm(B2, 2, 1, 2), Prepare(Ballot(9, b"x")))
    assert ballot_is_newer(Confirm(B2, 1, 1, 1), Confirm(B2, 2, 1, 1))
