"""The canonical codec: strict decoding of every message type, byte-exact round trips, and
rejection of every kind of mutated encoding (trailing bytes, wide ints, extra fields, unknown
versions and op codes, oversize lists and strings)."""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Callable
from typing import Any

import msgpack
import pytest
from design_strategies import design_entries, design_operations, terms
from governance_strategies import extensions, governance_entries, governance_operations, rules
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from protocol_support import KEYS, NETWORK, make_tx

from protocol import codec
from protocol.errors import DecodeError
from protocol.governance.actions import PayFromFund, SetRules
from protocol.governance.entries import Proposal, ProposalStatus
from protocol.governance.rules import GovernancePolicy, GovernanceRules
from protocol.hashing import HASH_SIZE
from protocol.ledger import (
    CloseValue,
    LedgerHeader,
    LedgerParams,
    decode_close_value,
    decode_header,
    decode_results,
    decode_tx_set,
    encode_results,
    genesis_header,
    make_tx_set,
)
from protocol.operations import (
    AdmitMember,
    CreateCurrency,
    CurrencyKind,
    Mint,
    Operation,
    Payment,
    Redeem,
    SetCreditLimit,
    SetSigners,
    decode_operation,
    encode_operation,
)
from protocol.results import ResultCode, TxResult, decode_result, encode_result
from protocol.state import (
    Account,
    Currency,
    CurrencyExtension,
    Entry,
    Holding,
    Role,
    StateAccumulator,
    decode_entry,
    encode_entry,
)
from protocol.transactions import (
    ENVELOPE_V1,
    MAX_MEMO_BYTES,
    MAX_OPERATIONS,
    MAX_SIGNATURES,
    Transaction,
    TransactionBody,
    build_transaction,
    decode_transaction,
    encode_body,
)
from protocol.versions import CURRENT_PROTOCOL_VERSION

FUZZ = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
FEW = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
INT64_MAX = codec.INT64_MAX

# ---------------------------------------------------------------------------------------------
# strategies

keys32 = st.binary(min_size=32, max_size=32)
codes = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=12)
amounts = st.integers(min_value=0, max_value=INT64_MAX)
small = st.integers(min_value=0, max_value=255)

operations: st.SearchStrategy[Operation] = st.one_of(
    st.builds(Payment, keys32, codes, amounts),
    st.builds(
        CreateCurrency,
        codes,
        st.sampled_from(CurrencyKind),
        small,
        st.lists(keys32, max_size=20).map(tuple),
        small,
        amounts,
        amounts,
        st.integers(min_value=0, max_value=1_000_000),
        st.none() | rules,
        st.none() | terms,
    ),
    st.builds(AdmitMember, codes, keys32, st.none() | amounts),
    st.builds(SetCreditLimit, codes, keys32, amounts),
    st.builds(Mint, codes, keys32, amounts),
    st.builds(Redeem, codes, amounts),
    st.builds(SetSigners, st.lists(st.tuples(keys32, small), max_size=20).map(tuple), small),
    governance_operations,
    design_operations,
)


@st.composite
def transactions(draw: st.DrawFn) -> Transaction:
    signers = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=4, unique_by=lambda k: k.public_key))
    body = TransactionBody(
        source=signers[0].public_key,
        seq=draw(st.integers(min_value=1, max_value=INT64_MAX)),
        last_valid_ledger=draw(st.integers(min_value=0, max_value=codec.UINT32_MAX)),
        memo=draw(st.binary(max_size=MAX_MEMO_BYTES)),
        operations=tuple(draw(st.lists(operations, min_size=1, max_size=4))),
    )
    return build_transaction(NETWORK, body, signers)


