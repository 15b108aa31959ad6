"""Properties of protocol version 3 over random schedules (Hypothesis):

* no currency's totals change through an exchange, and rounding never creates value;
* an organisation's credits never pass its quota;
* a key recovery never completes before its delay, nor after the owner cancelled it;
* and a random mix of all of it closes to the same state on two nodes, every invariant checked
  from scratch after every ledger (Chain.close).
"""

from __future__ import annotations

from dataclasses import dataclass

from designs_support import CITY, NEWKEY, ORG, agree, agreement, clearing, exchange, run, town
from governance_support import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    ERIN,
    ISSUER,
    SECOND,
    STEWARD,
    Chain,
    governed_currency,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from protocol_support import KEYS, NETWORK

from protocol.designs.clearing import clearing_address
from protocol.designs.exchange import rate_from
from protocol.designs.operations import (
    Accredit,
    ApproveRecovery,
    CancelRecovery,
    CreditHours,
    FinishRecovery,
    SetGuardians,
)
from protocol.keys import Keypair
from protocol.ledger import decode_tx_set, make_tx_set
from protocol.operations import CurrencyKind, Mint, Operation, Payment
from protocol.results import ResultCode
from protocol.state import Holding, StateOverlay

R = ResultCode
PROPERTY = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
MEMBERS = [ALICE, BOB, CAROL]


def _totals(chain: Chain) -> dict[str, int]:
    """Each currency's total: the sum of its balances (0 for mutual credit), and for an issued one
    its supply too (what was minted minus redeemed)."""
    sums: dict[str, int] = {}
    for entry in chain.state.decoded():
        if isinstance(entry, Holding):
            sums[entry.currency] = sums.get(entry.currency, 0) + entry.balance
    for code, total in list(sums.items()):
        currency = chain.currency(code)
        if not currency.kind.is_mutual_credit:
            assert currency.supply == total
    return sums


@dataclass(frozen=True)
class Swap:
    payer: int
    payee: int
    forward: bool  # HOUR → LETS (else LETS → HOUR), or LETS → BRX (else BRX → LETS)
    brx: bool
    amount: int
    stale: bool


swaps = st.builds(
    Swap,
    st.integers(0, 2),
    st.integers(0, 2),
    st.booleans(),
    st.booleans(),
    st.integers(1, 3000),
    st.sampled_from([False, False, False, True]),
)


@PROPERTY
@given(
    num=st.integers(1, 40),
    den=st.integers(1, 40),
    limits=st.tuples(st.integers(0, 3000), st.integers(0, 30_000)),
    schedule=st.lists(swaps, min_size=1, max_size=25),
)
def test_exchanges_keep_every_currencys_totals_and_never_create_value(
    num: int, den: int, limits: tuple[int, int], schedule: list[Swap]
) -> None:
    chain = town()
    assert run(
        chain, ISSUER, governed_currency("BRX", kind=CurrencyKind.ISSUED, rules=None, stewards=[ISSUER])
    ).ok
    assert run(chain, ISSUER, *(Mint("BRX", m.public_key, 2000) for m in MEMBERS)).ok
    hour_limit, lets_limit = limits
    assert run(
        chain,
        STEWARD,
        agree("HOUR", "LETS", num, den, hour_limit, lets_limit),
        agree("LETS", "HOUR", den, num, lets_limit, hour_limit),
        agree("LETS", "BRX", den, num, lets_limit, 5000),
    ).ok
    assert run(chain, ISSUER, agree("BRX", "LETS", num, den, 5000, lets_limit)).ok
    for swap in schedule:
        pay_in, receive_in = ("LETS", "BRX") if swap.brx else ("HOUR", "LETS")
        if not swap.forward:
            pay_in, receive_in = receive_in, pay_in
        found = agreement(chain, *sorted((pay_in, receive_in)))
        payer, payee = MEMBERS[swap.payer], MEMBERS[swap.payee]
        before = _totals(chain)
        paid_before = chain.balance(payer, pay_in), chain.balance(payee, receive_in)
        op = exchange(payee, swap.amount, pay_in, receive_in, version=found.version + swap.stale)
        result = run(chain, payer, op)
        after = _totals(chain)
        assert after == before  # every currency's sum and supply, exchange or not
        assert (result.code is R.STALE_RATE) == swap.stale
        if not result.ok:
            continue
        paid = paid_before[0] - chain.balance(payer, pay_in)
        received = chain.balance(payee, receive_in) - paid_before[1]
        assert received == swap.amount
        rate_num, rate_den = rate_from(found, pay_in)
        assert paid * rate_num >= received * rate_den  # never more value out than in
        assert (paid - 1) * rate_num < received * rate_den  # rounded by less than one unit
        for code, partner in ((pay_in, receive_in), (receive_in, pay_in)):
            position, limit = clearing(chain, code, partner), found.limit_of(code)
            assert (0 if code == "BRX" else -limit) <= position <= limit  # each within its limit


