"""Demurrage: a yearly rate on positive balances, charged lazily, in integer arithmetic only.

Model. A rate r means a balance left alone for 365 days keeps (1 − r) of its value, decaying
continuously. Each currency keeps a *demurrage index* L(t): the cumulative decay in units of
2^-48 nats (natural-log units), growing linearly while a rate is in force:

    L(t) = L0 + (t − t0) · step(r) / DAY_MS,   step(r) = −ln(1 − r) / 365 · 2^48

where (L0, t0) are stored in the currency and reset whenever the rate changes. Every holding
remembers the index at which its balance was last settled. Touching a holding (any payment,
mint, payout, expulsion…) at close time t settles it: a positive balance b becomes
⌊b · e^−(L(t) − L_holding)⌋ and the difference goes to the commons fund. Debts do not decay.

So there is no sweep over accounts: a ledger settles only the holdings its transactions touch,
and the charge depends only on the close times, not on how often the holding was touched
(between two settlements the factors multiply: e^−a · e^−b = e^−(a+b); only the ⌊⌋ of each
settlement differs, by less than one minor unit). A rate change never reaches back in time: L
keeps growing from its value at the change, at the new speed.

Every function is exact integer arithmetic (series for ln and exp, floor division), so every
node computes the same charge to the unit. The fund itself never pays demurrage.
"""

from __future__ import annotations

import functools

from protocol.codec import INT64_MAX

INDEX_BITS = 48  # the index counts 2^-48 nats: 47,000 years at the maximum rate fit an int64
WORK_BITS = 96  # working precision of the series
DAY_MS = 86_400_000
YEAR_DAYS = 365
PPM = 1_000_000
MAX_DEMURRAGE_PPM = 500_000  # 50 % a year; beyond that money is meant to vanish, not circulate

_WORK_ONE = 1 << WORK_BITS


@functools.lru_cache(maxsize=256)
def daily_step(rate_ppm: int) -> int:
    """−ln(1 − rate) / 365 in units of 2^-48 nats: how much the index grows per day."""
    if not 0 <= rate_ppm <= MAX_DEMURRAGE_PPM:
        raise ValueError(f"a demurrage rate is 0 to {MAX_DEMURRAGE_PPM} ppm, not {rate_ppm}")
    x = rate_ppm * _WORK_ONE // PPM
    return _neg_ln_one_minus(x) // YEAR_DAYS >> (WORK_BITS - INDEX_BITS)


def index_at(index: int, since_ms: int, rate_ppm: int, now_ms: int) -> int:
    """The currency's demurrage index at ``now_ms`` (saturating at the int64 maximum)."""
    if rate_ppm == 0 or now_ms <= since_ms:
        return index
    return min(INT64_MAX, index + (now_ms - since_ms) * daily_step(rate_ppm) // DAY_MS)


def kept(balance: int, index_delta: int) -> int:
    """What is left of a positive ``balance`` after the index grew by ``index_delta``."""
    if balance <= 0 or index_delta <= 0:
        return balance
    return balance * _exp_neg(index_delta << (WORK_BITS - INDEX_BITS)) >> WORK_BITS


@functools.lru_cache(maxsize=1)
def _ln2() -> int:
    """ln 2 · 2^96, from ln 2 = Σ 1/(k·2^k)."""
    total, k = 0, 1
    while True:
        term = _WORK_ONE // (k << k)
        if term == 0:
            return total
        total += term
        k += 1


def _neg_ln_one_minus(x: int) -> int:
    """−ln(1 − x/2^96) · 2^96 for 0 ≤ x ≤ 2^95, from Σ x^k / k (each term floored)."""
    total, power, k = 0, x, 1
    while power:
        total += power // k
        power = power * x >> WORK_BITS
        k += 1
    return total


def _exp_neg(y: int) -> int:
    """e^−(y/2^96) · 2^96 for y ≥ 0: y = n·ln 2 + f, e^−y = 2^−n · e^−f, e^−f by its series."""
    ln2 = _ln2()
    n, f = divmod(y, ln2)
    if n >= WORK_BITS:
        return 0
    total, term, k = _WORK_ONE, _WORK_ONE, 1
    while term:
        term = term * f // (k << WORK_BITS)
        total = total - term if k % 2 else total + term
        k += 1
    return total >> n
