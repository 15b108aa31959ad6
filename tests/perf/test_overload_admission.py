"""Graceful overload (issue 18): the API admits work up to what the network closes in ``depth_s``
(half an interval) at its measured rate; the excess is refused at once (``overloaded``, ``Retry-After``),
never a member before a newcomer, a heavy client before a light one, and never a peer's gossip."""

from __future__ import annotations

import base64
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "security"))

import pytest
from api_fakes import MempoolNode, asgi_client
from spam_ledger import NETWORK, SpamLedger, key, noop, signed

from node.api.app import create_app
from node.capacity import Capacity, CapacitySettings, PeersUnseen
from node.mempool import OVERLOADED, Mempool
from protocol.transactions import Transaction

SETTINGS = CapacitySettings(initial_rate=100.0, min_rate=1.0, min_limit=4, depth_s=1.0)


def test_the_limit_is_the_work_of_depth_s_at_the_measured_rate() -> None:
    capacity = Capacity(CapacitySettings(initial_rate=1000.0, depth_s=1.25))
    assert capacity.admission_limit == 1250
    capacity.ledger_closed(3000, 2.0)  # late and large: saturated at 1,500 tx/s; halfway there
    assert capacity.rate == 1250.0
    capacity.ledger_closed(2000, 2.0)  # saturated at 1,000 tx/s
    assert capacity.rate == 1125.0
    assert capacity.admission_limit == 1407


def test_a_late_ledger_that_leaves_more_waiting_than_it_closed_tells_the_rate_however_small() -> None:
    capacity = Capacity(CapacitySettings(initial_rate=2000.0, min_rate=100.0))
    capacity.ledger_closed(300, 2.0)  # late and small, nothing left waiting: a slow link, not work
    assert capacity.rate == 2000.0
    capacity.ledger_closed(300, 2.0, backlog=100)  # late, but less waits than it closed
    assert capacity.rate == 2000.0
    capacity.ledger_closed(300, 2.0, backlog=600)  # late and behind: saturated at 150 tx/s
    assert capacity.rate == 1075.0
    for _ in range(6):
        capacity.ledger_closed(300, 2.0, backlog=600)
    assert capacity.rate < 170.0  # within a few ledgers the limit is what the network closes
    assert capacity.admission_limit < 215
    capacity.ledger_closed(0, 3.0, backlog=600)  # an empty late ledger says nothing
    assert capacity.rate < 170.0


def test_refusals_while_on_time_make_it_look_for_more_room() -> None:
    capacity = Capacity(CapacitySettings(initial_rate=1000.0, probe_growth=1.1))
    capacity.ledger_closed(500, 0.5)  # on time, nothing refused: the limit held nothing back
    assert capacity.rate == 1000.0
    capacity.refused()
    capacity.ledger_closed(900, 0.5)
    assert capacity.rate == pytest.approx(1100.0)
    capacity.ledger_closed(900, 0.5)  # no refusal since: no growth
    assert capacity.rate == pytest.approx(1100.0)


def test_a_slow_small_ledger_does_not_read_as_saturation() -> None:
    capacity = Capacity(CapacitySettings(initial_rate=1000.0, min_rate=100.0))
    capacity.ledger_closed(0, 60.0)  # a heartbeat ledger after a quiet minute
    capacity.ledger_closed(5, 30.0)  # slowed by a lost statement, not by its work
    assert capacity.rate == 1000.0
    capacity.ledger_closed(600, 3.0)  # large and late: 200 tx/s; halfway there
    assert capacity.rate == 600.0


def test_large_means_half_the_admission_limit_not_half_an_intervals_work() -> None:
    # At 0.5 s of depth the API cannot make a ledger much larger than the limit (1,000 here), so a
    # late ledger of half of it already shows saturation; half an interval's work (1,000) would
    # take a full pool to notice.
    capacity = Capacity(CapacitySettings(initial_rate=2000.0, depth_s=0.5))
    assert capacity.admission_limit == 1000
    capacity.ledger_closed(499, 2.0)  # late, but under half the limit and nothing left waiting
    assert capacity.rate == 2000.0
    capacity.ledger_closed(500, 2.0)  # late and large: 250 tx/s; halfway there
    assert capacity.rate == 1125.0


def test_a_large_ledger_whose_close_ended_past_late_factor_of_the_interval_was_late() -> None:
    # Under overload the set size settles where ledgers start to be late. With "late" meaning the
    # whole interval, closes ended about when the next slot nominated, and the clients admitted
    # after a close (it holds the admissions) missed that nomination and waited a second ledger.
    capacity = Capacity(CapacitySettings(initial_rate=2000.0, depth_s=0.5))
    assert capacity.settings.late_factor == 0.6
    capacity.ledger_closed(600, 0.6, agreed_s=0.1)  # large, and exactly on time
    assert capacity.rate == 2000.0
    capacity.ledger_closed(600, 0.8, agreed_s=0.1)  # large and 0.2 s late: 750 tx/s; halfway there
    assert capacity.rate == 1375.0