hashes = st.binary(min_size=HASH_SIZE, max_size=HASH_SIZE)
headers = st.builds(
    LedgerHeader,
    st.integers(min_value=1, max_value=CURRENT_PROTOCOL_VERSION),
    st.integers(min_value=1, max_value=codec.UINT32_MAX),
    hashes,
    st.integers(min_value=0, max_value=INT64_MAX),
    hashes,
    hashes,
    hashes,
    st.builds(LedgerParams, st.integers(min_value=1, max_value=100_000)),
)
close_values = st.builds(
    CloseValue,
    hashes,
    st.integers(min_value=0, max_value=INT64_MAX),
    st.tuples(
        st.none() | st.integers(min_value=1, max_value=100_000),
        st.none() | st.integers(min_value=1, max_value=CURRENT_PROTOCOL_VERSION),
    ).map(
        lambda pair: tuple(
            (name, value)
            for name, value in (("max_tx_set_size", pair[0]), ("protocol_version", pair[1]))
            if value is not None
        )
    ),
)
results = st.builds(TxResult, hashes, st.sampled_from(ResultCode), st.integers(min_value=-1, max_value=99))
entries: st.SearchStrategy[Entry] = st.one_of(
    st.builds(Account, keys32, amounts, small, st.lists(st.tuples(keys32, small), max_size=20).map(tuple)),
    st.builds(
        Currency,
        codes,
        st.sampled_from(CurrencyKind),
        small,
        keys32,
        st.lists(keys32, max_size=20).map(tuple),
        small,
        amounts,
        amounts,
        amounts,
        amounts,
        amounts,
        extensions,
    ),
    st.builds(
        Holding,
        keys32,
        codes,
        st.integers(min_value=-INT64_MAX, max_value=INT64_MAX),
        amounts,
        st.sampled_from(Role),
        st.sampled_from([0, 0, 1, INT64_MAX]),
        st.sampled_from([0, 0, 1, INT64_MAX]),
    ),
    governance_entries,
    design_entries,
)

# msgpack-able trees (the only shapes the codec produces), to get past the msgpack layer and into
# the typed decoders.
leaves = st.one_of(
    st.integers(min_value=-(1 << 63), max_value=(1 << 64) - 1),
    st.binary(max_size=40),
    st.text(max_size=14),
    st.booleans(),
    st.none(),
    small,
)
trees = st.recursive(leaves, lambda inner: st.lists(inner, max_size=12).map(tuple), max_leaves=40)

# ---------------------------------------------------------------------------------------------
# every decoder, as bytes -> something


def _op_from_bytes(data: bytes) -> Operation:
    return decode_operation(codec.unpack(data, max_size=4096))


def _result_from_bytes(data: bytes) -> TxResult:
    return decode_result(codec.unpack(data, max_size=4096))


def _entry_decoders() -> dict[str, Callable[[bytes], object]]:
    key = KEYS[0].public_key
    return {
        "account entry": lambda b: decode_entry(b"a" + key, b),
        "currency entry": lambda b: decode_entry(b"cLETS", b),
        "holding entry": lambda b: decode_entry(b"h" + key + b"LETS", b),
        "proposal entry": lambda b: decode_entry(b"pLETS" + bytes(4), b),
        "vote entry": lambda b: decode_entry(b"vLETS" + bytes(4) + key, b),
        "candidacy entry": lambda b: decode_entry(b"k" + key + b"LETS", b),
        "deadline index": lambda b: decode_entry(b"q", b),
        "deadline bucket": lambda b: decode_entry(b"d" + bytes(8), b),
        "accreditation entry": lambda b: decode_entry(b"oLETS" + key, b),
        "business entry": lambda b: decode_entry(b"bLETS" + key, b),
        "agreement entry": lambda b: decode_entry(b"x\x04HOURLETS", b),
        "guardianship entry": lambda b: decode_entry(b"g" + key, b),
        "unknown entry": lambda b: decode_entry(b"z", b),
        "accumulator": StateAccumulator.from_bytes,
    }


DECODERS: dict[str, Callable[[bytes], object]] = {
    "unpack": lambda b: codec.unpack(b, max_size=1 << 16),
    "transaction": lambda b: decode_transaction(b, NETWORK),
    "operation": _op_from_bytes,
    "header": decode_header,
    "tx set": lambda b: decode_tx_set(b, NETWORK),
    "close value": decode_close_value,
    "results": decode_results,
    "result": _result_from_bytes,
    **_entry_decoders(),
}


