"""The board on a real node's store and ledger: who may post, caps, rate, expiry, withdrawals, a
restart, the API (``POST /board``, ``GET /board``, ``GET /board/{id}``) and payments that settle a
listing through their memo."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path
from typing import Any

import httpx
import nacl.utils
import pytest
from web_node import Community, community_fixture, lone_node, seed_community

from node.api.app import create_app
from node.api.board import _STATUS as BOARD_STATUS
from node.board.board import Board, BoardLimits, BoardQuery, BoardVerdict
from node.clock import wall_ms
from node.errors import StorageError
from node.storage.board import BoardArea
from protocol import codec
from protocol.addresses import encode_account
from protocol.keys import Keypair
from protocol.listings import (
    MAX_LIFETIME_MS,
    Category,
    Listing,
    ListingBody,
    ListingKind,
    build_listing,
    build_withdrawal,
    link_memo,
    listing_ref,
)
from protocol.operations import Payment

community = community_fixture()
DAY = 86_400_000


def listing(c: Community, author: Keypair, now: int, currency: str = "HOUR", **changes: Any) -> Listing:
    body = ListingBody(
        ListingKind.OFFER, author.public_key, currency, Category.GARDEN, "pruning", "Garden help",
        "Fruit trees on Saturdays.", 150, now, now + 14 * DAY,
    )  # fmt: skip
    return build_listing(c.node.api.network_id, dataclasses.replace(body, **changes), author)


def board_of(c: Community, **limits: int) -> Board:
    store = c.node.store
    return Board(store.board, store, c.node.api.network_id, BoardLimits(**limits))


async def test_board_admits_members_and_refuses_strangers(community: Community) -> None:
    c, now = community, wall_ms()
    board = board_of(c)
    added = board.submit(listing(c, c.alice, now).encode(), now)
    assert added.verdict is BoardVerdict.ADDED
    assert board.submit(listing(c, c.alice, now).encode(), now).verdict is BoardVerdict.DUPLICATE
    stranger = Keypair(nacl.utils.random(32))
    assert board.submit(listing(c, stranger, now).encode(), now).verdict is BoardVerdict.NOT_MEMBER
    assert board.submit(listing(c, c.alice, now, "NOPE").encode(), now).verdict is BoardVerdict.NO_CURRENCY
    # an issued currency has no membership: its issuer and its holders may post, nobody else
    assert board.submit(listing(c, c.issuer, now, "BRX").encode(), now).verdict is BoardVerdict.ADDED
    assert board.submit(listing(c, c.bob, now, "BRX").encode(), now).verdict is BoardVerdict.ADDED
    assert board.submit(listing(c, c.steward, now, "BRX").encode(), now).verdict is BoardVerdict.NOT_MEMBER
    assert board.submit(b"\x93\x01", now).verdict is BoardVerdict.MALFORMED
    assert len(board) == 3


async def test_board_refuses_bad_times_text_and_other_networks(community: Community) -> None:
    c, now = community, wall_ms()
    board = board_of(c)
    expired = listing(c, c.alice, now - 20 * DAY, expires_ms=now - DAY)
    assert board.submit(expired.encode(), now).verdict is BoardVerdict.EXPIRED
    too_long = listing(c, c.alice, now, expires_ms=now + MAX_LIFETIME_MS + 1)
    assert board.submit(too_long.encode(), now).verdict is BoardVerdict.BAD_TIMES
    future = listing(c, c.alice, now + DAY, expires_ms=now + 2 * DAY)
    assert board.submit(future.encode(), now).verdict is BoardVerdict.FROM_THE_FUTURE
    control = listing(c, c.alice, now, title="\x1b[2Jcleared")
    assert board.submit(control.encode(), now).verdict is BoardVerdict.BAD_TEXT
    other = build_listing(b"\x01" * 32, listing(c, c.alice, now).body, c.alice)
    assert board.submit(other.encode(), now).verdict is BoardVerdict.BAD_SIGNATURE
    assert len(board) == 0


async def test_board_caps_and_rate(community: Community) -> None:
    c, now = community, wall_ms()
    board = board_of(c, per_member=2, per_currency=3, total=4, posts_per_hour=3)
    verdicts = [board.submit(listing(c, c.alice, now, amount=n).encode(), now).verdict for n in range(3)]
    assert verdicts == [BoardVerdict.ADDED, BoardVerdict.ADDED, BoardVerdict.MEMBER_FULL]
    assert board.submit(listing(c, c.bob, now).encode(), now).verdict is BoardVerdict.ADDED
    assert board.submit(listing(c, c.carol, now).encode(), now).verdict is BoardVerdict.CURRENCY_FULL
    assert board.submit(listing(c, c.carol, now, "LETS").encode(), now).verdict is BoardVerdict.ADDED
    assert board.submit(listing(c, c.bob, now, "LETS").encode(), now).verdict is BoardVerdict.BOARD_FULL
    rated = board_of(c, posts_per_hour=2)
    answers = [rated.submit(listing(c, c.bob, now, "LETS", amount=n).encode(), now).verdict for n in range(3)]
    assert answers == [BoardVerdict.ADDED, BoardVerdict.ADDED, BoardVerdict.RATE_LIMITED]
    later = now + 3_600_001
    fresh = listing(c, c.bob, later, "LETS", amount=9)
    assert rated.submit(fresh.encode(), later).verdict is BoardVerdict.ADDED


async def test_board_withdrawal_expiry_and_restart(community: Community) -> None:
    c, now = community, wall_ms()
    board = board_of(c)
    mine = listing(c, c.alice, now)
    short = listing(c, c.bob, now, expires_ms=now + DAY)
    for item in (mine, short):
        assert board.submit(item.encode(), now).verdict is BoardVerdict.ADDED
    network = c.node.api.network_id
    forged = build_withdrawal(network, c.bob, mine.id, now)
    assert board.submit(forged.encode(), now).verdict is BoardVerdict.NOT_AUTHOR
    withdrawal = build_withdrawal(network, c.alice, mine.id, now)
    assert board.submit(withdrawal.encode(), now).verdict is BoardVerdict.WITHDRAWN
    assert board.submit(withdrawal.encode(), now).verdict is BoardVerdict.DUPLICATE
    assert board.submit(mine.encode(), now).verdict is BoardVerdict.WITHDRAWN_BEFORE
    unknown = build_withdrawal(network, c.alice, b"\x07" * 32, now)
    assert board.submit(unknown.encode(), now).verdict is BoardVerdict.UNKNOWN_LISTING
    # a restarted node reads its board back: the open listing, the tombstone
    again = board_of(c)
    again.load(now)
    assert [x.id for x in again.query(BoardQuery())] == [short.id]
    assert again.submit(mine.encode(), now).verdict is BoardVerdict.WITHDRAWN_BEFORE
    # a day later the short listing has expired, everywhere and in the store
    assert again.expire(now + DAY) == 1
    assert again.query(BoardQuery()) == []
    third = board_of(c)
    third.load(now + DAY)
    assert len(third) == 0


async def test_board_query_filters_and_pages(community: Community) -> None:
    c, now = community, wall_ms()
    board = board_of(c)
    posted = [
        listing(c, c.alice, now - 5, kind=ListingKind.REQUEST, category=Category.TRANSPORT),
        listing(c, c.bob, now - 4),
        listing(c, c.carol, now - 3, "LETS"),
        listing(c, c.carol, now - 2, category=Category.CARE),
    ]
    for item in posted:
        assert board.submit(item.encode(), now).verdict is BoardVerdict.ADDED

    def ids(query: BoardQuery) -> list[bytes]:
        return [x.id for x in board.query(query)]

    assert ids(BoardQuery()) == [x.id for x in reversed(posted)]
    assert ids(BoardQuery(currency="LETS")) == [posted[2].id]
    assert ids(BoardQuery(kind=ListingKind.REQUEST)) == [posted[0].id]
    assert ids(BoardQuery(category=Category.CARE)) == [posted[3].id]
    assert ids(BoardQuery(author=c.carol.public_key)) == [posted[3].id, posted[2].id]
    first = board.query(BoardQuery(limit=2))
    rest = board.query(BoardQuery(before=(first[-1].body.created_ms, first[-1].id)))
    assert [x.id for x in first + rest] == ids(BoardQuery())


def _client(c: Community) -> httpx.AsyncClient:
    api = c.node.api
    app = create_app(api, explorer=api)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://node")


def _item(item: Listing | Any) -> dict[str, str]:
    return {"item": base64.b64encode(item.encode()).decode()}


async def test_board_api_post_list_get_and_settle(community: Community) -> None:
    c, now = community, wall_ms()
    offer = listing(c, c.bob, now, title="<script>alert(1)</script>")
    async with _client(c) as client:
        posted = await client.post("/board", json=_item(offer))
        assert posted.status_code == 201, posted.text
        assert posted.json() == {"id": offer.id.hex(), "status": "added", "message": "listed"}
        again = await client.post("/board", json=_item(offer))
        assert (again.status_code, again.json()["status"]) == (200, "duplicate")
        stranger = listing(c, Keypair(nacl.utils.random(32)), now)
        refused = await client.post("/board", json=_item(stranger))
        assert (refused.status_code, refused.json()["error"]) == (403, "not_member")
        page = (await client.get("/board", params={"currency": "HOUR", "kind": "offer"})).json()
        assert [x["id"] for x in page["items"]] == [offer.id.hex()]
        shown = page["items"][0]
        assert shown["title"] == "<script>alert(1)</script>"  # JSON keeps it as text; pages escape it
        assert (shown["ref"], shown["author"], shown["decimals"]) == (
            listing_ref(offer.id),
            encode_account(c.bob.public_key),
            2,
        )
        assert (shown["status"], shown["payments"]) == ("open", [])
        # alice pays bob for the offer (the payment settles it); carol's stray link does not count
        await c.run(
            c.alice,
            Payment(c.bob.public_key, "HOUR", 150),
            memo=link_memo(listing_ref(offer.id), "thanks").encode(),
        )
        await c.run(
            c.carol, Payment(c.alice.public_key, "HOUR", 50), memo=link_memo(listing_ref(offer.id)).encode()
        )
        one = (await client.get(f"/board/{listing_ref(offer.id)}")).json()
        assert one["status"] == "settled"
        assert [(p["from"], p["to"], p["amount"]) for p in one["payments"]] == [
            (encode_account(c.alice.public_key), encode_account(c.bob.public_key), 150)
        ]
        assert (await client.get(f"/board/{offer.id.hex()}")).json()["id"] == offer.id.hex()
        withdrawal = build_withdrawal(c.node.api.network_id, c.bob, offer.id, now)
        gone = await client.post("/board", json=_item(withdrawal))
        assert (gone.status_code, gone.json()["status"]) == (200, "withdrawn")
        assert (await client.get(f"/board/{offer.id.hex()}")).status_code == 410
        assert (await client.get("/board")).json()["items"] == []


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", "/board", {"item": "not base64!"}, 400, "bad_request"),
        ("POST", "/board", {"listing": "x"}, 400, "bad_request"),
        ("POST", "/board", {"item": "A" * 20_000}, 400, "too_large"),
        (
            "POST",
            "/board",
            {"item": base64.b64encode(codec.pack((9, b"", b"x" * 64))).decode()},
            400,
            "malformed",
        ),
        ("GET", "/board?kind=gift", None, 400, "bad_request"),
        ("GET", "/board?category=cars", None, 400, "bad_request"),
        ("GET", "/board?currency=hour", None, 400, "bad_currency_code"),
        ("GET", "/board?currency=NOPE", None, 404, "not_found"),
        ("GET", "/board?author=tly1nope", None, 400, "bad_address"),
        ("GET", "/board?cursor=12", None, 400, "bad_request"),
        ("GET", "/board?limit=1000", None, 400, "bad_request"),
        ("GET", "/board/xyz", None, 400, "bad_request"),
        ("GET", "/board/" + "ab" * 10, None, 404, "not_found"),
    ],
)
async def test_board_api_bad_input(
    community: Community, method: str, path: str, body: Any, status: int, code: str
) -> None:
    async with _client(community) as client:
        answer = await client.request(method, path, json=body)
    assert (answer.status_code, answer.json()["error"]) == (status, code), answer.text


async def test_board_api_rate_limit_is_429(tmp_path: Path) -> None:
    async with lone_node(tmp_path) as node:
        c = await seed_community(node)
        now = wall_ms()
        async with _client(c) as client:
            codes = []
            for n in range(BoardLimits().posts_per_hour + 1):
                answer = await client.post("/board", json=_item(listing(c, c.alice, now, "LETS", amount=n)))
                codes.append(answer.status_code)
            assert codes[-1] == 429
            assert set(codes[:-1]) == {201}


class _FailingDisk:
    """The node's board store, with writes the disk refuses while ``full`` (a full or failing disk)."""

    def __init__(self, area: BoardArea) -> None:
        self.area = area
        self.full = True

    def save_listing(self, listing_id: bytes, raw: bytes) -> None:
        if self.full:
            raise StorageError("saving a board listing failed: IO error: No space left on device")
        self.area.save_listing(listing_id, raw)

    def save_withdrawal(self, listing_id: bytes, expires_ms: int, raw: bytes) -> None:
        if self.full:
            raise StorageError("saving a board withdrawal failed: IO error: No space left on device")
        self.area.save_withdrawal(listing_id, expires_ms, raw)

    def forget(self, listing_ids: list[bytes]) -> None:
        if self.full:
            raise StorageError("pruning the board failed: IO error: No space left on device")
        self.area.forget(listing_ids)


async def test_a_write_the_disk_refuses_changes_nothing_and_is_not_the_items_fault(
    community: Community,
) -> None:
    c, now = community, wall_ms()
    store = c.node.store
    disk = _FailingDisk(store.board)
    board = Board(disk, store, c.node.api.network_id, BoardLimits())  # type: ignore[arg-type]
    item = listing(c, c.alice, now)
    refused = board.submit(item.encode(), now)
    assert (refused.verdict, len(board)) == (BoardVerdict.NOT_STORED, 0)
    assert not refused.verdict.accepted  # gossip: not relayed …
    assert not refused.verdict.provable  # … and its forwarder not penalised
    assert BOARD_STATUS[BoardVerdict.NOT_STORED] == 503  # POST /board: the node's trouble, not the author's
    disk.full = False
    assert board.submit(item.encode(), now).verdict is BoardVerdict.ADDED
    disk.full = True
    withdrawal = build_withdrawal(c.node.api.network_id, c.alice, item.id, now)
    assert board.submit(withdrawal.encode(), now).verdict is BoardVerdict.NOT_STORED
    assert len(board) == 1  # still listed: the withdrawal was not kept
    assert board.expire(item.body.expires_ms) == 1  # pruning the disk fails: the board goes on
    assert len(board) == 0