def test_where_agreement_is_slow_only_the_work_after_it_can_make_a_ledger_late() -> None:
    # Validators far apart: agreement alone takes 1.0 s of the 1 s interval. Judged by the close
    # alone every ledger would be late, and the estimate would shrink to the minimum for good.
    capacity = Capacity(CapacitySettings(initial_rate=2000.0, depth_s=0.5))
    assert (capacity.settings.late_factor, capacity.settings.work_share) == (0.6, 0.3)
    for _ in range(3):
        capacity.refused()  # the pool is full: the limit holds clients back
        capacity.ledger_closed(1000, 1.2, agreed_s=1.0)  # applied and written in 0.2 s: on time
    assert capacity.rate == pytest.approx(2662.0)  # it looks for more room instead
    capacity.ledger_closed(1000, 1.4, agreed_s=1.0)  # 0.4 s of work after agreement: late
    assert capacity.rate == pytest.approx((2662.0 + 1000 / 1.4) / 2)


def _pool(ledger: SpamLedger) -> Mempool:
    return Mempool(
        ledger.state,
        ledger.seq + 1,
        holdings=ledger.holdings,
        clock=ledger.clock,
        capacity=Capacity(SETTINGS),
    )


def _fill(pool: Mempool, count: int, source: str | None) -> None:
    for _ in range(count):
        newcomer = key()
        assert pool.add(signed(newcomer, 1, noop(newcomer)), source).accepted


def test_the_api_is_refused_past_the_limit_but_gossip_is_not() -> None:
    ledger = SpamLedger.community()
    pool = _pool(ledger)
    pool.capacity.rate = 4.0  # the network closes 4 tx per interval
    _fill(pool, 4, "198.51.100.1")
    late = key()
    refused = pool.add(signed(late, 1, noop(late)), "198.51.100.2")
    assert refused.code == OVERLOADED
    assert refused.figures == {"retry_after_s": 1}
    assert pool.add(signed(late, 1, noop(late)), None).accepted  # from a peer: its API admitted it


def test_the_ledger_being_closed_does_not_count_against_the_limit() -> None:
    ledger = SpamLedger.community()
    pool = _pool(ledger)
    pool.capacity.rate = 4.0  # the network closes 4 tx per interval
    newcomers = [key() for _ in range(6)]
    first = [signed(newcomer, 1, noop(newcomer)) for newcomer in newcomers]
    for tx in first[:4]:
        assert pool.add(tx, "198.51.100.1").accepted
    assert pool.add(first[4], "198.51.100.2").code == OVERLOADED
    pool.closing(tx.hash for tx in first[:3])  # a ledger with three of them is being written
    assert pool.awaiting_a_ledger == 1
    assert pool.add(first[4], "198.51.100.2").accepted
    pool.closing(())  # its write failed: they wait for a ledger again
    assert pool.add(first[5], "198.51.100.2").code == OVERLOADED
    pool.closing(tx.hash for tx in first[:3])
    ledger.close(first[:3], pool)
    assert pool.awaiting_a_ledger == len(pool) == 2  # the close's count ends with it


def test_a_member_takes_a_newcomers_place_when_the_network_is_at_capacity() -> None:
    ledger = SpamLedger.community()
    pool = _pool(ledger)
    pool.capacity.rate = 4.0
    _fill(pool, 4, "198.51.100.1")
    member_pays = ledger.pay(ledger.alice, 1, ledger.bob)
    assert pool.add(member_pays, "198.51.100.9").accepted
    assert len(pool) == 4  # a newcomer's transaction made room


def test_a_heavy_client_is_refused_before_a_light_one() -> None:
    ledger = SpamLedger.community()
    pool = _pool(ledger)
    pool.capacity.rate = 8.0
    _fill(pool, 1, "198.51.100.2")  # a light client
    _fill(pool, 4, "198.51.100.1")
    newcomer = key()  # over half full, two clients: the heavy one holds its half already
    assert pool.add(signed(newcomer, 1, noop(newcomer)), "198.51.100.1").code == OVERLOADED
    assert pool.add(signed(newcomer, 1, noop(newcomer)), "198.51.100.2").accepted


async def test_the_api_answers_overloaded_with_retry_after() -> None:
    ledger = SpamLedger.community()
    pool = _pool(ledger)
    pool.capacity.rate = 1.0
    _fill(pool, 4, "198.51.100.1")
    newcomer = key()
    raw = base64.b64encode(signed(newcomer, 1, noop(newcomer)).encode()).decode()
    async with asgi_client(create_app(MempoolNode(pool, NETWORK))) as client:  # type: ignore[arg-type]
        response = await client.post("/tx", json={"tx": raw})
    assert response.status_code == 200
    assert response.json()["results"][0]["code"] == "overloaded"
    assert response.headers["retry-after"] == "1"