@dataclass(frozen=True)
class CreditStep:
    kind: str  # credit | quota | withdraw
    org: int
    volunteer: int
    amount: int


credit_steps = st.builds(
    CreditStep,
    st.sampled_from(["credit", "credit", "credit", "quota", "withdraw"]),
    st.integers(0, 1),
    st.integers(0, 1),
    st.integers(0, 800),
)


@PROPERTY
@given(schedule=st.lists(credit_steps, min_size=1, max_size=30))
def test_an_organisation_never_credits_past_its_quota(schedule: list[CreditStep]) -> None:
    chain = town()
    orgs = [ORG, CAROL]
    assert run(chain, CITY, Accredit("CARE", CAROL.public_key, 500)).ok
    quota, credited, active = [1000, 500], [0, 0], [True, True]
    for step in schedule:
        org = orgs[step.org]
        if step.kind == "credit":
            volunteer = [ALICE, BOB][step.volunteer]
            code = run(
                chain, org, CreditHours("CARE", volunteer.public_key, max(step.amount, 1), "care")
            ).code
            amount = max(step.amount, 1)
            if not active[step.org]:
                assert code is R.NOT_ACCREDITED
            elif credited[step.org] + amount > quota[step.org]:
                assert code is R.OVER_QUOTA
            else:
                assert code is R.OK
                credited[step.org] += amount
        else:
            withdraw = step.kind == "withdraw"
            assert run(chain, CITY, Accredit("CARE", org.public_key, step.amount, active=not withdraw)).ok
            quota[step.org], active[step.org] = step.amount, not withdraw
        for index, organisation in enumerate(orgs):
            found = StateOverlay(chain.state).get(b"oCARE" + organisation.public_key)
            assert found is not None
            assert found.credited == credited[index]  # type: ignore[union-attr]
        assert chain.balance(CITY, "CARE") == -sum(credited)  # the guarantor owes every credit


@dataclass(frozen=True)
class RecoveryStep:
    kind: str  # approve | cancel | finish | regard (the owner names its guardians again)
    guardian: int
    key: int
    after_s: int


recovery_steps = st.builds(
    RecoveryStep,
    st.sampled_from(["approve", "approve", "approve", "cancel", "finish", "finish", "regard"]),
    st.integers(0, 3),
    st.integers(0, 1),
    st.sampled_from([1, 60, 600, 1800, 3600]),
)
GUARDIANS = [BOB, CAROL, DAVE, ERIN]  # ERIN is no guardian
NEW_KEYS = [NEWKEY, KEYS[10]]
DELAY_S = 3600


