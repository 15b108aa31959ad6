"""One test per result code, each built from real signed transactions applied to a dict-backed
state; plus what a failure may change (tx level: nothing; operation level: only the sequence)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from protocol_support import (
    KEYS,
    NETWORK,
    OTHER_NETWORK,
    Ledger,
    account_entry_key,
    admit,
    check_invariants,
    issued_currency,
    make_tx,
    mutual_currency,
)
from test_designs_results import DESIGN_CASES
from test_governance_results import GOVERNANCE_CASES

from protocol.codec import INT64_MAX
from protocol.operations import (
    CreateCurrency,
    CurrencyKind,
    Mint,
    Payment,
    Redeem,
    SetCreditLimit,
    SetSigners,
)
from protocol.results import ResultCode, TxResult, decode_result, encode_result
from protocol.transactions import TransactionBody, build_transaction

R = ResultCode
ISSUER, STEWARD, ALICE, BOB, CAROL, DAVE = KEYS[:6]


def _community() -> Ledger:
    """A mutual currency LETS (steward STEWARD, limit 1000), a time bank HOURS, and an issued
    currency EUROK minted by ISSUER; ALICE and BOB are members of LETS and HOURS."""
    ledger = Ledger()
    assert ledger.run(
        ISSUER,
        [
            mutual_currency("LETS", [STEWARD]),
            mutual_currency("HOURS", [STEWARD], kind=CurrencyKind.TIME, limit=2000),
            issued_currency("EUROK", [STEWARD], max_balance=10_000),
        ],
    ).ok
    assert ledger.run(
        ALICE, [*admit("LETS", ALICE, BOB), *admit("HOURS", ALICE, BOB)], signers=[ALICE, STEWARD]
    ).ok
    assert ledger.run(ISSUER, [Mint("EUROK", ALICE.public_key, 500)]).ok
    check_invariants(ledger.state, ledger.accumulator)
    return ledger


def _ok() -> tuple[Ledger, TxResult]:
    ledger = _community()
    result = ledger.run(ALICE, [Payment(BOB.public_key, "LETS", 300), Payment(BOB.public_key, "HOURS", 150)])
    lets_alice, lets_bob = ledger.holding(ALICE, "LETS"), ledger.holding(BOB, "LETS")
    assert lets_alice is not None
    assert lets_bob is not None
    assert (lets_alice.balance, lets_bob.balance) == (-300, 300)
    return ledger, result


def _malformed() -> tuple[Ledger, TxResult]:
    ledger = _community()
    return ledger, ledger.run(ALICE, [Payment(BOB.public_key, "LETS", 0)])


def _too_late() -> tuple[Ledger, TxResult]:
    ledger = _community()
    ledger.ledger_seq = 50
    return ledger, ledger.run(ALICE, [Payment(BOB.public_key, "LETS", 1)], last_valid_ledger=49)


def _bad_seq() -> tuple[Ledger, TxResult]:
    ledger = _community()
    tx = make_tx(ALICE, ledger.next_seq(ALICE) + 1, [Payment(BOB.public_key, "LETS", 1)])  # a gap
    return ledger, ledger.submit(tx)


def _bad_auth() -> tuple[Ledger, TxResult]:
    ledger = _community()
    return ledger, ledger.run(ALICE, [Payment(BOB.public_key, "LETS", 1)], signers=[BOB])


def _no_currency() -> tuple[Ledger, TxResult]:
    ledger = _community()
    return ledger, ledger.run(ALICE, [Payment(BOB.public_key, "NOPE", 1)])


def _currency_exists() -> tuple[Ledger, TxResult]:
    ledger = _community()
    return ledger, ledger.run(CAROL, [mutual_currency("LETS", [CAROL])])


def _not_member() -> tuple[Ledger, TxResult]:
    ledger = _community()
    return ledger, ledger.run(CAROL, [Payment(ALICE.public_key, "LETS", 1)])


def _destination_not_member() -> tuple[Ledger, TxResult]:
    ledger = _community()
    return ledger, ledger.run(ALICE, [Payment(CAROL.public_key, "LETS", 1)])


def _already_member() -> tuple[Ledger, TxResult]:
    ledger = _community()
    return ledger, ledger.run(STEWARD, admit("LETS", ALICE))


def _over_credit_limit() -> tuple[Ledger, TxResult]:
    ledger = _community()
    return ledger, ledger.run(ALICE, [Payment(BOB.public_key, "LETS", 1001)])


def _underfunded() -> tuple[Ledger, TxResult]:
    ledger = _community()
    return ledger, ledger.run(ALICE, [Payment(BOB.public_key, "EUROK", 501)])


def _over_max_balance() -> tuple[Ledger, TxResult]:
    ledger = _community()
    return ledger, ledger.run(ISSUER, [Mint("EUROK", BOB.public_key, 10_001)])


def _bad_steward_auth() -> tuple[Ledger, TxResult]:
    ledger = _community()
    return ledger, ledger.run(CAROL, admit("LETS", CAROL))  # CAROL is no steward


def _not_issuer() -> tuple[Ledger, TxResult]:
    ledger = _community()
    return ledger, ledger.run(ALICE, [Mint("EUROK", ALICE.public_key, 1)])


def _wrong_kind() -> tuple[Ledger, TxResult]:
    ledger = _community()
    return ledger, ledger.run(ISSUER, [Mint("LETS", ALICE.public_key, 1)])


def _bad_signers() -> tuple[Ledger, TxResult]:
    ledger = _community()
    return ledger, ledger.run(ALICE, [SetSigners(((ALICE.public_key, 1), (BOB.public_key, 1)), 3)])


def _unsupported() -> tuple[Ledger, TxResult]:
    ledger = _community()
    demurrage = CreateCurrency("ROT", CurrencyKind.MUTUAL, 0, (STEWARD.public_key,), 1, 100, 0, 20_000)
    return ledger, ledger.run(CAROL, [demurrage])


CASES: dict[ResultCode, Callable[[], tuple[Ledger, TxResult]]] = {
    R.OK: _ok,
    R.MALFORMED: _malformed,
    R.TOO_LATE: _too_late,
    R.BAD_SEQ: _bad_seq,
    R.BAD_AUTH: _bad_auth,
    R.NO_CURRENCY: _no_currency,
    R.CURRENCY_EXISTS: _currency_exists,
    R.NOT_MEMBER: _not_member,
    R.DESTINATION_NOT_MEMBER: _destination_not_member,
    R.ALREADY_MEMBER: _already_member,
    R.OVER_CREDIT_LIMIT: _over_credit_limit,
    R.UNDERFUNDED: _underfunded,
    R.OVER_MAX_BALANCE: _over_max_balance,
    R.BAD_STEWARD_AUTH: _bad_steward_auth,
    R.NOT_ISSUER: _not_issuer,
    R.WRONG_KIND: _wrong_kind,
    R.BAD_SIGNERS: _bad_signers,
    R.UNSUPPORTED: _unsupported,
}


def test_every_result_code_is_built_by_a_test() -> None:
    missing = [c.value for c in ResultCode if c not in CASES | GOVERNANCE_CASES | DESIGN_CASES]
    assert missing == [], f"no test builds a transaction with these results: {missing}"


@pytest.mark.parametrize("code", list(CASES), ids=lambda c: c.value)
def test_every_result_code(code: ResultCode) -> None:
    ledger, result = CASES[code]()
    assert result.code is code
    assert result.code.explanation
    assert decode_result(encode_result(result)) == result
    check_invariants(ledger.state, ledger.accumulator)


@pytest.mark.parametrize("code", [c for c in CASES if c is not R.OK], ids=lambda c: c.value)
def test_a_failed_transaction_changes_at_most_the_sequence(code: ResultCode) -> None:
    # Rebuild the same community, snapshot it just before the failing transaction.
    before_ledger = _community()
    before = before_ledger.snapshot()
    ledger, result = CASES[code]()
    after = ledger.snapshot()
    changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    if code.consumes_sequence:
        assert result.op_index >= 0
        # exactly the source account's entry changed: its sequence number went up by one
        assert len(changed) == 1
        (key,) = changed
        source = next(k for k in KEYS if account_entry_key(k) == key)
        assert ledger.seq_of(source) == before_ledger.seq_of(source) + 1
    else:
        assert result.op_index == -1
        assert changed == set()


def test_op_index_names_the_failing_operation() -> None:
    ledger = _community()
    result = ledger.run(ALICE, [Payment(BOB.public_key, "LETS", 1), Payment(BOB.public_key, "LETS", 5000)])
    assert (result.code, result.op_index) == (R.OVER_CREDIT_LIMIT, 1)
    alice = ledger.holding(ALICE, "LETS")
    assert alice is not None
    assert alice.balance == 0


def test_replaying_a_transaction_is_bad_seq() -> None:
    ledger = _community()
    tx = make_tx(ALICE, ledger.next_seq(ALICE), [Payment(BOB.public_key, "LETS", 10)])
    assert ledger.submit(tx).ok
    assert ledger.submit(tx).code is R.BAD_SEQ


def test_a_transaction_signed_for_another_network_fails_here() -> None:
    ledger = _community()
    body = TransactionBody(
        ALICE.public_key, ledger.next_seq(ALICE), 1_000_000, b"", (Payment(BOB.public_key, "LETS", 10),)
    )
    elsewhere = build_transaction(OTHER_NETWORK, body, [ALICE])
    here = build_transaction(NETWORK, body, [])
    assert elsewhere.body_bytes == here.body_bytes
    assert elsewhere.hash != here.hash
    # The same body and signature, received on this network, is checked against this network's hash.
    replayed = type(here)(here.body, here.body_bytes, here.hash, elsewhere.signatures)
    assert replayed.signers() is None
    assert ledger.submit(replayed).code is R.BAD_AUTH


def test_credit_limit_lowered_below_debt_only_lets_debt_shrink() -> None:
    ledger = _community()
    assert ledger.run(ALICE, [Payment(BOB.public_key, "LETS", 800)]).ok
    assert ledger.run(STEWARD, [SetCreditLimit("LETS", ALICE.public_key, 100)]).ok
    assert ledger.run(ALICE, [Payment(BOB.public_key, "LETS", 1)]).code is R.OVER_CREDIT_LIMIT
    assert ledger.run(BOB, [Payment(ALICE.public_key, "LETS", 50)]).ok
    check_invariants(ledger.state, ledger.accumulator)


def test_issued_currency_round_trip_mint_pay_redeem() -> None:
    ledger = _community()
    assert ledger.run(ALICE, [Payment(ISSUER.public_key, "EUROK", 200)]).ok
    assert ledger.run(ISSUER, [Redeem("EUROK", 200)]).ok
    assert ledger.run(ISSUER, [Redeem("EUROK", 1)]).code is R.UNDERFUNDED
    currency = ledger.currency("EUROK")
    assert currency is not None
    assert currency.supply == 300
    check_invariants(ledger.state, ledger.accumulator)


def test_mint_cannot_overflow_supply() -> None:
    ledger = _community()
    result = ledger.run(ISSUER, [Mint("EUROK", BOB.public_key, INT64_MAX)])
    assert result.code is R.OVER_MAX_BALANCE


def test_multisig_threshold() -> None:
    ledger = _community()
    signers = ((ALICE.public_key, 1), (BOB.public_key, 1), (CAROL.public_key, 2))
    assert ledger.run(ALICE, [SetSigners(signers, 3)]).ok
    pay = [Payment(BOB.public_key, "LETS", 5)]
    for too_few in ([ALICE], [CAROL], [ALICE, BOB], [DAVE, ALICE, BOB]):
        before = ledger.snapshot()
        assert ledger.run(ALICE, pay, signers=too_few).code is R.BAD_AUTH
        assert ledger.snapshot() == before
    assert ledger.run(ALICE, pay, signers=[ALICE, CAROL]).ok
    assert ledger.run(ALICE, pay, signers=[BOB, CAROL, DAVE]).ok  # an extra signature is harmless


def test_a_broken_signature_is_bad_auth_even_when_the_threshold_is_met() -> None:
    ledger = _community()
    tx = make_tx(ALICE, ledger.next_seq(ALICE), [Payment(BOB.public_key, "LETS", 5)], signers=[ALICE, BOB])
    (key_a, sig_a), (key_b, _sig_b) = tx.signatures
    broken = type(tx)(tx.body, tx.body_bytes, tx.hash, ((key_a, sig_a), (key_b, bytes(64))))
    assert ledger.submit(broken).code is R.BAD_AUTH


def test_mutual_credit_circulation_cannot_overflow_the_currency_entry() -> None:
    # Regression: with credit limits at the int64 maximum, two large payments pushed the sum of
    # positive balances (the currency's stored supply) past int64, and the currency entry could
    # never be decoded again.
    ledger = Ledger()
    e, f = KEYS[6], KEYS[7]
    assert ledger.run(STEWARD, [mutual_currency("BIG", [STEWARD], limit=INT64_MAX)]).ok
    assert ledger.run(STEWARD, admit("BIG", ALICE, BOB, CAROL, DAVE, e, f)).ok
    assert ledger.run(ALICE, [Payment(BOB.public_key, "BIG", INT64_MAX)]).ok
    assert ledger.run(CAROL, [Payment(DAVE.public_key, "BIG", 5)]).code is R.OVER_MAX_BALANCE
    assert ledger.run(BOB, [Payment(ALICE.public_key, "BIG", 10)]).ok  # shrinking circulation is fine
    assert ledger.run(CAROL, [Payment(DAVE.public_key, "BIG", 10)]).ok
    check_invariants(ledger.state, ledger.accumulator)
