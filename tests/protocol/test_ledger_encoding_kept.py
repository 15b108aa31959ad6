"""Objects that own bytes keep them: a tx set, a ledger header and a close value are packed and
hashed once, however often they are asked (a 6 MiB tx set was packed again on every access), and
a decoded one keeps the very bytes it came from. The kept bytes never take part in equality."""

from __future__ import annotations

from dataclasses import replace

import pytest
from protocol_support import KEYS, NETWORK, make_tx

from protocol import codec
from protocol.ledger import (
    CloseValue,
    LedgerParams,
    TxSet,
    decode_close_value,
    decode_header,
    decode_tx_set,
    genesis_header,
    make_tx_set,
)
from protocol.operations import Payment


def _tx_set() -> TxSet:
    txs = [make_tx(KEYS[i], 1, [Payment(KEYS[i + 1].public_key, "LETS", 5)]) for i in range(3)]
    return make_tx_set(b"\x01" * 32, txs)


def _count_packs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    real = codec.pack

    def counting(obj: object) -> bytes:
        calls[0] += 1
        return real(obj)

    monkeypatch.setattr(codec, "pack", counting)
    return calls


def test_a_tx_set_is_packed_and_hashed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    tx_set = _tx_set()
    calls = _count_packs(monkeypatch)
    first, digest = tx_set.encode(), tx_set.hash
    for _ in range(5):
        assert tx_set.encode() is first
        assert tx_set.hash is digest
    assert calls[0] == 1


def test_decoded_objects_keep_the_bytes_they_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    tx_set = _tx_set()
    header = genesis_header(NETWORK)
    value = CloseValue(tx_set.hash, 1234, (("max_tx_set_size", 500),))
    raw_set, raw_header, raw_value = tx_set.encode(), header.encode(), value.encode()
    decoded_set = decode_tx_set(raw_set, NETWORK)
    decoded_header = decode_header(raw_header)
    decoded_value = decode_close_value(raw_value)
    calls = _count_packs(monkeypatch)
    assert decoded_set.encode() is raw_set
    assert decoded_header.encode() is raw_header
    assert decoded_value.encode() is raw_value
    assert calls[0] == 0
    assert (decoded_set.hash, decoded_header.hash, decoded_value.hash) == (
        tx_set.hash,
        header.hash,
        value.hash,
    )


def test_kept_bytes_take_no_part_in_equality_or_copies() -> None:
    header = genesis_header(NETWORK)
    assert header.hash  # computed and kept on this one only
    fresh = genesis_header(NETWORK)
    assert header == fresh
    assert hash(header) == hash(fresh)
    changed = replace(header, params=LedgerParams(max_tx_set_size=7))
    assert changed.encode() != header.encode()
    assert changed.hash != header.hash
    assert decode_header(changed.encode()) == changed
