"""Read endpoints the explorer pages and wallets share: recent ledgers with paging and a
currency's member directory. Both page with a cursor taken from the last item of the previous
page, so a page never shifts when new ledgers close or new members join meanwhile.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from node.api.errors import ApiError
from node.api.params import UINT32_MAX, address, float_query, integer
from node.api.views import ledger_summary_json, member_json
from node.board.gossip import BoardGossip
from node.reads import LedgerReads, ValidatorStatus
from node.tx_status import TxStatus
from protocol.addresses import encode_account
from protocol.operations import valid_code
from protocol.state import Account, Currency, Holding
from protocol.transactions import Transaction

MAX_LEDGERS_LIMIT = 100
MAX_MEMBERS_LIMIT = 200


class ExplorerNode(Protocol):
    """What the explorer endpoints, the event stream and the web pages read: the real node's
    façade (``node.facade.NodeApi``), whose ledger store they need."""

    reads: LedgerReads
    board: BoardGossip  # the offers and requests board (node.api.board)

    def validators(self) -> list[ValidatorStatus]: ...
    def info(self) -> dict[str, Any]: ...
    def health(self) -> tuple[bool, dict[str, Any]]: ...
    def tx_status(self, tx_hash: bytes) -> TxStatus: ...
    def account_state(self, account: bytes) -> tuple[Account, list[Holding], int]: ...
    def history(
        self, account: bytes, limit: int, before: tuple[int, int] | None
    ) -> list[tuple[int, int, Transaction, str, int]]: ...


Handler = Callable[[Request], Awaitable[Response]]
Wrap = Callable[[Handler], Handler]  # the API's wrapper: rate limit, JSON errors (node.api.app)


def currency_or_error(reads: LedgerReads, code: str) -> Currency:
    """The currency ``code`` names; 400 for a malformed code, 404 for an unknown one."""
    if not valid_code(code):
        raise ApiError(400, "bad_currency_code", "a currency code is 1-12 characters of A-Z and 0-9")
    found = reads.currency(code)
    if found is None:
        raise ApiError(404, "not_found", f"no currency {code} on this ledger")
    return found


def explorer_routes(node: ExplorerNode, wrap: Wrap) -> list[Route]:
    reads = node.reads

    async def ledgers(request: Request) -> Response:
        limit = int(float_query(request, "limit", 1, MAX_LEDGERS_LIMIT, default=20))
        before_text = request.query_params.get("before")
        before = None if before_text is None else integer(before_text, "?before", 2, UINT32_MAX)
        page = reads.ledgers(limit + 1, before)
        items = [ledger_summary_json(s) for s in page[:limit]]
        next_cursor = str(page[limit - 1].header.seq) if len(page) > limit else None
        return JSONResponse({"items": items, "next": next_cursor})

    async def members(request: Request) -> Response:
        currency = currency_or_error(reads, request.path_params["code"])
        limit = int(float_query(request, "limit", 1, MAX_MEMBERS_LIMIT, default=50))
        after_text = request.query_params.get("after")
        after = None if after_text is None else address(after_text)
        page = reads.members(currency.code, limit + 1, after)
        as_of = reads.last.close_time_ms
        items = [member_json(m, currency, as_of) for m in page[:limit]]
        next_cursor = encode_account(page[limit - 1].holding.account) if len(page) > limit else None
        return JSONResponse({"code": currency.code, "items": items, "next": next_cursor})

    return [
        Route("/ledgers", wrap(ledgers), methods=["GET"]),
        Route("/currencies/{code}/members", wrap(members), methods=["GET"]),
    ]
