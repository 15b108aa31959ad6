"""State hash, overlays, tx sets and ledger close: deterministic, order-independent where it must
be, canonical where it must be."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from protocol_support import KEYS, NETWORK, OTHER_NETWORK, admit, make_tx, mutual_currency

from protocol.errors import DecodeError
from protocol.ledger import (
    CloseValue,
    LedgerError,
    LedgerHeader,
    TxSet,
    close_ledger,
    decode_tx_set,
    genesis_header,
    make_tx_set,
)
from protocol.operations import CurrencyKind, Payment
from protocol.results import ResultCode
from protocol.state import (
    Account,
    Change,
    Holding,
    MemoryState,
    Role,
    StateAccumulator,
    StateOverlay,
    encode_entry,
)
from protocol.transactions import Transaction

STEWARD, ALICE, BOB, CAROL = KEYS[:4]


def _signers(tx: Transaction) -> frozenset[bytes] | None:
    return tx.signers()


# ---------------------------------------------------------------------------------------------
# state hash


def _holding_changes(values: list[tuple[int, int]]) -> list[Change]:
    changes = []
    for index, (balance, limit) in enumerate(values):
        holding = Holding(bytes([index % 7]) * 32, f"C{index}", balance, limit, Role.MEMBER)
        changes.append(Change(holding.key, None, encode_entry(holding), holding))
    return changes


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.tuples(st.integers(-1000, 1000), st.integers(0, 1000)), min_size=1, max_size=30),
    seed=st.integers(0, 1 << 32),
)
def test_state_hash_ignores_the_order_of_changes(values: list[tuple[int, int]], seed: int) -> None:
    changes = _holding_changes(values)
    shuffled = changes[:]
    random.Random(seed).shuffle(shuffled)
    assert StateAccumulator().updated(changes).digest() == StateAccumulator().updated(shuffled).digest()
    # applied one at a time, in any order, also the same
    one_by_one = StateAccumulator()
    for change in shuffled:
        one_by_one = one_by_one.updated([change])
    assert one_by_one.digest() == StateAccumulator().updated(changes).digest()


@settings(max_examples=60, deadline=None)
@given(
    first=st.lists(st.tuples(st.integers(-50, 50), st.integers(0, 9)), min_size=1, max_size=12),
    second=st.lists(st.tuples(st.integers(-50, 50), st.integers(0, 9)), min_size=1, max_size=12),
)
def test_incremental_state_hash_equals_from_scratch(
    first: list[tuple[int, int]], second: list[tuple[int, int]]
) -> None:
    state = MemoryState()
    accumulator = StateAccumulator()
    for values in (first, second):
        new = _holding_changes(values)
        # a key seen twice in one batch: keep the last value, against the committed old one
        last = {c.key: c for c in new}
        updates = [
            Change(k, state.get_raw(k), c.new, c.entry) for k, c in last.items() if state.get_raw(k) != c.new
        ]
        state.apply(updates)
        accumulator = accumulator.updated(updates)
    scratch = StateAccumulator().updated(
        Change(k, None, raw, Account(bytes(32), 0, 1, ())) for k, raw in state.entries.items()
    )
    assert scratch.digest() == accumulator.digest()
    assert StateAccumulator.from_bytes(accumulator.to_bytes()).digest() == accumulator.digest()


def test_state_hash_tells_states_apart() -> None:
    a = _holding_changes([(1, 0)])
    b = _holding_changes([(2, 0)])
    assert StateAccumulator().updated(a).digest() != StateAccumulator().updated(b).digest()
    assert StateAccumulator().updated(a).digest() != StateAccumulator().digest()
    # removing what was added gets back to the empty state
    entry = a[0]
    undo = StateAccumulator().updated(a)
    undo = StateAccumulator(undo.value - StateAccumulator().updated(a).value)
    assert undo.digest() == StateAccumulator().digest()
    assert entry.key


def test_accumulator_from_bytes_checks_size() -> None:
    with pytest.raises(DecodeError):
        StateAccumulator.from_bytes(bytes(63))


# ---------------------------------------------------------------------------------------------
# overlays


def test_nested_overlay_commits_or_discards() -> None:
    base = MemoryState()
    root = StateOverlay(base)
    child = root.nested()
    child.put(Account(ALICE.public_key, 5, 1, ((ALICE.public_key, 1),)))
    assert root.account(ALICE.public_key).seq == 0
    assert child.account(ALICE.public_key).seq == 5
    dropped = root.nested()
    dropped.put(Account(BOB.public_key, 9, 1, ((BOB.public_key, 1),)))
    child.commit()
    assert root.account(ALICE.public_key).seq == 5
    assert root.account(BOB.public_key).seq == 0
    changes = root.changes()
    assert [c.key for c in changes] == [b"a" + ALICE.public_key]
    assert changes[0].old is None
    with pytest.raises(RuntimeError):
        root.commit()
    with pytest.raises(RuntimeError):
        child.changes()


def test_unchanged_entries_are_not_reported() -> None:
    base = MemoryState()
    account = Account(ALICE.public_key, 5, 1, ((ALICE.public_key, 1),))
    base.entries[account.key] = encode_entry(account)
    overlay = StateOverlay(base)
    overlay.put(Account(ALICE.public_key, 5, 1, ((ALICE.public_key, 1),)))
    assert overlay.changes() == []


# ---------------------------------------------------------------------------------------------
# tx sets


def _payments(count: int) -> list[Transaction]:
    txs = []
    for seq in range(1, count + 1):
        for payer, payee in ((ALICE, BOB), (BOB, CAROL), (CAROL, ALICE)):
            txs.append(make_tx(payer, seq, [Payment(payee.public_key, "LETS", seq)]))
    return txs


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 1 << 32))
def test_tx_set_order_and_hash_do_not_depend_on_input_order(seed: int) -> None:
    txs = _payments(3)
    shuffled = txs[:]
    random.Random(seed).shuffle(shuffled)
    a, b = make_tx_set(bytes(32), txs), make_tx_set(bytes(32), shuffled + shuffled[:2])  # duplicates dropped
    assert a == b
    assert a.hash == b.hash
    assert [tx.hash for tx in a.transactions] == sorted(tx.hash for tx in txs)
    assert decode_tx_set(a.encode(), NETWORK).hash == a.hash


def test_tx_set_hash_covers_previous_ledger_and_contents() -> None:
    txs = _payments(2)
    base = make_tx_set(bytes(32), txs)
    assert make_tx_set(bytes([1]) * 32, txs).hash != base.hash
    assert make_tx_set(bytes(32), txs[:-1]).hash != base.hash
    assert TxSet(bytes(32), ()).hash != base.hash


def test_apply_order_keeps_each_accounts_sequence() -> None:
    txs = _payments(4)
    for previous in (bytes(32), bytes([7]) * 32, bytes([9]) * 32):
        order = make_tx_set(previous, txs).apply_order()
        for account in (ALICE, BOB, CAROL):
            seqs = [tx.body.seq for tx in order if tx.body.source == account.public_key]
            assert seqs == [1, 2, 3, 4]
    # the order of accounts depends on the previous ledger (nobody is always first)
    firsts = {make_tx_set(bytes([i]) * 32, txs).apply_order()[0].body.source for i in range(16)}
    assert len(firsts) > 1


# ---------------------------------------------------------------------------------------------
# ledger close


def _genesis_state() -> tuple[MemoryState, StateAccumulator, LedgerHeader]:
    """Ledger 2 holds a currency LETS with members ALICE, BOB and CAROL."""
    state = MemoryState()
    genesis = genesis_header(NETWORK)
    setup = make_tx_set(
        genesis.hash,
        [
            make_tx(
                STEWARD,
                1,
                [
                    mutual_currency("LETS", [STEWARD], kind=CurrencyKind.MUTUAL, limit=100),
                    *admit("LETS", ALICE, BOB, CAROL),
                ],
            ),
        ],
    )
    closed = close_ledger(state, StateAccumulator(), genesis, setup, CloseValue(setup.hash, 1000), _signers)
    assert [r.code for r in closed.results] == [ResultCode.OK]
    state.apply(closed.changes)
    return state, closed.accumulator, closed.header


def _copy(state: MemoryState) -> MemoryState:
    copy = MemoryState()
    copy.entries = dict(state.entries)
    return copy


def test_two_independent_closes_give_the_same_header() -> None:
    state, accumulator, previous = _genesis_state()
    txs = [*_payments(3), make_tx(ALICE, 9, [Payment(BOB.public_key, "LETS", 1)])]  # one bad_seq
    tx_set = make_tx_set(previous.hash, txs)
    value = CloseValue(tx_set.hash, 2000)
    # node 1: the tx set as built; node 2: the tx set as received over the wire, in another
    # input order, on its own copy of the state, with signatures checked again
    one = close_ledger(_copy(state), accumulator, previous, tx_set, value, _signers)
    received = decode_tx_set(make_tx_set(previous.hash, list(reversed(txs))).encode(), NETWORK)
    two = close_ledger(_copy(state), accumulator, previous, received, value, lambda tx: tx.signers())
    assert one.header == two.header
    assert one.header.hash == two.header.hash
    assert one.results == two.results
    assert one.changes == two.changes
    codes = sorted(r.code.value for r in one.results)
    assert codes.count("ok") == 9
    assert codes.count("bad_seq") == 1
    assert one.header.seq == previous.seq + 1
    assert one.header.previous_hash == previous.hash
    # and the state hash in the header is the from-scratch hash of the resulting state
    after = _copy(state)
    after.apply(one.changes)
    scratch = StateAccumulator().updated(
        Change(k, None, raw, Account(bytes(32), 0, 1, ())) for k, raw in after.entries.items()
    )
    assert scratch.digest() == one.header.state_hash


def test_close_time_and_contents_change_the_header() -> None:
    state, accumulator, previous = _genesis_state()
    tx_set = make_tx_set(previous.hash, _payments(1))
    a = close_ledger(_copy(state), accumulator, previous, tx_set, CloseValue(tx_set.hash, 2000), _signers)
    b = close_ledger(_copy(state), accumulator, previous, tx_set, CloseValue(tx_set.hash, 2001), _signers)
    assert a.header.hash != b.header.hash
    assert a.header.state_hash == b.header.state_hash


def test_close_refuses_a_mismatched_tx_set_or_value() -> None:
    state, accumulator, previous = _genesis_state()
    tx_set = make_tx_set(previous.hash, _payments(1))
    with pytest.raises(LedgerError, match="previous"):
        close_ledger(
            state, accumulator, previous, make_tx_set(bytes(32), []), CloseValue(bytes(32), 1), _signers
        )
    with pytest.raises(LedgerError, match="agreed value"):
        close_ledger(state, accumulator, previous, tx_set, CloseValue(bytes(32), 1), _signers)


def test_upgrades_change_the_params() -> None:
    state, accumulator, previous = _genesis_state()
    tx_set = make_tx_set(previous.hash, [])
    closed = close_ledger(
        state, accumulator, previous, tx_set, CloseValue(tx_set.hash, 5, (("max_tx_set_size", 50),)), _signers
    )
    assert closed.header.params.max_tx_set_size == 50
    assert closed.header.state_hash == previous.state_hash  # an empty ledger changes no state


def test_genesis_is_per_network() -> None:
    assert genesis_header(NETWORK).hash != genesis_header(OTHER_NETWORK).hash
    assert genesis_header(NETWORK) == genesis_header(NETWORK)
    assert genesis_header(NETWORK).previous_hash == NETWORK


def test_hash_roles_are_domain_separated() -> None:
    from protocol.hashing import (
        PERSON_HEADER,
        PERSON_RESULTS,
        PERSON_SCP,
        PERSON_TX,
        PERSON_TX_SET,
        PERSON_VALUE,
        blake2b256,
        scp_signing_payload,
    )

    data = b"the same bytes"
    people = [PERSON_TX, PERSON_TX_SET, PERSON_HEADER, PERSON_RESULTS, PERSON_VALUE, PERSON_SCP, b""]
    assert len({blake2b256(data, person) for person in people}) == len(people)
    assert scp_signing_payload(NETWORK, data) != scp_signing_payload(OTHER_NETWORK, data)
