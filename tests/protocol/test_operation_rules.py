"""The state-independent rules of each operation (``malformed``, ``bad_signers``) and the
per-kind rules of apply, each with a real signed transaction."""

from __future__ import annotations

import pytest
from protocol_support import KEYS, Ledger, admit, check_invariants, issued_currency, mutual_currency

from protocol.operations import (
    MAX_SIGNERS,
    AdmitMember,
    CreateCurrency,
    CurrencyKind,
    Mint,
    Operation,
    Payment,
    Redeem,
    SetCreditLimit,
    SetSigners,
    check_well_formed,
    signers_are_valid,
)
from protocol.results import ResultCode
from protocol.transactions import Transaction, TransactionBody

R = ResultCode
STEWARD, ALICE, BOB, CAROL = KEYS[:4]
S, A, B = STEWARD.public_key, ALICE.public_key, BOB.public_key

MALFORMED: dict[str, Operation] = {
    "payment of zero": Payment(B, "LETS", 0),
    "payment to oneself": Payment(A, "LETS", 5),
    "lower-case code": Payment(B, "lets", 5),
    "empty code": Payment(B, "", 5),
    "code of 13 characters": Payment(B, "ABCDEFGHIJKLM", 5),
    "code with a space": Payment(B, "LE TS", 5),
    "mint of zero": Mint("EURO", B, 0),
    "redeem of zero": Redeem("EURO", 0),
    "time currency without 2 decimals": CreateCurrency("HRS", CurrencyKind.TIME, 0, (S,), 1, 10),
    "more than 8 decimals": CreateCurrency("X", CurrencyKind.MUTUAL, 9, (S,), 1, 10),
    "issued currency with credit": CreateCurrency("X", CurrencyKind.ISSUED, 2, (S,), 1, 10),
    "no stewards": CreateCurrency("X", CurrencyKind.MUTUAL, 0, (), 1, 10),
    "the same steward twice": CreateCurrency("X", CurrencyKind.MUTUAL, 0, (S, S), 2, 10),
    "steward threshold 0": CreateCurrency("X", CurrencyKind.MUTUAL, 0, (S,), 0, 10),
    "steward threshold out of reach": CreateCurrency("X", CurrencyKind.MUTUAL, 0, (S, B), 3, 10),
    "admit into a bad code": AdmitMember("x", B),
    "credit limit in a bad code": SetCreditLimit("", B, 5),
}


def _submit_unencodable(ledger: Ledger, ops: list[Operation]) -> ResultCode:
    """Apply a transaction that build_transaction refuses (it could never arrive over the wire):
    apply must still refuse it on its own."""
    try:
        return ledger.run(ALICE, ops).code
    except ValueError as exc:
        message = str(exc)
    assert "could not be decoded" in message
    body = TransactionBody(A, ledger.next_seq(ALICE), 1_000_000, b"", tuple(ops))
    digest = bytes(range(32))
    tx = Transaction(body, b"", digest, ((A, ALICE.sign(digest)),))
    return ledger.submit(tx).code


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_operations(name: str) -> None:
    op = MALFORMED[name]
    assert not check_well_formed(op, A)
    ledger = Ledger()
    before = ledger.snapshot()
    # one bad operation spoils the transaction
    code = _submit_unencodable(ledger, [Payment(B, "LETS", 1), op])
    assert code is R.MALFORMED
    assert ledger.snapshot() == before
    assert ledger.seq_of(ALICE) == 0


def test_mint_to_oneself_is_well_formed() -> None:
    assert check_well_formed(Mint("EURO", A, 5), A)


BAD_SIGNERS: dict[str, SetSigners] = {
    "no signers": SetSigners((), 1),
    "the same key twice": SetSigners(((A, 1), (A, 1)), 1),
    "weight 0": SetSigners(((A, 0), (B, 2)), 1),
    "weight 256": SetSigners(((A, 256),), 1),
    "threshold 0": SetSigners(((A, 1),), 0),
    "threshold 256": SetSigners(((A, 255), (B, 255)), 256),
    "threshold out of reach": SetSigners(((A, 1), (B, 1)), 3),
    "too many signers": SetSigners(tuple((bytes([i]) * 32, 1) for i in range(MAX_SIGNERS + 1)), 1),
}


@pytest.mark.parametrize("name", BAD_SIGNERS)
def test_bad_signer_lists(name: str) -> None:
    op = BAD_SIGNERS[name]
    assert not signers_are_valid(op.signers, op.threshold)
    ledger = Ledger()
    assert _submit_unencodable(ledger, [op]) is R.BAD_SIGNERS
    account = ledger.account(A)
    assert (account.seq, account.threshold, account.signers) == (1, 1, ((A, 1),))