@PROPERTY
@given(schedule=st.lists(recovery_steps, min_size=1, max_size=30))
def test_a_recovery_never_completes_before_its_delay_or_after_a_cancel(schedule: list[RecoveryStep]) -> None:
    """A model follows the approvals since the last cancel: the ledger replaces the key exactly
    when, and only when, two guardians' approvals of one key are at least ``DELAY_S`` old and no
    cancel came after them."""
    chain = town()
    signer: Keypair = ALICE  # whoever holds ALICE's account key now
    guard = SetGuardians(tuple(g.public_key for g in GUARDIANS[:3]), 2, DELAY_S)
    assert run(chain, ALICE, guard).ok
    votes: dict[int, int] = {}
    started: tuple[int, int] | None = None  # (key index, ledger time the threshold was reached)
    for step in schedule:
        if step.kind == "approve":
            guardian = GUARDIANS[step.guardian]
            op: Operation = ApproveRecovery(ALICE.public_key, NEW_KEYS[step.key].public_key)
            code = chain.run(guardian, [op], after_ms=step.after_s * SECOND).code
            if step.guardian == 3:
                assert code is R.NOT_GUARDIAN
                continue
            assert code is R.OK
            votes[step.guardian] = step.key
            if started is None and sum(1 for k in votes.values() if k == step.key) >= 2:
                started = (step.key, chain.now)
        elif step.kind in ("cancel", "regard"):
            op = CancelRecovery() if step.kind == "cancel" else guard
            code = chain.run(ALICE, [op], signers=[signer], after_ms=step.after_s * SECOND).code
            expected = R.OK if step.kind == "regard" or votes else R.NO_RECOVERY
            assert code is expected
            votes, started = {}, None
        else:
            code = chain.run(KEYS[9], [FinishRecovery(ALICE.public_key)], after_ms=step.after_s * SECOND).code
            if started is None:
                assert code is (R.TOO_FEW_GUARDIANS if votes else R.NO_RECOVERY)
            elif chain.now < started[1] + DELAY_S * SECOND:
                assert code is R.RECOVERY_NOT_DUE
            else:
                assert code is R.OK
                signer = NEW_KEYS[started[0]]
                votes, started = {}, None
        signers = StateOverlay(chain.state).account(ALICE.public_key).signers
        assert signers == ((signer.public_key, 1),)  # the key changes only by a due recovery


@dataclass(frozen=True)
class Mixed:
    who: int
    what: int
    amount: int
    gap_s: int


mixed = st.builds(
    Mixed, st.integers(0, 2), st.integers(0, 5), st.integers(1, 700), st.sampled_from([1, 30, 3600])
)


def _mixed_op(step: Mixed) -> tuple[Keypair, Operation]:
    member = MEMBERS[step.who]
    other = MEMBERS[(step.who + 1) % 3]
    match step.what:
        case 0:
            return ORG, CreditHours("CARE", [ALICE, BOB][step.who % 2].public_key, step.amount, "care")
        case 1:
            return member, Payment(ORG.public_key, "CARE", step.amount)
        case 2:
            return member, exchange(other, step.amount, "HOUR", "LETS")
        case 3:
            return member, exchange(other, step.amount, "LETS", "HOUR")
        case 4:
            return member, Payment(KEYS[7].public_key, "PND", step.amount)  # SHOP
        case _:
            return member, Payment(clearing_address("LETS", "HOUR"), "LETS", step.amount)


@PROPERTY
@given(schedule=st.lists(st.lists(mixed, max_size=4), min_size=1, max_size=12))
def test_random_design_schedules_close_alike_on_two_nodes(schedule: list[list[Mixed]]) -> None:
    node_a, node_b = town(), town()
    for block in schedule:
        by_source: dict[bytes, tuple[Keypair, Operation]] = {}
        for step in block:
            who, op = _mixed_op(step)
            by_source.setdefault(who.public_key, (who, op))
        txs = [node_a.tx(who, [op]) for who, op in by_source.values()]
        wire = decode_tx_set(make_tx_set(node_a.header.hash, txs).encode(), NETWORK)
        gap = block[0].gap_s * SECOND if block else SECOND
        closed_a = node_a.close(txs, after_ms=gap)
        closed_b = node_b.close(list(wire.transactions), after_ms=gap)
        assert closed_a.header == closed_b.header
    assert node_a.state.entries == node_b.state.entries
