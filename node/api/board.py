"""The board's endpoints: ``POST /board`` (a signed listing or withdrawal), ``GET /board`` (filters and
a cursor) and ``GET /board/{id}`` (one listing with the payments that settle it).

A refused item is answered with the board's verdict as the error code (``not_member``,
``rate_limited``, ``member_full``, …) and a status that fits it: 400 malformed or invalid, 403 not
allowed, 404 unknown, 409 a cap is reached, 410 withdrawn, 429 over the rate.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from node.api.errors import ApiError
from node.api.explorer import ExplorerNode, Wrap, currency_or_error
from node.api.params import address, float_query
from node.board.board import BoardQuery, BoardVerdict
from node.board.views import linked_payments, listing_json
from node.reads import LedgerReads
from protocol.listings import MAX_ITEM_BYTES, Category, Listing, ListingKind

JsonBody = Callable[[Request], Awaitable[Any]]

_STATUS = {
    BoardVerdict.ADDED: 201,
    BoardVerdict.WITHDRAWN: 200,
    BoardVerdict.DUPLICATE: 200,
    BoardVerdict.NOT_MEMBER: 403,
    BoardVerdict.NOT_AUTHOR: 403,
    BoardVerdict.NO_CURRENCY: 404,
    BoardVerdict.UNKNOWN_LISTING: 404,
    BoardVerdict.WITHDRAWN_BEFORE: 410,
    BoardVerdict.RATE_LIMITED: 429,
    BoardVerdict.MEMBER_FULL: 409,
    BoardVerdict.CURRENCY_FULL: 409,
    BoardVerdict.BOARD_FULL: 409,
    BoardVerdict.NOT_STORED: 503,
}  # the rest (malformed, bad_signature, bad_text, bad_times, expired, from_the_future): 400
_KINDS = {kind.value: kind for kind in ListingKind}
_CATEGORIES = {category.value: category for category in Category}
_CURSOR = re.compile(r"([0-9]{1,20})\.([0-9a-f]{64})")
MAX_BOARD_PAGE = 100


def board_routes(node: ExplorerNode, wrap: Wrap, json_body: JsonBody) -> list[Route]:
    board = node.board.board
    reads = node.reads

    def decimals_of(listing: Listing) -> int:
        currency = reads.currency(listing.body.currency)
        return currency.decimals if currency is not None else 0

    async def post(request: Request) -> Response:
        body = await json_body(request)
        if not isinstance(body, dict) or set(body) != {"item"} or not isinstance(body["item"], str):
            raise ApiError(
                400, "bad_request", 'expected {"item": "<base64 of a signed listing or withdrawal>"}'
            )
        raw = _b64(body["item"])
        answer = node.board.submit(raw)
        status = _STATUS.get(answer.verdict, 400)
        if status >= 400:
            retry = 3600.0 if answer.verdict is BoardVerdict.RATE_LIMITED else None
            raise ApiError(status, answer.verdict.value, answer.message, retry_after=retry)
        return JSONResponse(
            {
                "id": None if answer.item_id is None else answer.item_id.hex(),
                "status": answer.verdict.value,
                "message": answer.message,
            },
            status_code=status,
        )

    async def listings(request: Request) -> Response:
        query = _query(request, reads)
        page = board.query(dataclasses.replace(query, limit=query.limit + 1))
        shown = page[: query.limit]
        items = [listing_json(x, decimals_of(x), linked_payments(reads, x)) for x in shown]
        next_cursor = None
        if len(page) > query.limit:
            next_cursor = f"{shown[-1].body.created_ms}.{shown[-1].id.hex()}"
        return JSONResponse({"items": items, "next": next_cursor})

    async def one(request: Request) -> Response:
        text = request.path_params["listing"]
        if not re.fullmatch(r"[0-9a-fA-F]{20}|[0-9a-fA-F]{64}", text):
            raise ApiError(400, "bad_request", "a listing is named by its id (64 hex) or reference (20 hex)")
        item_id = board.resolve(text)
        listing = None if item_id is None else board.get(item_id)
        if item_id is not None and listing is None and board.is_withdrawn(item_id):
            raise ApiError(410, "withdrawn", "its author withdrew that listing")
        if listing is None:
            raise ApiError(404, "not_found", "no such listing on this node's board (expired, or never seen)")
        return JSONResponse(listing_json(listing, decimals_of(listing), linked_payments(reads, listing)))

    return [
        Route("/board", wrap(post), methods=["POST"]),
        Route("/board", wrap(listings), methods=["GET"]),
        Route("/board/{listing}", wrap(one), methods=["GET"]),
    ]


def _query(request: Request, reads: LedgerReads) -> BoardQuery:
    params = request.query_params
    currency = params.get("currency")
    kind, category, author, before = params.get("kind"), params.get("category"), params.get("author"), None
    if kind is not None and kind not in _KINDS:
        raise ApiError(400, "bad_request", "?kind must be offer or request")
    if category is not None and category not in _CATEGORIES:
        raise ApiError(400, "bad_request", f"?category must be one of {', '.join(_CATEGORIES)}")
    cursor_text = params.get("cursor")
    if cursor_text is not None:
        match = _CURSOR.fullmatch(cursor_text)
        if match is None:
            raise ApiError(400, "bad_request", "?cursor must be the 'next' value of a previous page")
        before = (int(match.group(1)), bytes.fromhex(match.group(2)))
    return BoardQuery(
        currency=None if currency is None else currency_or_error(reads, currency).code,
        kind=None if kind is None else _KINDS[kind],
        category=None if category is None else _CATEGORIES[category],
        author=None if author is None else address(author),
        before=before,
        limit=int(float_query(request, "limit", 1, MAX_BOARD_PAGE, default=50)),
    )


def _b64(text: str) -> bytes:
    if len(text) > 2 * MAX_ITEM_BYTES:
        raise ApiError(400, "too_large", f"a board item is at most {MAX_ITEM_BYTES} bytes")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "bad_request", "the item is not valid base64") from None