def test_peers_unseen_learns_their_share_per_ledger_and_counts_what_has_not_arrived() -> None:
    unseen = PeersUnseen()
    for _ in range(10):
        unseen.admitted(from_api=True)
    unseen.room_opened()  # too few of this API's admissions to tell a ratio
    assert unseen.ratio == 0.0
    for _ in range(PeersUnseen.MIN_SAMPLE):
        unseen.admitted(from_api=True)
    for _ in range(3 * PeersUnseen.MIN_SAMPLE):
        unseen.admitted(from_api=False)
    unseen.room_opened()  # the first ratio is taken as it is
    assert unseen.ratio == 3.0
    for _ in range(20):
        unseen.admitted(from_api=True)
    assert unseen.estimate == 60  # the peers admitted about 60 meanwhile, none of it here yet
    for _ in range(12):
        unseen.admitted(from_api=False)
    assert unseen.estimate == 48
    for _ in range(100):
        unseen.admitted(from_api=False)
    assert unseen.estimate == 0  # more arrived than expected: nothing is unseen
    unseen.room_opened()  # 112 for 20, smoothed: halfway from 3.0 to 5.6
    assert unseen.ratio == pytest.approx(4.3)
    for _ in range(PeersUnseen.MIN_SAMPLE):
        unseen.admitted(from_api=True)
    unseen.room_opened()  # the peers went quiet: the ratio falls by half per ledger
    assert unseen.ratio == pytest.approx(2.15)


def _admit(pool: Mempool, count: int, source: str | None) -> list[Transaction]:
    admitted = []
    for _ in range(count):
        newcomer = key()
        tx = signed(newcomer, 1, noop(newcomer))
        assert pool.add(tx, source).accepted
        admitted.append(tx)
    return admitted


def test_the_api_leaves_room_for_what_the_peers_admitted_and_have_not_gossiped_yet() -> None:
    # Four validators share the load evenly: each sees three of the peers' payments per one of its
    # own. When a close frees room, each used to fill the whole limit with its own clients' payments
    # before the others' gossip came, and the next ledger held up to four limits' work.
    ledger = SpamLedger.community()
    pool = _pool(ledger)
    pool.capacity.rate = 100.0  # the limit: 100 waiting transactions
    period = _admit(pool, 25, "198.51.100.1") + _admit(pool, 75, None)
    pool.closing(tx.hash for tx in period)  # the ledger with all of them closes
    ledger.close(period, pool)
    _admit(pool, 25, "198.51.100.1")  # a quarter of the limit, and the peers admitted the rest
    late = key()
    assert pool.add(signed(late, 1, noop(late)), "198.51.100.2").code == OVERLOADED
    assert pool.weighed_waiting == 100
    assert pool.awaiting_a_ledger == 25
    _admit(pool, 60, None)  # the peers' gossip arrives: it was the pool's room, not more
    assert pool.add(signed(late, 1, noop(late)), "198.51.100.2").code == OVERLOADED
    assert pool.weighed_waiting == 100


def test_a_node_that_gets_the_traffic_alone_keeps_the_whole_limit() -> None:
    ledger = SpamLedger.community()
    pool = _pool(ledger)
    pool.capacity.rate = 100.0
    period = _admit(pool, 60, "198.51.100.1")
    pool.closing(tx.hash for tx in period)
    ledger.close(period, pool)
    _admit(pool, 100, "198.51.100.1")  # no gossip came with the last ledger: nothing is unseen
    late = key()
    assert pool.add(signed(late, 1, noop(late)), "198.51.100.2").code == OVERLOADED


def test_a_node_beside_a_busy_peer_that_went_quiet_soon_admits_the_whole_limit_again() -> None:
    unseen = PeersUnseen()
    for _ in range(PeersUnseen.MIN_SAMPLE):
        unseen.admitted(from_api=True)
    for _ in range(100 * PeersUnseen.MIN_SAMPLE):
        unseen.admitted(from_api=False)
    unseen.room_opened()  # a few clients here, a busy peer: 100 of its payments per one of ours
    assert unseen.ratio == 100.0
    limit, admitted = 500, []
    for _ in range(10):  # the busy peer went quiet; this node's clients offer more than the limit
        own = 0
        while own + unseen.estimate < limit:
            unseen.admitted(from_api=True)
            own += 1
        admitted.append(own)
        unseen.room_opened()
    assert admitted[0] < 10  # the first ledger after, it still expects the peer's traffic
    assert admitted[-1] >= 0.95 * limit, admitted  # within a few ledgers the room is its own again
    assert unseen.ratio == pytest.approx(100.0 / 2**6)  # halved by each ledger it admitted 20 or more in