def _only_decode_errors(decoder: Callable[[bytes], object], data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decoder(data)


@pytest.mark.parametrize("name", DECODERS)
@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes_raise_only_decode_error(name: str, data: bytes) -> None:
    _only_decode_errors(DECODERS[name], data)


@pytest.mark.parametrize("name", DECODERS)
@FUZZ
@given(tree=trees)
def test_random_msgpack_trees_raise_only_decode_error(name: str, tree: Any) -> None:
    _only_decode_errors(DECODERS[name], codec.pack(tree))


@FEW
@given(
    tx=transactions(),
    flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=3),
)
def test_corrupted_valid_encodings_raise_only_decode_error(
    tx: Transaction, flips: list[tuple[int, int]]
) -> None:
    for name, (data, decoder) in _valid_encodings(tx).items():
        corrupted = bytearray(data)
        for position, byte in flips:
            corrupted[position % len(corrupted)] = byte
        _only_decode_errors(decoder, bytes(corrupted))
        _only_decode_errors(DECODERS["unpack"], bytes(corrupted))
        assert name


@pytest.mark.parametrize(
    "key", [b"c\xff\xfe", b"h" + bytes(32) + b"\xff", b"cL\x00", b"cl", b"a" + bytes(31)]
)
def test_entry_with_a_bad_key_is_a_decode_error(key: bytes) -> None:
    currency = Currency("LETS", CurrencyKind.MUTUAL, 0, bytes(32), (bytes(32),), 1, 0, 0, 0, 0, 0)
    holding = Holding(bytes(32), "LETS", 0, 0, Role.MEMBER)
    for raw in (encode_entry(currency), encode_entry(holding)):
        with pytest.raises(DecodeError):
            decode_entry(key, raw)


# ---------------------------------------------------------------------------------------------
# codec.unpack: only arrays of plain scalars, canonical, complete


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty map", b"\x80"),
        ("map in array", b"\x92\x01\x80"),
        ("float64", b"\xcb" + struct.pack(">d", 1.5)),
        ("float32", b"\xca" + struct.pack(">f", 1.5)),
        ("empty ext", b"\xc7\x00\x05"),
        ("fixext", b"\xd4\x05\x00"),
        ("timestamp", b"\xd6\xff\x00\x00\x00\x01"),
        ("str as bytes (str8 of 3)", b"\xd9\x03abc"),
        ("wide int", b"\xcc\x01"),
        ("wide array", b"\xdc\x00\x01\x01"),
        ("wide bin", b"\xc5\x00\x01a"),
        ("trailing byte", b"\x01\x00"),
        ("truncated", b"\x92\x01"),
        ("nothing", b""),
        ("deep nesting", b"\x91" * 5000 + b"\x00"),
        ("nesting just under msgpack's limit", b"\x91" * 1000 + b"\x80"),
        ("invalid utf-8", b"\xa2\xff\xfe"),
        ("reserved byte", b"\xc1"),
    ],
)
def test_unpack_rejects(name: str, data: bytes) -> None:
    with pytest.raises(DecodeError):
        codec.unpack(data, max_size=1 << 16)


@pytest.mark.parametrize("depth", [100, 990, 1000, 1023, 1024, 1025, 3000])
def test_deep_nesting_never_raises_anything_but_decode_error(depth: int) -> None:
    # Regression: nesting between Python's recursion limit and msgpack's raised RecursionError.
    with contextlib.suppress(DecodeError):
        codec.unpack(b"\x91" * depth + b"\x00", max_size=1 << 16)
    for decoder in DECODERS.values():
        with contextlib.suppress(DecodeError):
            decoder(b"\x91" * depth + b"\x00")


def test_unpack_bounds_sizes_before_allocating() -> None:
    with pytest.raises(DecodeError, match="over the limit"):
        codec.unpack(b"\x00" * 11, max_size=10)
    with pytest.raises(DecodeError):  # a 4 GiB bin header in 5 bytes
        codec.unpack(b"\xc6\xff\xff\xff\xff", max_size=100)
    with pytest.raises(DecodeError):
        codec.unpack(b"\xdd\xff\xff\xff\xff", max_size=100)
    with pytest.raises(DecodeError):
        codec.unpack(bytearray(b"\x01"), max_size=100)  # type: ignore[arg-type]


@FUZZ
@given(tree=trees)
def test_unpack_round_trips_every_plain_tree(tree: Any) -> None:
    data = codec.pack(tree)
    assert codec.pack(codec.unpack(data, max_size=1 << 16)) == data


