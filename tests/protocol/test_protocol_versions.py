"""Protocol versions: the header carries one, operations count only from the version that
introduced them, validators move it forward (never back) by an upgrade in the agreed value, and
a chain that uses no new operation keeps the state it had under version 1."""

from __future__ import annotations

from dataclasses import replace

import pytest
from governance_support import ALICE, STEWARD, Chain, governed_currency
from protocol_support import NETWORK
from test_protocol_v1_frozen import EXPECTED_STATE_HASH, _ledgers

from protocol import codec
from protocol.errors import DecodeError
from protocol.governance.actions import SetDefaultCreditLimit
from protocol.governance.operations import LeaveCurrency, Propose
from protocol.ledger import (
    CloseValue,
    LedgerHeader,
    LedgerParams,
    close_ledger,
    decode_close_value,
    decode_header,
    genesis_header,
    make_tx_set,
)
from protocol.operations import AdmitMember, CreateCurrency, CurrencyKind, min_protocol
from protocol.results import ResultCode
from protocol.state import MemoryState, StateAccumulator
from protocol.versions import CURRENT_PROTOCOL_VERSION, PROTOCOL_V1, PROTOCOL_V2

R = ResultCode


def test_new_operations_wait_for_the_version_that_introduced_them() -> None:
    chain = Chain(PROTOCOL_V1)
    assert chain.run(STEWARD, [governed_currency("LETS", rules=None)]).ok
    assert chain.run(STEWARD, [AdmitMember("LETS", ALICE.public_key)]).ok
    before = chain.snapshot()
    refused = [
        chain.run(ALICE, [LeaveCurrency("LETS")]),
        chain.run(ALICE, [Propose("LETS", "t", b"", (SetDefaultCreditLimit(1),))]),
        chain.run(STEWARD, [governed_currency("DEMOS")]),  # governance rules at creation
    ]
    assert [r.code for r in refused] == [R.PROTOCOL_TOO_OLD] * 3
    assert chain.snapshot() == before  # not even a sequence number
    rot = CreateCurrency("ROT", CurrencyKind.MUTUAL, 0, (STEWARD.public_key,), 1, 10, 0, 10_000)
    assert chain.run(STEWARD, [rot]).code is R.UNSUPPORTED  # demurrage, as in version 1
    assert min_protocol(rot) == PROTOCOL_V1


def test_an_upgrade_takes_effect_from_the_next_ledger() -> None:
    chain = Chain(PROTOCOL_V1)
    assert chain.run(STEWARD, [governed_currency("LETS", rules=None)]).ok
    leave = chain.tx(ALICE, [LeaveCurrency("LETS")])
    closed = chain.close([leave], upgrades=(("protocol_version", PROTOCOL_V2),))
    assert closed.header.version == PROTOCOL_V2
    assert closed.results[0].code is R.PROTOCOL_TOO_OLD  # applied under the previous ledger's version
    assert chain.run(STEWARD, [governed_currency("DEMOS")]).ok
    # never backwards, never sideways: such upgrades are ignored by every node alike
    for version in (PROTOCOL_V1, PROTOCOL_V2):
        assert chain.close(upgrades=(("protocol_version", version),)).header.version == PROTOCOL_V2


def test_headers_carry_the_version_and_refuse_unknown_ones() -> None:
    header = genesis_header(NETWORK)
    assert header.version == PROTOCOL_V1
    upgraded = LedgerHeader(PROTOCOL_V2, 2, header.hash, 5, bytes(32), bytes(32), bytes(32), LedgerParams())
    assert decode_header(upgraded.encode()) == upgraded
    for version in (0, CURRENT_PROTOCOL_VERSION + 1, True):
        fields = codec.unpack(upgraded.encode(), max_size=1024)
        with pytest.raises(DecodeError, match="protocol version"):
            decode_header(codec.pack((version, *fields[1:])))
    with pytest.raises(DecodeError, match="upgrade"):
        decode_close_value(
            CloseValue(bytes(32), 1, (("protocol_version", CURRENT_PROTOCOL_VERSION + 1),)).encode()
        )


def test_a_chain_without_new_operations_keeps_its_version_1_state_under_version_2() -> None:
    """The frozen version-1 chain, closed from a version-2 header: other header hashes (the
    version is in them) but exactly the same state."""
    state, accumulator = MemoryState(), StateAccumulator()
    previous = replace(genesis_header(NETWORK), version=PROTOCOL_V2)
    for transactions, close_time, upgrades in _ledgers():
        tx_set = make_tx_set(previous.hash, transactions)
        closed = close_ledger(
            state,
            accumulator,
            previous,
            tx_set,
            CloseValue(tx_set.hash, close_time, upgrades),
            lambda tx: tx.signers(),
        )
        state.apply(closed.changes)
        accumulator, previous = closed.accumulator, closed.header
    assert previous.state_hash.hex() == EXPECTED_STATE_HASH
    assert previous.version == PROTOCOL_V2
