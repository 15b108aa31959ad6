"""Standing: how much the ledger knows about an account, the currency of fairness on a fee-less ledger.

Nothing on Tally costs money, so an attacker's keys are free and many. What is not free is a place
on the ledger: a member was admitted by a currency's stewards, an account has had transactions
applied. The mempool shares its room by this standing (``node.mempool``), judged on the last
*closed* ledger so every node that saw the same ledgers judges alike and a pending transaction
cannot raise its own account's standing.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from protocol.state import Account, Holding, StateReader, account_key, decode_entry

MAX_CACHED = 100_000  # accounts judged per ledger before the cache starts over


class Standing(enum.IntEnum):
    """Ordered: a higher standing is served first and evicted last."""

    NEWCOMER = 0  # nothing on the ledger: a key anyone can make for free
    ACCOUNT = 1  # has transacted before: its account entry exists
    MEMBER = 2  # an admitted member of some currency, or holds a non-zero balance


HoldingsOf = Callable[[bytes], list[Holding]]


class StandingJudge:
    """Judges accounts on one closed ledger, each once (a cache that ``ledger_closed`` clears).

    ``holdings`` lists an account's holdings (``LedgerStore.holdings``); without it (a plain state
    reader in tests) nobody is judged a member.
    """

    def __init__(self, state: StateReader, holdings: HoldingsOf | None = None) -> None:
        self._state = state
        self._holdings = holdings
        self._cache: dict[bytes, Standing] = {}

    def ledger_closed(self, state: StateReader) -> None:
        self._state = state
        self._cache.clear()

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
