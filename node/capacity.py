"""What the network can close, measured from its ledgers, and how much waiting work that allows.

Graceful overload (issue 18): offered more than it can close, a network without admission control
let its mempool grow without bound, every ledger re-applied the whole backlog, and throughput fell
below what it managed at half the load, with latencies of tens of seconds. Instead, the node's API
admits a transaction only while the mempool holds less than ``admission_limit``: the work the
network closes in ``depth_s`` seconds at its measured rate. The excess is refused at once with
``overloaded`` and a ``Retry-After``, so what is admitted still lands within about two seconds and
the network keeps closing at its maximum. Peers' gossip is never refused for this (their API
admitted it; refusing it here would only make this node fetch it again with the tx set).

The rate is learnt from the ledgers this validator votes on, from how long each took from the start
of its nomination to its close (``busy_s``; slots are paced from their nominations, so a close that
takes longer than the target interval is what stretches it):

* a ledger that was late (below) and either large (at least half the admission limit) or left
  at least as much work waiting as it closed: the network is saturated, so what it closed per
  second of work *is* its capacity; the estimate moves halfway to it. (The backlog test matters
  when the estimate is far too high: a network that closes 150 tx/s never makes a ledger of half
  a 2,000 tx/s estimate's limit, and without it nothing was ever refused while latency grew to
  seconds.)
* a ledger on time while admissions were being refused: the limit may be what holds the load
  back, so the estimate grows by ``probe_growth`` and looks for more room, as a TCP window does;
* anything else tells nothing new (an idle network's small ledgers say nothing of its maximum).

A ledger is *late* when its close ended more than ``late_factor`` (0.6) of the target interval
after its nomination. Under overload the set size settles where ledgers start to be late, and
that decides how long an admitted payment waits. Slots are nominated an interval apart, and a close
holds the admissions while it applies and writes; the clients waiting for the room it frees get into
the next set only if it ended well before the next nomination. With "late" meaning the whole
interval, closes ended about when the next slot nominated, and half the time those clients missed
it and waited a second ledger.

Where agreement alone takes more than ``late_factor - work_share`` of the interval (validators far
apart, each round of messages costing a round trip), every large ledger would read as late,
whatever its size, and the estimate would fall to ``min_rate`` and stay there (no ledger would ever
be on time to let it grow again). So there a ledger is late only when what followed agreement (its
apply and write, the part its size decides) took more than ``work_share`` of the interval.

The first ledgers (and a restart) start from ``initial_rate``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CapacitySettings:
    target_interval_s: float = 1.0  # the close interval validators aim for
    # Pending work admitted, in seconds of closing at the measured rate. Pending work includes the
    # set being closed, and every pending transaction goes into the next set: the deeper the pool,
    # the larger and slower each slot, and the longer an admitted payment waits. Measured on the
    # 2-core VM (4 validators, scripts/bench, alternated runs): at 1,000 tx/s offered 1.25 s gave
    # p99 3.19 / 3.15 s, 0.5 s 2.45 / 2.60 s, with no less applied; --find-max 500 -> 625 tx/s.
    depth_s: float = 0.5
    initial_rate: float = 2_000.0  # tx/s assumed before any ledger tells (a 4-validator network on 2 cores)
    min_rate: float = 100.0  # never plan for less (a slow ledger after an idle hour tells little)
    max_rate: float = 100_000.0  # never plan for more (the tx-set size limit per second)
    # A ledger whose close ended more than this many target intervals after its nomination was
    # late (see the module docstring). 1.3 -> 1.0, three alternated pairs of scripts/bench
    # --find-max (2-core VM): the same maximum in each; admitted p99 at 2x 2.34 / 2.29 / 2.41 s
    # against 2.89 / 2.51 / 3.04 s. 1.0 -> 0.6, four pairs: sustained 500 / 625 / 625 / 781 against
    # 781 / 625 / 625 / 625 tx/s; admitted p99 at 2x 2.23-2.60 s against 3.60-5.27 s, at 3x
    # 1.54-3.19 s against 2.89-4.06 s (README, Performance).
    late_factor: float = 0.6
    # ... unless agreement alone took longer than late_factor - work_share intervals: then a
    # ledger was late when its apply and write, after agreement, took more than this share.
    work_share: float = 0.3
    probe_growth: float = 1.1  # per on-time ledger while admissions were refused
    min_limit: int = 200  # waiting transactions always admitted


class Capacity:
    def __init__(self, settings: CapacitySettings | None = None) -> None:
        self.settings = settings or CapacitySettings()
        self.rate = self.settings.initial_rate  # tx/s the network can close, as far as we know
        self._refused = 0  # overload refusals since the last ledger

    @property
    def admission_limit(self) -> int:
        """Waiting transactions (every node's, this mempool's count) up to which the API admits."""
        return max(self.settings.min_limit, math.ceil(self.rate * self.settings.depth_s))

    @property
    def retry_after_s(self) -> float:
        """When a refused client should try again: by then a ledger has made room."""
        return self.settings.target_interval_s

    def refused(self) -> None:
        self._refused += 1

    def ledger_closed(
        self, transactions: int, busy_s: float, backlog: int = 0, agreed_s: float = 0.0
    ) -> None:
        """Learn from a ledger this node voted on: ``transactions`` in it, ``busy_s`` from the start
        of its nomination to its close, of which ``agreed_s`` until consensus externalized it,
        ``backlog`` transactions still waiting after it."""
        settings = self.settings
        interval = settings.target_interval_s
        deadline = max(settings.late_factor * interval, agreed_s + settings.work_share * interval)
        late = busy_s > deadline
        # A late ledger tells the rate only when it was large: a small one was slowed by something
        # else (a lost statement, a validator restarting), not by its work. "Large" is relative to
        # what the API admits: the API alone cannot make a ledger much larger than the admission
        # limit, so a threshold of half an interval's work (the limit itself at depth_s 0.5) meant
        # "the pool was full" and a saturated network went unnoticed for several ledgers. Three
        # alternated pairs of scripts/bench --find-max (2-core VM): 625 / 781 / 625 tx/s against
        # 625 / 500 / 625; admitted p99 at 2x 2.11 / 2.67 s against 2.43 / 3.11 s.
        large = 2 * transactions >= self.admission_limit
        behind = 0 < transactions <= backlog  # more waits than a ledger closes: it cannot keep up
        if late and (large or behind):
            self.rate = (self.rate + transactions / busy_s) / 2
        elif not late and self._refused:  # the limit held work back and the network kept up
            self.rate *= settings.probe_growth
        self.rate = min(settings.max_rate, max(settings.min_rate, self.rate))
        self._refused = 0


class PeersUnseen:
    """How many transactions the peers' APIs have admitted that have not reached this node yet.

    Every validator's API weighs its admissions against its own pool, and a peer's admissions
    reach that pool only with the peer's next gossip batch (``GOSSIP_FLUSH_S``, then admitted a
    piece per pass of the loop). Under overload, when a close frees room, every validator used to
    fill the whole limit with its own clients' payments before it saw the others': ledgers of up to
    four limits' work, late closes, and admitted payments waiting a third ledger.

    The estimate: since the room opened, the peers have admitted about ``ratio`` times what this
    node's API did, where ``ratio`` is what the last ledgers showed (payments admitted from peers'
    gossip against those admitted from this API, smoothed per ledger); what has not arrived of
    that is unseen. A node that gets most of the traffic sees a ratio near 0 and keeps the whole
    limit; four nodes sharing it evenly see about 3 and each stop near its quarter until the
    others' gossip shows where the pool stands.

    The estimate never exceeds twice what the peers' gossip brought in a period lately
    (``peers_usual``: the last period's, or half the previous figure if that was more, whatever
    this API admitted): a node with few clients of its own beside a busy peer learns a large
    ratio, and when that peer went quiet, the ratio alone would have held its own clients to a few
    payments per ledger, too few to ever teach it a new ratio.
    """

    MIN_SAMPLE = 20  # API admissions a ledger needs before its ratio says anything
    SMOOTHING = 0.5  # weight of the newest ledger's ratio
    # The bound below is for a peer gone quiet, not for ledgers that vary: at 1x it held back less
    # than the ratio in steady overload (3 alternated pairs at 1,875 tx/s, p99 3.19-3.47 s
    # against 2.58-2.79 s without it).
    BOUND_HEADROOM = 2.0

    def __init__(self) -> None:
        self.ratio = 0.0  # peers' admissions per admission of this API, as far as we know
        self._learnt = False  # a ledger has told a ratio (the first one is taken as it is)
        self.peers_usual = 0.0  # admitted from peers' gossip in a period lately (see room_opened)
        self._own = 0  # admitted from this node's API since the room opened
        self._peers = 0  # admitted from peers' gossip since then

    def admitted(self, *, from_api: bool) -> None:
        if from_api:
            self._own += 1
        else:
            self._peers += 1

    def room_opened(self) -> None:
        """A ledger's close started: its transactions leave the count, a new period begins."""
        if self._own >= self.MIN_SAMPLE:
            sample = self._peers / self._own
            self.ratio = self.ratio + self.SMOOTHING * (sample - self.ratio) if self._learnt else sample
            self._learnt = True
        # up at once with the peers' traffic, down by half per ledger once it slows
        self.peers_usual = max(float(self._peers), self.peers_usual * (1 - self.SMOOTHING))
        self._own = self._peers = 0

    @property
    def estimate(self) -> int:
        expected = min(self._own * self.ratio, self.BOUND_HEADROOM * self.peers_usual)
        return max(0, round(expected) - self._peers)