def test_typed_field_helpers_refuse_look_alikes() -> None:
    with pytest.raises(DecodeError):
        codec.integer(True, "flag")
    with pytest.raises(DecodeError):
        codec.integer(-1, "count")
    with pytest.raises(DecodeError):
        codec.boolean(1, "flag")
    with pytest.raises(DecodeError):
        codec.blob("text", "blob")
    with pytest.raises(DecodeError):
        codec.text(b"bytes", "text", max_len=10)
    with pytest.raises(DecodeError):
        codec.tag(True, 1, "version")


# ---------------------------------------------------------------------------------------------
# round trips of valid encodings


@FEW
@given(tx=transactions())
def test_transaction_round_trip(tx: Transaction) -> None:
    data = tx.encode()
    decoded = decode_transaction(data, NETWORK)
    assert decoded == tx
    assert decoded.encode() == data
    assert decoded.signers() == frozenset(k for k, _ in tx.signatures)


@FUZZ
@given(op=operations)
def test_operation_round_trip(op: Operation) -> None:
    data = codec.pack(encode_operation(op))
    assert decode_operation(codec.unpack(data, max_size=4096)) == op


@FUZZ
@given(header=headers)
def test_header_round_trip(header: LedgerHeader) -> None:
    assert decode_header(header.encode()) == header
    assert decode_header(header.encode()).encode() == header.encode()


@FUZZ
@given(value=close_values)
def test_close_value_round_trip(value: CloseValue) -> None:
    assert decode_close_value(value.encode()) == value


@FUZZ
@given(items=st.lists(results, max_size=20))
def test_results_round_trip(items: list[TxResult]) -> None:
    data = encode_results(items)
    assert decode_results(data) == tuple(items)
    assert encode_results(decode_results(data)) == data


@FUZZ
@given(entry=entries)
def test_entry_round_trip(entry: Entry) -> None:
    raw = encode_entry(entry)
    assert decode_entry(entry.key, raw) == entry
    assert encode_entry(decode_entry(entry.key, raw)) == raw


@FEW
@given(txs=st.lists(transactions(), max_size=5), previous=hashes)
def test_tx_set_round_trip(txs: list[Transaction], previous: bytes) -> None:
    tx_set = make_tx_set(previous, txs)
    data = tx_set.encode()
    decoded = decode_tx_set(data, NETWORK)
    assert decoded == tx_set
    assert decoded.encode() == data
    assert decoded.hash == tx_set.hash


# ---------------------------------------------------------------------------------------------
# mutated valid encodings


def _wide(obj: Any, target: int, counter: list[int]) -> bytes:
    """msgpack of ``obj`` where the ``target``-th node (pre-order) uses a wider header than
    needed; every other node is canonical."""
    index = counter[0]
    counter[0] += 1
    widen = index == target
    if type(obj) is tuple:
        head = struct.pack(">BH", 0xDC, len(obj)) if widen or len(obj) >= 16 else bytes([0x90 | len(obj)])
        if len(obj) >= 1 << 16:
            raise AssertionError("not needed here")
        return head + b"".join(_wide(item, target, counter) for item in obj)
    if type(obj) is int and widen:
        if obj >= 0:
            return b"\xcf" + struct.pack(">Q", obj)
        return b"\xd3" + struct.pack(">q", obj)
    if type(obj) is bytes and widen:
        return b"\xc6" + struct.pack(">I", len(obj)) + obj
    if type(obj) is str and widen:
        raw = obj.encode()
        return b"\xdb" + struct.pack(">I", len(raw)) + raw
    return codec.pack(obj)


def _nodes(obj: Any) -> int:
    return 1 + (sum(_nodes(item) for item in obj) if type(obj) is tuple else 0)


def _widened_variants(data: bytes) -> list[bytes]:
    obj = msgpack.unpackb(data, use_list=False)
    assert _wide(obj, -1, [0]) == data  # the helper's canonical output is msgpack's
    variants = [_wide(obj, target, [0]) for target in range(_nodes(obj))]
    return [v for v in variants if v != data]


