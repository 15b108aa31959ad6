"""node.net.peerbook: scores, bans, refusals and slot counts, with the time as an argument (no host)."""

from __future__ import annotations

import pytest

from node.net.peerbook import (
    BAN_SECONDS,
    MAX_INBOUND_FRAME_STREAMS,
    MAX_INBOUND_REQUEST_STREAMS,
    MAX_REMEMBERED,
    PENALTIES,
    PENALTY_DEFAULT,
    REFUSAL_LOG_INTERVAL,
    SCORE_BAN,
    SCORE_RECOVERY_PER_S,
    InboundSlots,
    PeerBook,
    SlotRefusal,
    StreamKind,
)

ME, PEER, OTHER = "me", "peer", "other"


def banned_at(book: PeerBook, now: float) -> float:
    """Penalise PEER at ``now`` until it is banned; returns the time of the banning penalty."""
    while True:
        penalty = book.penalize(PEER, "frame_oversize", now)
        assert penalty is not None
        if penalty.banned:
            return now


def test_a_penalty_costs_its_reason_and_fades_back_to_zero() -> None:
    book = PeerBook(ME)
    penalty = book.penalize(PEER, "bad_frame", now=10.0)
    assert penalty is not None
    assert penalty.score == -PENALTY_DEFAULT
    assert not penalty.banned
    assert book.score(PEER, 10.0) == -PENALTY_DEFAULT
    assert book.score(PEER, 12.0) == pytest.approx(-PENALTY_DEFAULT + 2 * SCORE_RECOVERY_PER_S)
    assert book.score(PEER, 1000.0) == 0.0  # never above zero
    assert book.penalize(PEER, "replay", 1000.0) == type(penalty)(-PENALTIES["replay"], banned=False)


def test_we_never_penalise_ourselves() -> None:
    book = PeerBook(ME)
    assert book.penalize(ME, "bad_frame", 0.0) is None
    assert book.known() == set()


def test_reaching_the_threshold_bans_for_a_fixed_time() -> None:
    book = PeerBook(ME)
    now = banned_at(book, 5.0)
    assert book.banned(PEER, now)
    assert book.banned_for(PEER, now) == BAN_SECONDS
    # more penalties during the ban do not extend it
    later = book.penalize(PEER, "frame_oversize", now + 1)
    assert later is not None
    assert not later.banned
    assert book.banned_for(PEER, now + 1) == BAN_SECONDS - 1
    assert not book.banned(PEER, now + BAN_SECONDS)
    assert not book.banned(OTHER, now)
    # the score went on fading during the ban: the peer comes back with a clean slate
    assert book.score(PEER, now + 2) == SCORE_BAN / 2 - PENALTIES["frame_oversize"] + 2 * SCORE_RECOVERY_PER_S
    assert book.score(PEER, now + BAN_SECONDS) == 0.0


def test_a_disconnected_peer_is_forgotten_unless_we_hold_something_against_it() -> None:
    book = PeerBook(ME)
    book.connected(PEER, "inbound", ("/ip4/127.0.0.1/tcp/1",), 0.0)
    book.connected(OTHER, "outbound", (), 0.0)
    record = book.record(PEER)
    assert record is not None
    assert (record.direction, record.addrs) == ("inbound", ("/ip4/127.0.0.1/tcp/1",))
    book.penalize(OTHER, "bad_frame", 0.0)
    book.disconnected(PEER, 1.0)
    book.disconnected(OTHER, 1.0)
    assert book.known() == {OTHER}
    book.disconnected(OTHER, 100.0)  # its penalty has faded by now
    assert book.known() == set()
    banned_at(book, 200.0)
    book.disconnected(PEER, 200.0 + BAN_SECONDS - 1)
    assert book.known() == {PEER}


def test_made_up_identities_cannot_grow_the_book_without_bound() -> None:
    book = PeerBook(ME)
    book.connected(PEER, "inbound", (), 0.0)
    book.penalize(PEER, "bad_frame", 0.0)  # connected, with a grudge: kept whatever happens
    for i in range(MAX_REMEMBERED + 500):  # each knocks once, misbehaves once, leaves
        peer = f"made-up-{i}"
        book.connected(peer, "inbound", (), float(i))
        book.penalize(peer, "bad_frame", float(i))
        book.disconnected(peer, float(i))
    assert len(book.known()) <= MAX_REMEMBERED
    assert PEER in book.known()
    assert f"made-up-{MAX_REMEMBERED + 499}" in book.known()  # the latest grudges are still held


def test_refusals_of_a_banned_peer_are_logged_once_per_interval_with_a_count() -> None:
    book = PeerBook(ME)
    now = banned_at(book, 0.0)
    assert book.refuse(PEER, now) == 1  # the first refusal of a ban is reported at once
    silent = [book.refuse(PEER, now + 0.01 * i) for i in range(1, 500)]
    assert silent == [0] * 499  # a peer knocking 100 times a second adds no log line
    assert book.refuse(PEER, now + REFUSAL_LOG_INTERVAL) == 500  # ... until the interval is over
    assert book.refuse(PEER, now + REFUSAL_LOG_INTERVAL + 1) == 0
    # a new ban starts a new count, reported at once
    again = banned_at(book, now + 10 * BAN_SECONDS)
    assert book.refuse(PEER, again) == 1


def test_inbound_streams_are_counted_per_peer_and_kind() -> None:
    book = PeerBook(ME)
    assert StreamKind.FRAME.limit == MAX_INBOUND_FRAME_STREAMS
    assert StreamKind.REQUEST.limit == MAX_INBOUND_REQUEST_STREAMS
    taken = [book.admit_stream(PEER, StreamKind.FRAME) for _ in range(MAX_INBOUND_FRAME_STREAMS + 2)]
    assert taken == [True] * MAX_INBOUND_FRAME_STREAMS + [False, False]
    assert book.admit_stream(PEER, StreamKind.REQUEST)
    assert book.admit_stream(OTHER, StreamKind.FRAME)
    book.release_stream(PEER, StreamKind.FRAME)
    assert book.open_streams(PEER, StreamKind.FRAME) == MAX_INBOUND_FRAME_STREAMS - 1
    assert book.admit_stream(PEER, StreamKind.FRAME)
    for _ in range(MAX_INBOUND_FRAME_STREAMS + 3):  # releasing more than was taken is harmless
        book.release_stream(PEER, StreamKind.FRAME)
    assert book.open_streams(PEER, StreamKind.FRAME) == 0
    assert book.open_streams(PEER, StreamKind.REQUEST) == 1


def test_inbound_slots_cap_the_total_and_each_address() -> None:
    slots = InboundSlots(total=5, per_ip=2)
    assert [slots.take("10.0.0.1") for _ in range(3)] == [None, None, SlotRefusal.PER_IP]
    assert slots.take("10.0.0.2") is None
    assert slots.take("10.0.0.3") is None
    assert slots.take("10.0.0.3") is None
    assert slots.open == 5
    assert slots.take("10.0.0.4") is SlotRefusal.TOTAL
    slots.give_back("10.0.0.1")
    assert slots.take("10.0.0.4") is None
    slots.give_back("10.9.9.9")  # never taken: nothing changes
    assert slots.open == 5
    with pytest.raises(ValueError, match="at least 1"):
        InboundSlots(total=0)
