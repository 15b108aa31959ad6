"""Fair admission without fees (issue 12): the mempool shares its room by standing and by source.

The issue's attack: throwaway keys with nothing on the ledger, 20 future sequence numbers each,
filled the 50,000-transaction mempool for good and locked out a member's payment. Each rule of
the design (README, Security) has a test here, on a real committed ledger with a fake clock.
"""

from __future__ import annotations

from dataclasses import replace

from spam_ledger import CURRENCY, NETWORK, SpamLedger, key, noop, signed

from node.mempool import (
    DUPLICATE,
    EVICTED,
    EXPIRED,
    MEMPOOL_FULL,
    NEWCOMERS_BUSY,
    SOURCE_QUOTA,
    TOO_FAR_AHEAD,
    TOO_MANY_PENDING,
    Admission,
    Mempool,
)
from node.standing import Standing, StandingJudge
from protocol.keys import Keypair
from protocol.operations import AdmitMember
from protocol.results import ResultCode
from protocol.state import Change, Holding, Role, encode_entry, new_account
from protocol.transactions import Transaction, TxHeader, peek_transaction


def _accounts(ledger: SpamLedger, count: int) -> list[Keypair]:
    """Keys that transacted once (standing: account, not member)."""
    keys = [key() for _ in range(count)]
    ledger.close([signed(k, 1, noop(k)) for k in keys])
    return keys