def _valid_encodings(tx: Transaction) -> dict[str, tuple[bytes, Callable[[bytes], object]]]:
    header = genesis_header(NETWORK)
    return {
        "transaction": (tx.encode(), lambda b: decode_transaction(b, NETWORK)),
        "header": (header.encode(), decode_header),
        "tx set": (make_tx_set(header.hash, [tx]).encode(), lambda b: decode_tx_set(b, NETWORK)),
        "close value": (CloseValue(bytes(32), 5, (("max_tx_set_size", 7),)).encode(), decode_close_value),
        "results": (encode_results([TxResult(tx.hash, ResultCode.OK, -1)]), decode_results),
        "account entry": (
            encode_entry(Account(bytes(32), 3, 1, ((bytes(32), 1),))),
            lambda b: decode_entry(b"a" + bytes(32), b),
        ),
        "governed currency entry": (encode_entry(GOVERNED_CURRENCY), lambda b: decode_entry(b"cLETS", b)),
        "suspended holding entry": (
            encode_entry(Holding(bytes(32), "LETS", -5, 10, Role.SUSPENDED, 7, 3)),
            lambda b: decode_entry(b"h" + bytes(32) + b"LETS", b),
        ),
        "proposal entry": (encode_entry(PROPOSAL), lambda b: decode_entry(PROPOSAL.key, b)),
    }


GOVERNED_CURRENCY = Currency(
    "LETS",
    CurrencyKind.MUTUAL,
    2,
    bytes(32),
    (bytes(32),),
    1,
    100,
    0,
    20_000,
    50,
    3,
    CurrencyExtension(GovernanceRules(GovernancePolicy.MEMBERS, 60, 50, 50), 100, 9, 8, 7, 6, 5),
)
PROPOSAL = Proposal(
    "LETS",
    3,
    bytes(32),
    "Fix the hall roof",
    bytes(32),
    (PayFromFund(bytes(32), 500), SetRules(GovernanceRules())),
    GovernancePolicy.MEMBERS,
    10,
    70,
    4,
    2,
    50,
    50,
    1,
    1,
    1,
    ProposalStatus.FAILED,
    ResultCode.FUND_SHORT,
    0,
)


@FEW
@given(tx=transactions(), extra=st.integers(min_value=0, max_value=255))
def test_trailing_byte_is_rejected(tx: Transaction, extra: int) -> None:
    for name, (data, decoder) in _valid_encodings(tx).items():
        decoder(data)
        with pytest.raises(DecodeError):
            decoder(data + bytes([extra]))
        with pytest.raises(DecodeError):
            decoder(data[:-1])
        assert name


@settings(max_examples=10, deadline=None)
@given(tx=transactions())
def test_non_canonical_widths_are_rejected(tx: Transaction) -> None:
    for _name, (data, decoder) in _valid_encodings(tx).items():
        for variant in _widened_variants(data):
            with pytest.raises(DecodeError):
                decoder(variant)
    # inside the signed body too: the envelope is canonical, the body bytes are not
    for body in _widened_variants(tx.body_bytes):
        envelope = codec.pack((ENVELOPE_V1, body, tx.signatures))
        with pytest.raises(DecodeError):
            decode_transaction(envelope, NETWORK)


@FEW
@given(tx=transactions(), junk=leaves)
def test_extra_fields_are_rejected(tx: Transaction, junk: Any) -> None:
    for _name, (data, decoder) in _valid_encodings(tx).items():
        obj = codec.unpack(data, max_size=1 << 20)
        with pytest.raises(DecodeError):
            decoder(codec.pack((*obj, junk)))
        with pytest.raises(DecodeError):
            decoder(codec.pack(obj[:-1]))
    body = codec.unpack(tx.body_bytes, max_size=1 << 16)
    for extended_body in ((*body, junk), (*body[:5], tuple((*op, junk) for op in body[5]))):
        with pytest.raises(DecodeError):
            decode_transaction(codec.pack((ENVELOPE_V1, codec.pack(extended_body), tx.signatures)), NETWORK)


