"""Property tests: random sequences of valid and invalid transactions (every operation, every
currency kind, multisig, wrong sequence numbers, expired windows, missing or broken signatures)
keep every ledger invariant after every transaction."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from protocol_support import (
    KEYS,
    NETWORK,
    Ledger,
    admit,
    check_invariants,
    issued_currency,
    make_tx,
    mutual_currency,
)

from protocol.codec import INT64_MAX
from protocol.keys import Keypair
from protocol.ledger import CloseValue, LedgerHeader, LedgerParams, close_ledger, decode_tx_set, make_tx_set
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
)
from protocol.results import ResultCode
from protocol.state import Account, Holding, MemoryState, StateOverlay, account_key, decode_entry
from protocol.transactions import Transaction

R = ResultCode
CAST = KEYS[:7]  # few enough that keys collide: same payer twice, a steward paying, …
STEWARD_A, STEWARD_B = KEYS[7], KEYS[8]
ISSUER = KEYS[9]
CODES = ["LETS", "HOURS", "EURO", "BIG", "NEW1", "NEW2"]
TX_LEVEL = {R.MALFORMED, R.TOO_LATE, R.BAD_SEQ, R.BAD_AUTH}
LEDGER_SEQ = 10

amounts = st.one_of(
    st.integers(min_value=1, max_value=3000),
    st.integers(min_value=1, max_value=20),
    st.just(0),
    st.sampled_from([INT64_MAX, INT64_MAX - 1, 1 << 62, (1 << 62) + 1]),
    st.integers(min_value=0, max_value=INT64_MAX),
)
limits = st.one_of(st.integers(min_value=0, max_value=5000), st.sampled_from([INT64_MAX, 1 << 62]))
members = st.sampled_from(CAST[:4] * 3 + CAST[4:] + [ISSUER, STEWARD_A])
codes = st.sampled_from([*CODES[:4] * 6, *CODES[4:] * 2, "bad code", ""])


def _community() -> Ledger:
    """LETS (mutual, two stewards, 2-of-2), HOURS (time, 1-of-2), EURO (issued by ISSUER), BIG
    (mutual, credit limits at the int64 maximum); CAST[0..3] are members of LETS, HOURS and BIG;
    CAST[0] and CAST[1] hold EURO."""
    ledger = Ledger(LEDGER_SEQ)
    stewards = [STEWARD_A, STEWARD_B]
    assert ledger.run(
        ISSUER,
        [
            mutual_currency("LETS", stewards, threshold=2, limit=1000),
            mutual_currency("HOURS", stewards, kind=CurrencyKind.TIME, limit=500),
            issued_currency("EURO", [STEWARD_A], max_balance=1_000_000),
            mutual_currency("BIG", [STEWARD_A], limit=INT64_MAX),
        ],
    ).ok
    assert ledger.run(
        STEWARD_A,
        [*admit("LETS", *CAST[:4]), *admit("HOURS", *CAST[:4]), *admit("BIG", *CAST[:4])],
        signers=stewards,
    ).ok
    assert ledger.run(
        ISSUER, [Mint("EURO", CAST[0].public_key, 5000), Mint("EURO", CAST[1].public_key, 700)]
    ).ok
    return ledger


@st.composite
def operations(draw: st.DrawFn) -> Operation:
    kind = draw(
        st.sampled_from(["pay", "pay", "pay", "pay", "create", "admit", "limit", "mint", "redeem", "signers"])
    )
    code = draw(codes)
    if kind == "pay":
        return Payment(draw(members).public_key, code, draw(amounts))
    if kind == "create":
        currency_kind = draw(st.sampled_from(CurrencyKind))
        stewards = draw(
            st.lists(st.sampled_from(KEYS), min_size=1, max_size=3, unique_by=lambda k: k.public_key)
        )
        if draw(st.integers(min_value=0, max_value=9)) == 0:
            stewards = []  # malformed
        decimals = draw(st.sampled_from([0, 2, 2, 2, 9]))
        limit = 0 if currency_kind is CurrencyKind.ISSUED and draw(st.booleans()) else draw(limits)
        return CreateCurrency(
            code,
            currency_kind,
            decimals,
            tuple(k.public_key for k in stewards),
            draw(st.sampled_from([1, 1, 1, 2, 3, 0])),
            limit,
            draw(st.sampled_from([0, 0, 2000, INT64_MAX])),
            draw(st.sampled_from([0, 0, 10])),
        )
    if kind == "admit":
        return AdmitMember(code, draw(members).public_key, draw(st.none() | limits))
    if kind == "limit":
        return SetCreditLimit(code, draw(members).public_key, draw(limits))
    if kind == "mint":
        return Mint(code, draw(members).public_key, draw(amounts))
    if kind == "redeem":
        return Redeem(code, draw(amounts))
    signers = draw(
        st.lists(
            st.tuples(
                st.sampled_from(KEYS).map(lambda k: k.public_key), st.integers(min_value=0, max_value=3)
            ),
            min_size=0,
            max_size=3,
        )
    )
    return SetSigners(tuple(signers), draw(st.integers(min_value=0, max_value=5)))


@dataclass
class Step:
    source: Keypair
    ops: list[Operation]
    seq_offset: int
    signers: list[Keypair]
    expired: bool
    broken_signature: bool


@st.composite
def steps(draw: st.DrawFn) -> Step:
    source = draw(st.sampled_from(CAST[:4] * 3 + CAST[4:] + [ISSUER, STEWARD_A]))
    count = draw(st.sampled_from([1] * 8 + [2, 3]))
    ops = [draw(operations()) for _ in range(count)]
    seq_offset = draw(st.sampled_from([1] * 12 + [0, 2, -1]))
    extra = draw(st.lists(st.sampled_from(KEYS), max_size=3))
    own = draw(st.sampled_from([True] * 6 + [False]))
    signers = list({k.public_key: k for k in ([source] if own else []) + extra}.values()) or [KEYS[11]]
    return Step(
        source,
        ops,
        seq_offset,
        signers,
        draw(st.sampled_from([False] * 15 + [True])),
        draw(st.sampled_from([False] * 20 + [True])),
    )


def _build(ledger: Ledger, step: Step) -> Transaction:
    seq = max(1, ledger.seq_of(step.source) + step.seq_offset)  # sequence 0 cannot even be encoded
    tx = make_tx(
        step.source,
        seq,
        step.ops,
        signers=step.signers,
        last_valid_ledger=LEDGER_SEQ - 1 if step.expired else LEDGER_SEQ + 5,
    )
    if step.broken_signature:
        (key, signature), *rest = tx.signatures
        tx = Transaction(
            tx.body, tx.body_bytes, tx.hash, ((key, bytes([signature[0] ^ 1]) + signature[1:]), *rest)
        )
    return tx


def _signed_weight(account: Account, tx: Transaction) -> int:
    valid = tx.signers()
    if valid is None:
        return -1
    return sum(weight for key, weight in account.signers if key in valid)


def _holdings(entries: dict[bytes, bytes]) -> dict[bytes, Holding]:
    return {
        key: entry for key, raw in entries.items() if isinstance(entry := decode_entry(key, raw), Holding)
    }


def _check_step(ledger: Ledger, step: Step) -> None:
    before = ledger.snapshot()
    account_before = StateOverlay(ledger.state).account(step.source.public_key)
    tx = _build(ledger, step)
    result = ledger.submit(tx)
    after = ledger.snapshot()
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    source_key = account_key(step.source.public_key)
    weight = _signed_weight(account_before, tx)
    account_after = StateOverlay(ledger.state).account(step.source.public_key)

    # sequence numbers and what a failure may change
    if result.code in TX_LEVEL:
        assert changed == set(), f"{result.code.value} changed state"
        assert result.op_index == -1
    else:
        assert tx.body.seq == account_before.seq + 1
        assert account_after.seq == account_before.seq + 1
        if result.code is not R.OK:
            assert changed == {source_key}, f"{result.code.value} changed more than the sequence"
            assert 0 <= result.op_index < len(step.ops)
            assert (account_after.signers, account_after.threshold) == (
                account_before.signers,
                account_before.threshold,
            )
    right_seq = tx.body.seq == account_before.seq + 1
    if not right_seq:
        assert result.code in {R.BAD_SEQ, R.MALFORMED, R.TOO_LATE}
    if step.expired:
        assert result.code in {R.TOO_LATE, R.MALFORMED}

    # multisig: below the threshold (or a broken signature) is bad_auth and changes nothing
    if weight < account_before.threshold:
        assert result.code in TX_LEVEL
        if right_seq and not step.expired and result.code is not R.MALFORMED:
            assert result.code is R.BAD_AUTH
    elif result.code is R.BAD_AUTH:
        raise AssertionError("bad_auth although the signatures meet the threshold")

    # balances: new debt never passes the credit limit; issued balances never go below zero
    old, new = _holdings(before), _holdings(after)
    for key, holding in new.items():
        previous = old.get(key)
        if previous is None or holding.balance < previous.balance:
            currency = ledger.currency(holding.currency)
            assert currency is not None
            if currency.kind.is_mutual_credit:
                assert holding.balance >= -holding.credit_limit
            else:
                assert holding.balance >= 0
    # one successful payment moves exactly its amount
    if result.ok and len(step.ops) == 1 and isinstance(op := step.ops[0], Payment):
        payer = account_key(step.source.public_key)
        pay_key, get_key = (
            b"h" + payer[1:] + op.currency.encode(),
            b"h" + op.destination + op.currency.encode(),
        )
        assert new[pay_key].balance == old[pay_key].balance - op.amount
        assert new[get_key].balance == (old[get_key].balance if get_key in old else 0) + op.amount

    check_invariants(ledger.state)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(sequence=st.lists(steps(), min_size=5, max_size=30))
def test_random_transactions_keep_every_invariant(sequence: list[Step]) -> None:
    ledger = _community()
    for step in sequence:
        _check_step(ledger, step)
    check_invariants(ledger.state, ledger.accumulator)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(
    payments=st.lists(
        st.tuples(
            st.sampled_from(CAST[:4]),
            st.sampled_from(CAST[:4]),
            st.sampled_from(["LETS", "HOURS", "BIG"]),
            st.integers(min_value=1, max_value=1200) | st.sampled_from([1 << 62, (1 << 62) + 1, INT64_MAX]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_mutual_credit_payments_stay_zero_sum(payments: list[tuple[Keypair, Keypair, str, int]]) -> None:
    ledger = _community()
    for payer, payee, code, amount in payments:
        _check_step(ledger, Step(payer, [Payment(payee.public_key, code, amount)], 1, [payer], False, False))
    check_invariants(ledger.state, ledger.accumulator)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(
    weights=st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=4),
    threshold=st.integers(min_value=1, max_value=16),
    subsets=st.lists(st.lists(st.integers(min_value=0, max_value=3), max_size=4), min_size=1, max_size=6),
)
def test_multisig_thresholds(weights: list[int], threshold: int, subsets: list[list[int]]) -> None:
    ledger = _community()
    owner = CAST[0]
    keys = [owner, *CAST[4:7]][: len(weights)]
    op = SetSigners(tuple((k.public_key, w) for k, w in zip(keys, weights, strict=True)), threshold)
    result = ledger.run(owner, [op])
    if threshold > sum(weights):
        assert result.code is R.BAD_SIGNERS
        return
    assert result.ok
    for subset in subsets:
        chosen = list({i: keys[i] for i in subset if i < len(keys)}.values()) or [KEYS[10]]
        signed = sum(weights[keys.index(k)] for k in chosen if k in keys)
        step = Step(owner, [Payment(CAST[1].public_key, "LETS", 1)], 1, chosen, False, False)
        before = ledger.snapshot()
        code = ledger.submit(_build(ledger, step)).code
        assert code is (R.OK if signed >= threshold else R.BAD_AUTH)
        if code is R.BAD_AUTH:
            assert ledger.snapshot() == before
    check_invariants(ledger.state, ledger.accumulator)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(ledgers=st.lists(st.lists(steps(), min_size=0, max_size=12), min_size=1, max_size=4))
def test_random_tx_sets_close_identically_on_two_nodes(ledgers: list[list[Step]]) -> None:
    """Each node closes the same random tx sets from its own copy of the state, one from the tx
    set as built and one from its wire encoding: same headers, results and state, every
    invariant kept, incremental state hash equal to the from-scratch one."""
    setup = _community()
    node_a, node_b = MemoryState(), MemoryState()
    node_a.entries, node_b.entries = dict(setup.state.entries), dict(setup.state.entries)
    acc_a = acc_b = setup.accumulator
    previous = LedgerHeader(
        1, LEDGER_SEQ - 1, bytes(32), 0, bytes(32), bytes(32), acc_a.digest(), LedgerParams()
    )
    for number, steps_in_ledger in enumerate(ledgers):
        planned: dict[bytes, int] = {}
        txs = []
        for step in steps_in_ledger:
            key = step.source.public_key
            planned[key] = planned.get(key, StateOverlay(node_a).account(key).seq) + 1
            txs.append(
                make_tx(
                    step.source,
                    max(1, planned[key] + step.seq_offset - 1),
                    step.ops,
                    signers=step.signers,
                    last_valid_ledger=previous.seq + (0 if step.expired else 3),
                )
            )
        tx_set = make_tx_set(previous.hash, txs)
        value = CloseValue(tx_set.hash, 1000 * (number + 1))
        one = close_ledger(node_a, acc_a, previous, tx_set, value, lambda tx: tx.signers())
        two = close_ledger(
            node_b, acc_b, previous, decode_tx_set(tx_set.encode(), NETWORK), value, lambda tx: tx.signers()
        )
        assert one.header == two.header
        assert one.results == two.results
        assert one.changes == two.changes
        node_a.apply(one.changes)
        node_b.apply(two.changes)
        acc_a, acc_b = one.accumulator, two.accumulator
        previous = one.header
        check_invariants(node_a, acc_a)
    assert node_a.entries == node_b.entries
