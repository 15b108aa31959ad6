"""``GET /events`` on a real node's store and chain: closed ledgers and an account's or a
currency's transactions as they close, resumption with Last-Event-ID (replayed from the store,
bounded), keep-alive comments, the per-client and per-node caps, and a clean end on disconnect."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from sse_client import open_stream, read_body
from starlette.types import ASGIApp
from web_node import Community, community_fixture

from node.api.app import create_app
from node.api.events import StreamLimits
from protocol.addresses import encode_account
from protocol.operations import Payment

community = community_fixture()


def _app(community: Community, **limits: Any) -> ASGIApp:
    api = community.node.api
    return create_app(api, explorer=api, stream_limits=StreamLimits(**limits))


async def test_closed_ledgers_stream_live(community: Community) -> None:
    app = _app(community)
    start = community.node.chain.last.seq
    async with trio.open_nursery() as nursery:
        stream = await open_stream(nursery, app, "/events?ledgers=1")
        assert stream.status == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert stream.headers["cache-control"] == "no-cache"
        assert "content-length" not in stream.headers, "a stream has no length (servers would cut it)"
        await community.run(community.alice, Payment(community.bob.public_key, "HOUR", 10))
        await community.run(community.bob, Payment(community.carol.public_key, "LETS", 10))
        first, second = await stream.next_event(), await stream.next_event()
        await stream.close()
    assert (first.event, first.id, first.data["seq"], first.data["tx_count"]) == (
        "ledger",
        f"{start + 1}.0",
        start + 1,
        1,
    )
    assert (second.id, second.data["seq"]) == (f"{start + 2}.0", start + 2)


async def test_account_stream_gets_its_payments_and_nothing_else(community: Community) -> None:
    app = _app(community)
    bob = encode_account(community.bob.public_key)
    async with trio.open_nursery() as nursery:
        stream = await open_stream(nursery, app, f"/events?account={bob}")
        await community.run(community.carol, Payment(community.alice.public_key, "HOUR", 20))  # not bob's
        paid = await community.run(
            community.alice, Payment(community.bob.public_key, "HOUR", 30), memo=b"soup"
        )
        event = await stream.next_event()
        await stream.close()
    seq = community.node.api.tx_status(paid.hash).ledger
    assert (event.event, event.id) == ("tx", f"{seq}.1")
    assert (event.data["hash"], event.data["memo"], event.data["code"]) == (paid.hash.hex(), "soup", "ok")
    assert event.data["operations"][0] == {
        "type": "payment",
        "from": encode_account(community.alice.public_key),
        "to": bob,
        "currency": "HOUR",
        "amount": 30,
    }


async def test_currency_stream_and_ledgers_together(community: Community) -> None:
    app = _app(community)
    async with trio.open_nursery() as nursery:
        stream = await open_stream(nursery, app, "/events?currency=LETS&ledgers=1")
        await community.run(community.alice, Payment(community.bob.public_key, "HOUR", 20))
        lets = await community.run(community.bob, Payment(community.carol.public_key, "LETS", 40))
        events = [await stream.next_event() for _ in range(3)]
        await stream.close()
    assert [e.event for e in events] == ["ledger", "ledger", "tx"]
    assert events[2].data["hash"] == lets.hash.hex()
    ids = [tuple(map(int, str(e.id).split("."))) for e in events]
    assert ids == sorted(ids)


async def test_resume_replays_what_was_missed_from_the_store(community: Community) -> None:
    app = _app(community)
    bob = encode_account(community.bob.public_key)
    gardening_seq = community.node.api.tx_status(community.gardening.hash).ledger
    assert gardening_seq is not None
    async with trio.open_nursery() as nursery:
        # a client that saw everything up to the ledger before the demo payment comes back
        stream = await open_stream(
            nursery,
            app,
            f"/events?account={bob}&ledgers=1",
            headers={"Last-Event-ID": f"{gardening_seq - 1}.0"},
        )
        replayed = [await stream.next_event() for _ in range(3)]
        await stream.close()
    assert [(e.event, e.id) for e in replayed] == [
        ("tx", f"{gardening_seq - 1}.1"),  # the rest of that ledger: BRX minted to bob
        ("ledger", f"{gardening_seq}.0"),
        ("tx", f"{gardening_seq}.1"),
    ]
    assert replayed[0].data["operations"][0]["type"] == "mint"
    assert replayed[-1].data["memo"] == "gardening"


async def test_resume_from_a_bare_ledger_and_by_query(community: Community) -> None:
    app = _app(community)
    seq = community.node.api.tx_status(community.gardening.hash).ledger
    assert seq is not None
    async with trio.open_nursery() as nursery:
        stream = await open_stream(nursery, app, f"/events?currency=HOUR&last_event_id={seq - 1}")
        event = await stream.next_event()
        await stream.close()
    assert (event.id, event.data["memo"]) == (f"{seq}.1", "gardening")


async def test_resume_from_too_far_back_says_what_was_skipped(community: Community) -> None:
    app = _app(community, max_replay_ledgers=2)
    last = community.node.chain.last.seq
    async with trio.open_nursery() as nursery:
        stream = await open_stream(nursery, app, "/events?ledgers=1", headers={"Last-Event-ID": "1.0"})
        gap, first = await stream.next_event(), await stream.next_event()
        await stream.close()
    assert gap.event == "gap"
    assert (gap.data["from"], gap.data["to"]) == (2, last - 2)
    assert (first.event, first.data["seq"]) == ("ledger", last - 1)


async def test_keep_alive_comments_while_nothing_happens(community: Community) -> None:
    app = _app(community, keepalive_s=0.05)
    async with trio.open_nursery() as nursery:
        stream = await open_stream(nursery, app, "/events?ledgers=1")
        assert await stream.next_comment() == "keep-alive"
        await stream.close()


async def test_streams_are_capped_per_client_and_per_node_and_freed_on_disconnect(
    community: Community,
) -> None:
    app = _app(community, per_client=1, per_node=2)
    async with trio.open_nursery() as nursery:
        first = await open_stream(nursery, app, "/events?ledgers=1")
        second = await open_stream(nursery, app, "/events?ledgers=1")
        assert (first.status, second.status) == (200, 429)
        assert b"too_many_streams" in await read_body(second)
        assert int(second.headers["retry-after"]) >= 1
        other = await open_stream(nursery, app, "/events?ledgers=1", client="127.0.0.2")
        third = await open_stream(nursery, app, "/events?ledgers=1", client="127.0.0.3")
        assert (other.status, third.status) == (200, 429), "the node-wide cap holds across clients"
        await first.close()
        again = await open_stream(nursery, app, "/events?ledgers=1")
        assert again.status == 200, "a closed stream frees its slot"
        for stream in (other, again):
            await stream.close()


@pytest.mark.parametrize(
    ("query", "headers", "status", "code"),
    [
        ("", {}, 400, "bad_request"),
        ("ledgers=2", {}, 400, "bad_request"),
        ("account=tly1nope", {}, 400, "bad_address"),
        ("currency=NOPE", {}, 404, "not_found"),
        ("currency=no-pe", {}, 400, "bad_currency_code"),
        ("ledgers=1", {"Last-Event-ID": "x.1"}, 400, "bad_request"),
        ("ledgers=1&last_event_id=1.2.3", {}, 400, "bad_request"),
    ],
)
async def test_bad_stream_requests(
    community: Community, query: str, headers: dict[str, str], status: int, code: str
) -> None:
    async with trio.open_nursery() as nursery:
        stream = await open_stream(nursery, _app(community), f"/events?{query}", headers=headers)
        body = await read_body(stream)
    assert stream.status == status
    assert f'"error":"{code}"' in body.decode().replace(" ", "")