@FEW
@given(tx=transactions(), version=st.integers(min_value=0, max_value=(1 << 64) - 1) | st.booleans())
def test_unknown_versions_are_rejected(tx: Transaction, version: int) -> None:
    assume(not 1 <= version <= CURRENT_PROTOCOL_VERSION or type(version) is bool)  # headers know 1..current
    for _name, (data, decoder) in _valid_encodings(tx).items():
        obj = codec.unpack(data, max_size=1 << 20)
        with pytest.raises(DecodeError):
            decoder(codec.pack((version, *obj[1:])))
    body = codec.unpack(tx.body_bytes, max_size=1 << 16)
    with pytest.raises(DecodeError):
        decode_transaction(
            codec.pack((ENVELOPE_V1, codec.pack((version, *body[1:])), tx.signatures)), NETWORK
        )


@pytest.mark.parametrize("op_code", [20, 21, 127, 255, 1 << 40, -1, True, "0", b"\x00", None])
def test_unknown_operation_codes_are_rejected(op_code: object) -> None:
    with pytest.raises(DecodeError, match="operation"):
        decode_operation((op_code, bytes(32), "LETS", 5))
    body = codec.pack((1, KEYS[0].public_key, 1, 10, b"", ((op_code, bytes(32), "LETS", 5),)))
    envelope = codec.pack((ENVELOPE_V1, body, ((KEYS[0].public_key, bytes(64)),)))
    with pytest.raises(DecodeError):
        decode_transaction(envelope, NETWORK)


def _envelope(source: bytes, seq: int, memo: bytes, ops: tuple[object, ...], sigs: int = 1) -> bytes:
    body = codec.pack((1, source, seq, 10, memo, ops))
    return codec.pack((ENVELOPE_V1, body, tuple((bytes([i]) * 32, bytes(64)) for i in range(sigs))))