def test_set_signers_can_hand_an_account_to_other_keys() -> None:
    ledger = Ledger()
    assert ledger.run(ALICE, [SetSigners(((B, 1), (KEYS[4].public_key, 1)), 2)]).ok
    assert ledger.account(A).signers == tuple(sorted(((B, 1), (KEYS[4].public_key, 1))))
    assert ledger.run(ALICE, [SetSigners(((A, 1),), 1)]).code is R.BAD_AUTH  # ALICE alone no longer can
    assert ledger.run(ALICE, [SetSigners(((A, 1),), 1)], signers=[BOB, KEYS[4]]).ok
    assert ledger.run(ALICE, [SetSigners(((A, 1), (B, 1)), 1)]).ok


def _currencies() -> Ledger:
    ledger = Ledger()
    assert ledger.run(
        STEWARD,
        [
            mutual_currency("LETS", [STEWARD], limit=100, max_balance=150),
            mutual_currency("HOURS", [STEWARD], kind=CurrencyKind.TIME, limit=1000),
            issued_currency("EURO", [STEWARD]),
        ],
    ).ok
    return ledger


def test_admission_sets_the_default_or_an_explicit_limit() -> None:
    ledger = _currencies()
    assert ledger.run(STEWARD, [*admit("LETS", ALICE), *admit("LETS", BOB, limit=7)]).ok
    alice, bob = ledger.holding(ALICE, "LETS"), ledger.holding(BOB, "LETS")
    assert alice is not None
    assert bob is not None
    assert (alice.credit_limit, bob.credit_limit, alice.balance, alice.member) == (100, 7, 0, True)
    currency = ledger.currency("LETS")
    assert currency is not None
    assert currency.members == 2
    assert ledger.run(STEWARD, [SetCreditLimit("LETS", C := CAROL.public_key, 5)]).code is R.NOT_MEMBER
    assert C


def test_mutual_credit_ceiling_and_limits() -> None:
    ledger = _currencies()
    assert ledger.run(STEWARD, admit("LETS", ALICE, BOB, CAROL)).ok
    assert ledger.run(ALICE, [Payment(B, "LETS", 100)]).ok  # down to exactly -limit
    assert ledger.run(ALICE, [Payment(B, "LETS", 1)]).code is R.OVER_CREDIT_LIMIT
    assert ledger.run(CAROL, [Payment(B, "LETS", 51)]).code is R.OVER_MAX_BALANCE  # BOB would pass 150
    assert ledger.run(CAROL, [Payment(B, "LETS", 50)]).ok
    check_invariants(ledger.state, ledger.accumulator)


def test_time_and_issued_kinds() -> None:
    ledger = _currencies()
    assert ledger.run(STEWARD, admit("HOURS", ALICE, BOB)).ok
    assert ledger.run(ALICE, [Payment(B, "HOURS", 150)]).ok  # 1.50 hours
    # issued: no membership, anyone may hold it, nobody may owe it
    assert ledger.run(STEWARD, admit("EURO", ALICE)).code is R.WRONG_KIND
    assert ledger.run(STEWARD, [SetCreditLimit("EURO", A, 5)]).code is R.WRONG_KIND
    assert ledger.run(ALICE, [Payment(B, "EURO", 1)]).code is R.UNDERFUNDED
    assert ledger.run(STEWARD, [Mint("EURO", A, 100)]).ok
    assert ledger.run(ALICE, [Payment(CAROL.public_key, "EURO", 100)]).ok  # CAROL was never admitted
    assert ledger.run(ALICE, [Redeem("EURO", 1)]).code is R.NOT_ISSUER
    assert ledger.run(STEWARD, [Redeem("HOURS", 1)]).code is R.WRONG_KIND
    assert ledger.run(STEWARD, [Mint("NOPE", A, 1)]).code is R.NO_CURRENCY
    check_invariants(ledger.state, ledger.accumulator)


def test_create_and_use_a_currency_in_one_transaction() -> None:
    ledger = Ledger()
    ops: list[Operation] = [
        mutual_currency("NEW", [STEWARD], limit=10),
        *admit("NEW", ALICE, BOB),
        Payment(B, "NEW", 10),
    ]
    assert ledger.run(ALICE, ops, signers=[ALICE, STEWARD]).ok
    currency = ledger.currency("NEW")
    assert currency is not None
    assert (currency.issuer, currency.supply, currency.members) == (A, 10, 2)
    # the same again fails on its first operation, and undoes nothing else because nothing applied
    result = ledger.run(ALICE, ops, signers=[ALICE, STEWARD])
    assert (result.code, result.op_index) == (R.CURRENCY_EXISTS, 0)
    check_invariants(ledger.state, ledger.accumulator)


def test_steward_threshold_counts_distinct_stewards() -> None:
    ledger = Ledger()
    assert ledger.run(STEWARD, [mutual_currency("TWO", [STEWARD, CAROL], threshold=2)]).ok
    assert ledger.run(ALICE, admit("TWO", ALICE), signers=[ALICE, STEWARD]).code is R.BAD_STEWARD_AUTH
    assert ledger.run(ALICE, admit("TWO", ALICE), signers=[ALICE, STEWARD, CAROL]).ok
