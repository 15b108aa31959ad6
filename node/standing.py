"""Standing: how much the ledger knows about an account, the currency of fairness on a fee-less ledger.

Nothing on Tally costs money, so an attacker's keys are free and many. What is not free is a place
on the ledger: a member was admitted by a currency's stewards, an account has had transactions
applied. The mempool shares its room by this standing (``node.mempool``), judged on the last
*closed* ledger so every node that saw the same ledgers judges alike and a pending transaction
cannot raise its own account's standing.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable

from protocol.state import Account, Change, Holding, StateReader, account_key, decode_entry

MAX_CACHED = 100_000  # accounts judged before the cache starts over


class Standing(enum.IntEnum):
    """Ordered: a higher standing is served first and evicted last."""

    NEWCOMER = 0  # nothing on the ledger: a key anyone can make for free
    ACCOUNT = 1  # has transacted before: its account entry exists
    MEMBER = 2  # an admitted member of some currency, or holds a non-zero balance


HoldingsOf = Callable[[bytes], list[Holding]]


class StandingJudge:
    """Judges accounts on the last closed ledger, each once, then follows the ledgers' changes.

    A first judgement reads the account entry and scans the account's holdings in LevelDB (an
    iterator: ~60 µs, ~6 % of a validator's time at 650 tx/s when every judgement started over
    after each ledger). Under load a ledger changes most of the accounts the mempool asks about,
    so forgetting them would not help; instead ``ledger_closed`` moves each judged account by the
    entries the ledger wrote, which is exact because standing only asks whether *some* holding
    qualifies (member, or a non-zero balance) and whether the account entry exists (entries are
    never deleted):

    * a written holding that qualifies makes its account a member;
    * a written holding that does not qualify may have been the one that made a member: that
      account is judged again on its next look;
    * a written account entry makes a newcomer an account.

    ``holdings`` lists an account's holdings (``LedgerStore.holdings``); without it (a plain state
    reader in tests) nobody is judged a member.
    """

    def __init__(self, state: StateReader, holdings: HoldingsOf | None = None) -> None:
        self._state = state
        self._holdings = holdings
        self._cache: dict[bytes, Standing] = {}

    def ledger_closed(self, state: StateReader, changes: Iterable[Change] | None = None) -> None:
        """Judge on ``state`` from now on. ``changes`` are the entries the ledger wrote; None
        (unknown) forgets every judgement."""
        self._state = state
        if changes is None:
            self._cache.clear()
            return
        cache = self._cache
        for change in changes:
            entry = change.entry
            if isinstance(entry, Holding):
                if entry.account not in cache:
                    continue
                if self._holdings is not None and (entry.member or entry.balance != 0):
                    cache[entry.account] = Standing.MEMBER
                else:
                    del cache[entry.account]
            elif isinstance(entry, Account) and cache.get(entry.id) is Standing.NEWCOMER:
                cache[entry.id] = Standing.ACCOUNT

    def __call__(self, account: bytes) -> Standing:
        found = self._cache.get(account)
        if found is None:
            found = self._judge(account)
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()
            self._cache[account] = found
        return found

    def _judge(self, account: bytes) -> Standing:
        if self._holdings is not None and any(h.member or h.balance != 0 for h in self._holdings(account)):
            return Standing.MEMBER
        key = account_key(account)
        raw = self._state.get_raw(key)
        if raw is not None and isinstance(decode_entry(key, raw), Account):
            return Standing.ACCOUNT
        return Standing.NEWCOMER