PAY = (0, bytes(32), "LETS", 5)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("memo too long", _envelope(bytes(32), 1, bytes(MAX_MEMO_BYTES + 1), (PAY,))),
        ("too many operations", _envelope(bytes(32), 1, b"", (PAY,) * (MAX_OPERATIONS + 1))),
        ("no operations", _envelope(bytes(32), 1, b"", ())),
        ("too many signatures", _envelope(bytes(32), 1, b"", (PAY,), sigs=MAX_SIGNATURES + 1)),
        ("no signatures", _envelope(bytes(32), 1, b"", (PAY,), sigs=0)),
        ("currency code too long", _envelope(bytes(32), 1, b"", ((0, bytes(32), "A" * 13, 5),))),
        ("short key", _envelope(bytes(32), 1, b"", ((0, bytes(31), "LETS", 5),))),
        ("short source", _envelope(bytes(31), 1, b"", (PAY,))),
        ("sequence zero", _envelope(bytes(32), 0, b"", (PAY,))),
        ("negative amount", _envelope(bytes(32), 1, b"", ((0, bytes(32), "LETS", -5),))),
        ("amount over int64", _envelope(bytes(32), 1, b"", ((0, bytes(32), "LETS", 1 << 63),))),
        ("too many stewards", _envelope(bytes(32), 1, b"", ((1, "X", 0, 0, (bytes(32),) * 21, 1, 0, 0, 0),))),
        ("unknown kind", _envelope(bytes(32), 1, b"", ((1, "X", 3, 0, (bytes(32),), 1, 0, 0, 0),))),
        ("too many signers", _envelope(bytes(32), 1, b"", ((6, ((bytes(32), 1),) * 21, 1),))),
        ("bool amount", _envelope(bytes(32), 1, b"", ((0, bytes(32), "LETS", True),))),
        ("huge", b"\xc5\xff\xff" + bytes(65535)),
    ],
)
def test_oversize_and_out_of_range_fields_are_rejected(name: str, data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_transaction(data, NETWORK)


def test_duplicate_signers_are_rejected() -> None:
    tx = make_tx(KEYS[0], 1, [Payment(KEYS[1].public_key, "LETS", 5)])
    doubled = codec.pack((ENVELOPE_V1, tx.body_bytes, tx.signatures * 2))
    with pytest.raises(DecodeError, match="twice"):
        decode_transaction(doubled, NETWORK)


def test_tx_set_bounds_and_order() -> None:
    txs = [make_tx(KEYS[0], seq, [Payment(KEYS[1].public_key, "LETS", 5)]) for seq in (1, 2, 3)]
    tx_set = make_tx_set(bytes(32), txs)
    with pytest.raises(DecodeError, match="tx set"):
        decode_tx_set(tx_set.encode(), NETWORK, max_transactions=2)
    reordered = codec.pack(
        (
            1,
            bytes(32),
            tuple((ENVELOPE_V1, tx.body_bytes, tx.signatures) for tx in reversed(tx_set.transactions)),
        )
    )
    with pytest.raises(DecodeError, match="canonical order"):
        decode_tx_set(reordered, NETWORK)
    repeated = codec.pack(
        (
            1,
            bytes(32),
            tuple((ENVELOPE_V1, tx.body_bytes, tx.signatures) for tx in (tx_set.transactions[0],) * 2),
        )
    )
    with pytest.raises(DecodeError, match="canonical order"):
        decode_tx_set(repeated, NETWORK)


@pytest.mark.parametrize(
    "upgrades",
    [
        (("max_tx_set_size", 0),),
        (("max_tx_set_size", 100_001),),
        (("bogus", 1),),
        (("max_tx_set_size", 5), ("max_tx_set_size", 6)),
    ],
)
def test_close_value_upgrades_are_checked(upgrades: tuple[tuple[str, int], ...]) -> None:
    with pytest.raises(DecodeError, match="upgrade"):
        decode_close_value(CloseValue(bytes(32), 1, upgrades).encode())


def test_unknown_result_code_is_rejected() -> None:
    with pytest.raises(DecodeError, match="unknown result code"):
        decode_result((bytes(32), "no_such_code", -1))
    assert decode_result(encode_result(TxResult(bytes(32), ResultCode.BAD_SEQ))).code is ResultCode.BAD_SEQ


def test_body_encoding_is_what_is_hashed() -> None:
    tx = make_tx(KEYS[0], 1, [Payment(KEYS[1].public_key, "LETS", 5)])
    assert encode_body(tx.body) == tx.body_bytes


@pytest.mark.parametrize(
    ("seq", "amount", "last_valid"),
    [
        (0, 5, 10),
        (1, -5, 10),
        (1, 1 << 64, 10),
        (1 << 63, 5, 10),
        (1, 5, 1 << 32),
        (1, 5, -1),
    ],
)
def test_build_transaction_refuses_what_no_node_could_decode(seq: int, amount: int, last_valid: int) -> None:
    # Regression: build_transaction signed bodies with sequence 0 or a negative amount, which
    # every node then refused to decode.
    with pytest.raises(ValueError, match="could not be decoded"):
        make_tx(KEYS[0], seq, [Payment(KEYS[1].public_key, "LETS", amount)], last_valid_ledger=last_valid)
    with pytest.raises(ValueError, match="memo"):
        make_tx(KEYS[0], 1, [Payment(KEYS[1].public_key, "LETS", 5)], memo=bytes(MAX_MEMO_BYTES + 1))
    with pytest.raises(ValueError, match="operations"):
        make_tx(KEYS[0], 1, [])


def test_extensions_holding_only_defaults_must_use_the_version_1_layout() -> None:
    """One byte form per entry: a plain currency or holding written in the version-2 layout is
    refused, so an old entry can never be re-encoded into a second, different hash."""
    plain_currency = codec.unpack(
        encode_entry(Currency("LETS", CurrencyKind.MUTUAL, 2, bytes(32), (bytes(32),), 1, 1, 0, 0, 0, 0)),
        max_size=4096,
    )
    v2 = (2, *plain_currency[1:], (0, 7 * 24 * 3600, 25, 50, 0, 0), 0, 0, 0, 0, 0, 0)
    with pytest.raises(DecodeError, match="version-1 layout"):
        decode_entry(b"cLETS", codec.pack(v2))
    with pytest.raises(DecodeError, match="version-1 layout"):
        decode_entry(b"h" + bytes(32) + b"LETS", codec.pack((2, 5, 1, 1, 0, 0)))
    holding = decode_entry(b"h" + bytes(32) + b"LETS", codec.pack((1, 5, 1, True)))
    assert isinstance(holding, Holding)
    assert holding.role is Role.MEMBER
