"""``GET /events`` through the real HTTP server (hypercorn on 127.0.0.1, configured as
``node.runtime`` does): hypercorn closes a connection whose client stays silent for its read
timeout, and an EventSource never speaks, so a stream ends cleanly before that with an ``id:``
line; reconnecting with it resumes without losing what closed in between. A client that hangs up
gives its slot back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import trio
from web_node import Community, community_fixture

from node.api.app import create_app
from node.api.events import StreamLimits
from node.api.limits import ApiLimits
from node.api.server import hypercorn_config, serve_api
from protocol.operations import Payment

community = community_fixture()
READ_TIMEOUT_S = 1.0  # hypercorn closes a connection whose client stays silent this long
BOUND_S = 20.0


@asynccontextmanager
async def serving(community: Community) -> AsyncIterator[httpx.AsyncClient]:
    limits = ApiLimits(read_timeout_s=READ_TIMEOUT_S)
    api = community.node.api
    app = create_app(
        api, explorer=api, limits=limits, stream_limits=StreamLimits(per_client=1, keepalive_s=0.2)
    )
    async with trio.open_nursery() as nursery:
        url = await nursery.start(serve_api, app, hypercorn_config("127.0.0.1:0", limits))
        with trio.fail_after(BOUND_S):
            async with httpx.AsyncClient(base_url=url, timeout=BOUND_S) as client:
                yield client
        nursery.cancel_scope.cancel()


async def test_a_stream_ends_before_the_read_timeout_and_resumes_where_it_stopped(
    community: Community,
) -> None:
    async with serving(community) as client:
        started = trio.current_time()
        async with client.stream("GET", "/events?ledgers=1") as response:
            assert response.status_code == 200
            lines = [line async for line in response.aiter_lines() if line]  # ends without a protocol error
        assert trio.current_time() - started < READ_TIMEOUT_S
        last_id = lines[-1].removeprefix("id: ")
        assert lines[-1].startswith("id: ")
        assert last_id.startswith(f"{community.node.chain.last.seq}.")
        assert ": keep-alive" in lines
        await community.run(community.alice, Payment(community.bob.public_key, "HOUR", 5))  # while away
        async with client.stream("GET", "/events?ledgers=1", headers={"Last-Event-ID": last_id}) as response:
            events = response.aiter_lines()
            assert await anext(events) == "retry: 500"
            assert await anext(events) == ""
            assert await anext(events) == f"id: {community.node.chain.last.seq}.0"


async def test_a_client_that_hangs_up_frees_its_slot(community: Community) -> None:
    async with serving(community) as client:
        async with client.stream("GET", "/events?ledgers=1") as response:
            assert response.status_code == 200
            busy = await client.get("/events?ledgers=1")
            assert busy.status_code == 429, "the one slot of this client is taken"
        # hung up early: the server hears the disconnect and frees the slot
        while (again := await client.get("/events?ledgers=1")).status_code == 429:  # noqa: ASYNC110
            await trio.sleep(0.02)  # polls the server over HTTP: there is no event to wait on
        assert again.status_code == 200