def test_the_issue_attack_no_longer_locks_a_member_out() -> None:
    ledger = SpamLedger.community()
    pool = ledger.mempool(max_total=2_000)
    for _ in range(2_000 // 20):  # until the old cap would be full
        throwaway = key()
        for seq in range(2, 22):
            admission = pool.add(signed(throwaway, seq, noop(throwaway)))
            assert (admission.accepted, admission.code) == (False, "bad_seq")
    assert len(pool) == 0
    payment = ledger.pay(ledger.alice, 1, ledger.bob)
    assert pool.add(payment).accepted
    assert pool.select(10, 1 << 20) == [payment]


def test_standing_is_judged_on_the_closed_ledger() -> None:
    ledger = SpamLedger.community()
    (account,) = _accounts(ledger, 1)
    judge = StandingJudge(ledger.state, ledger.holdings)
    assert judge(ledger.alice.public_key) is Standing.MEMBER  # admitted, never transacted
    assert judge(ledger.steward.public_key) is Standing.ACCOUNT  # runs the currency, not a member
    assert judge(account.public_key) is Standing.ACCOUNT
    assert judge(key().public_key) is Standing.NEWCOMER
    assert StandingJudge(ledger.state)(ledger.alice.public_key) is Standing.NEWCOMER  # no holdings view


def test_standing_follows_the_ledgers_changes_without_scanning_again() -> None:
    """Judging scans the account's holdings in the store, so each account is scanned once; a
    ledger's written entries then move its standing, and it always equals a fresh judgement."""
    ledger = SpamLedger.community(members=3)
    scans: list[bytes] = []

    def holdings(account: bytes) -> list[Holding]:
        scans.append(account)
        return ledger.holdings(account)

    pool = Mempool(ledger.state, ledger.seq + 1, holdings=holdings, clock=ledger.clock)
    newcomer, carol = key(), ledger.members[2]
    assert pool.add(signed(newcomer, 1, noop(newcomer))).accepted  # judged a newcomer
    assert pool.add(ledger.pay(carol, 1, ledger.bob)).accepted
    assert scans == [newcomer.public_key, carol.public_key]
    admit = signed(ledger.steward, 3, AdmitMember(CURRENCY, newcomer.public_key, None))
    ledger.close([admit], pool)  # writes the newcomer's holding: a member now
    late = key()
    assert pool.add(signed(late, 1, noop(late))).accepted
    ledger.close([], pool)
    assert scans[2:] == [late.public_key]  # nobody was scanned again
    fresh = StandingJudge(ledger.state, ledger.holdings)
    assert fresh(newcomer.public_key) is Standing.MEMBER


def test_a_holding_that_stops_qualifying_is_judged_again() -> None:
    ledger = SpamLedger.community()
    judge = StandingJudge(ledger.state, ledger.holdings)
    alice, stranger = ledger.alice.public_key, key().public_key
    assert (judge(alice), judge(stranger)) == (Standing.MEMBER, Standing.NEWCOMER)
    # entries as a ledger would write them: alice's holding left with nothing, a stranger's account
    left = Holding(alice, CURRENCY, 0, 0, Role.HOLDER)
    ledger.state.entries[left.key] = encode_entry(left)
    created = new_account(stranger)
    ledger.state.entries[created.key] = encode_entry(created)
    changes = [Change(e.key, None, encode_entry(e), e) for e in (left, created)]
    judge.ledger_closed(ledger.state, changes)
    assert judge(stranger) is Standing.ACCOUNT
    assert judge(alice) is Standing.NEWCOMER  # judged again: no holding qualifies, never transacted
    judge.ledger_closed(ledger.state)  # changes unknown: everyone is judged afresh
    assert judge(alice) is Standing.NEWCOMER


def test_queued_ahead_is_a_short_contiguous_run() -> None:
    ledger = SpamLedger.community()
    (account,) = _accounts(ledger, 1)  # next sequence number: 2
    pool = ledger.mempool(queue_window=4)
    ahead = {seq: signed(account, seq, noop(account)) for seq in range(3, 9)}
    assert pool.add(ahead[4]).queued
    assert pool.add(ahead[6]).code == TOO_FAR_AHEAD  # a hole at 5
    assert pool.add(ahead[3]).queued  # extends the run downwards
    assert pool.add(ahead[5]).queued
    assert pool.add(ahead[7]).code == TOO_FAR_AHEAD  # more than 4 ahead of 2
    assert pool.add(signed(account, 4, noop(account), memo=b"again")).code == DUPLICATE
    assert pool.take_promoted() == []
    gap = signed(account, 2, noop(account))
    assert pool.add(gap).accepted
    assert pool.take_promoted() == [ahead[3], ahead[4], ahead[5]]  # now they are gossiped
    assert pool.take_promoted() == []
    assert pool.select(10, 1 << 20) == [gap, ahead[3], ahead[4], ahead[5]]


def test_queued_transactions_expire_with_age_and_with_their_last_valid_ledger() -> None:
    ledger = SpamLedger.community()
    first, second = _accounts(ledger, 2)
    pool = ledger.mempool(queued_max_age_s=60.0)
    aged = signed(first, 3, noop(first))
    short_lived = signed(second, 3, noop(second), last_valid=ledger.seq + 1)
    assert pool.add(aged).queued
    ledger.clock.now += 30
    assert pool.add(short_lived).queued
    assert ledger.close([], pool) == [short_lived.hash]  # its last valid ledger passed
    assert pool.refused_code(short_lived.hash) == "too_late"
    assert aged.hash in pool
    ledger.clock.now += 31  # 61 s after it arrived
    pool.add(ledger.pay(ledger.alice, 1, ledger.bob))  # any arrival sweeps the expired
    assert aged.hash not in pool
    assert pool.refused_code(aged.hash) == EXPIRED
    assert ledger.close([], pool) == [aged.hash]  # whoever waits for it is told at the next ledger


def test_a_member_evicts_lower_standing_when_the_pool_is_full() -> None:
    ledger = SpamLedger.community(members=3)
    accounts = _accounts(ledger, 4)
    pool = ledger.mempool(max_total=6, queued_share=0.5)
    queued = signed(accounts[0], 4, noop(accounts[0]))  # its seq 3 is missing
    pending = [signed(a, 2, noop(a)) for a in accounts]
    assert all(pool.add(tx).accepted for tx in [*pending[:3], queued, pending[3]])
    assert pool.add(ledger.pay(ledger.alice, 1, ledger.bob)).accepted
    assert len(pool) == 6
    newcomer = key()
    assert pool.add(signed(newcomer, 1, noop(newcomer))).code == MEMPOOL_FULL  # nothing lower
    extra = key()  # a second account with standing "account" (judged on the closed ledger)
    ledger.close([signed(extra, 1, noop(extra))], pool)
    assert pool.add(signed(extra, 2, noop(extra))).code == MEMPOOL_FULL  # equal standing: no eviction
    # A member's payment gets in: the queued one goes first, then the newest pending.
    bob_pays = ledger.pay(ledger.bob, 1, ledger.alice)
    assert pool.add(bob_pays).accepted
    assert pool.refused_code(queued.hash) == EVICTED
    carol_pays = ledger.pay(ledger.members[2], 1, ledger.alice)
    assert pool.add(carol_pays).accepted
    assert pool.refused_code(pending[3].hash) == EVICTED
    assert pool.add(signed(accounts[3], 2, noop(accounts[3]), memo=b"again")).code == EVICTED
    assert pool.pending_sequence(accounts[3].public_key) == 0
    left = ledger.close([], pool)
    assert set(left) >= {queued.hash, pending[3].hash}
    assert pool.add(signed(accounts[3], 2, noop(accounts[3]), memo=b"again")).code == MEMPOOL_FULL


def test_newcomers_share_a_small_room_and_a_check_budget() -> None:
    ledger = SpamLedger.community()
    pool = ledger.mempool(max_total=100, newcomer_share=0.05, newcomer_rate=1.0, newcomer_burst=3)
    newcomers = [key() for _ in range(10)]
    answers = [pool.add(signed(k, 1, noop(k))).code for k in newcomers[:4]]
    assert answers == [None, None, None, NEWCOMERS_BUSY]  # the burst of 3 checks
    ledger.clock.now += 2.0
    assert pool.add(signed(newcomers[4], 1, noop(newcomers[4]))).accepted
    assert pool.add(ledger.pay(ledger.alice, 1, ledger.bob)).accepted  # members never wait for it
    ledger.clock.now += 100.0
    assert pool.add(signed(newcomers[5], 1, noop(newcomers[5]))).accepted  # 5 = 5 % of 100
    assert pool.add(signed(newcomers[6], 1, noop(newcomers[6]))).code == NEWCOMERS_BUSY


def test_a_newcomer_may_have_only_a_few_pending() -> None:
    ledger = SpamLedger.community()
    pool = ledger.mempool(max_per_newcomer=3)
    newcomer = key()
    codes = [pool.add(signed(newcomer, seq, noop(newcomer))).code for seq in range(1, 5)]
    assert codes == [None, None, None, TOO_MANY_PENDING]


def test_each_source_address_has_a_quota() -> None:
    ledger = SpamLedger.community(members=4)
    pool = ledger.mempool(max_per_source=2)
    alice, bob, carol, dave = ledger.members
    assert pool.add(ledger.pay(alice, 1, bob), "198.51.100.7").accepted
    assert pool.add(ledger.pay(bob, 1, alice), "198.51.100.7").accepted
    assert pool.add(ledger.pay(carol, 1, alice), "198.51.100.7").code == SOURCE_QUOTA
    assert pool.add(ledger.pay(carol, 1, alice), "198.51.100.8").accepted
    assert pool.add(ledger.pay(dave, 1, alice)).accepted  # gossip has no source quota
    ledger.close(pool.select(10, 1 << 20), pool)
    assert pool.add(ledger.pay(alice, 2, bob), "198.51.100.7").accepted  # included: quota free again


def test_tx_sets_serve_members_first_and_every_account_once_before_anyone_twice() -> None:
    ledger = SpamLedger.community(members=3)
    (account,) = _accounts(ledger, 1)
    alice, bob, _ = ledger.members
    newcomer = key()
    arrivals = [
        signed(newcomer, 1, noop(newcomer)),
        signed(account, 2, noop(account)),
        ledger.pay(alice, 1, bob),
        ledger.pay(alice, 2, bob),
        ledger.pay(bob, 1, alice),
    ]
    pool = ledger.mempool()
    assert all(pool.add(tx).accepted for tx in arrivals)
    order = [arrivals[2], arrivals[4], arrivals[3], arrivals[1], arrivals[0]]
    assert pool.select(10, 1 << 20) == order
    assert pool.select(2, 1 << 20) == order[:2]


def test_a_forged_transaction_evicts_no_one() -> None:
    ledger = SpamLedger.community()
    accounts = _accounts(ledger, 2)
    pool = ledger.mempool(max_total=2, queued_share=1.0)
    waiting = [signed(a, 2, noop(a)) for a in accounts]
    assert all(pool.add(tx).accepted for tx in waiting)
    for seq in (1, 2):  # pending and queued-ahead, in the name of a member
        genuine = ledger.pay(ledger.alice, seq, ledger.bob)
        forged = replace(genuine, signatures=((ledger.alice.public_key, b"\x00" * 64),))
        assert pool.add(forged).code == "bad_auth"
    assert pool.select(10, 1 << 20) == waiting


def test_a_first_look_refuses_junk_as_add_would_and_spends_each_check_once() -> None:
    ledger = SpamLedger.community()
    pool = ledger.mempool(newcomer_rate=0.001, newcomer_burst=2)
    junk = key()
    ahead = signed(junk, 2, noop(junk))
    assert pool.refuse_early(_header(ahead)) == Admission(
        False, ResultCode.BAD_SEQ, figures={"expected_seq": 1, "seq": 2}
    )
    assert pool.refused_code(ahead.hash) == "bad_seq"
    first, second, third = (signed(k, 1, noop(k)) for k in (key(), key(), key()))
    for tx in (first, second):  # a whole request is looked at before any of it is added
        assert pool.refuse_early(_header(tx)) is None  # spends one check of the burst of 2
    refused = pool.refuse_early(_header(third))
    assert refused is not None
    assert refused.code == NEWCOMERS_BUSY
    assert pool.add(first).accepted  # already paid for: not spent again
    assert pool.add(second).accepted
    member_pays = ledger.pay(ledger.alice, 1, ledger.bob)
    assert pool.refuse_early(_header(member_pays)) is None
    assert pool.add(member_pays).accepted
    assert pool.refuse_early(_header(member_pays)) is None  # a duplicate is for add to answer


def test_peek_reads_hash_source_and_sequence_of_a_transaction_and_nothing_else() -> None:
    tx = signed(key(), 7, noop(key()))
    header = peek_transaction(tx.encode(), NETWORK)
    assert header == TxHeader(tx.hash, tx.body.source, 7)
    for junk in (b"", b"\xc1", b"\x93\x01\xc4\x01x\x90", tx.encode()[:-3], b"\x92\x01\x02"):
        assert peek_transaction(junk, NETWORK) is None


def _header(tx: Transaction) -> TxHeader:
    header = peek_transaction(tx.encode(), NETWORK)
    assert header is not None
    return header
