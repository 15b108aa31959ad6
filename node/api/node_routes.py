"""The node's own endpoints besides submission: transaction status, accounts and their history,
currencies, ledgers, node, peers, health, quorum, metrics, and the admin actions; and the wrapper
every route of the API runs in (per-client rate limit, JSON errors, no crash on a bug).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from node.api.body import ClientGone
from node.api.errors import ApiError, error_response
from node.api.explorer import ExplorerNode
from node.api.params import UINT32_MAX, address, client_source, cursor, float_query, hex32, integer
from node.api.views import (
    account_json,
    balance_json,
    currency_json,
    header_json,
    transaction_json,
    tx_record_json,
)
from node.errors import AdminForbiddenError
from node.logs import log
from node.mempool import MEMPOOL_CODES, Admission
from node.ratelimit import RateLimiter
from node.tx_status import TxStatus
from protocol.ledger import LedgerHeader
from protocol.operations import valid_code
from protocol.results import ResultCode
from protocol.state import Account, Currency, Holding
from protocol.transactions import Transaction, TxHeader

logger = logging.getLogger("tally.api")

MAX_HISTORY_LIMIT = 200
_EXPLAIN = {code.value: code.explanation for code in ResultCode} | MEMPOOL_CODES

Handler = Callable[[Request], Awaitable[Response]]
JsonBody = Callable[[Request], Awaitable[Any]]


class NodeFacade(Protocol):
    """What the API needs from the node (implemented by ``node.facade.NodeApi``)."""

    network_id: bytes

    def submit(self, transactions: list[Transaction], source: str | None = None) -> list[Admission]: ...
    def refuse_early(self, header: TxHeader, source: str | None = None) -> Admission | None: ...
    async def wait_for(self, tx_hashes: list[bytes], timeout_s: float) -> None: ...
    def tx_status(self, tx_hash: bytes) -> TxStatus: ...
    def account_state(self, account: bytes) -> tuple[Account, list[Holding], int]: ...
    def currency(self, code: str) -> Currency | None: ...
    def history(
        self, account: bytes, limit: int, before: tuple[int, int] | None
    ) -> list[tuple[int, int, Transaction, str, int]]: ...
    def ledger(self, seq: int | None) -> tuple[LedgerHeader, list[tuple[str, str]]] | None: ...
    def info(self) -> dict[str, Any]: ...
    def peers_info(self) -> list[dict[str, Any]]: ...
    def health(self) -> tuple[bool, dict[str, Any]]: ...
    def quorum(self) -> dict[str, Any]: ...
    def metrics_text(self) -> bytes: ...
    def admin(self, action: str, params: dict[str, Any]) -> dict[str, Any]: ...


def guard(requests: RateLimiter) -> Callable[[Handler], Handler]:
    """The wrapper of every route: ``requests`` per client before anything is read, and every
    failure a JSON answer."""

    def route(handler: Handler) -> Handler:
        async def wrapped(request: Request) -> Response:
            client = client_source(request)
            if not requests.allow(client):
                return error_response(
                    429,
                    "rate_limited",
                    "too many requests from this client; slow down",
                    retry_after=requests.wait_s(client),
                )
            try:
                return await handler(request)
            except ApiError as exc:
                return exc.response()
            except ClientGone:  # not the node's error: at most a DEBUG line
                log(logger, logging.DEBUG, "client went away mid-request", path=request.url.path)
                # Heard only when the server closed a silent connection (its read timeout).
                return error_response(408, "too_slow", "the request body stopped arriving", close=True)
            except Exception:  # a bug must not take the node down; log it and answer 500
                logger.exception("api handler failed", extra={"fields": {"path": request.url.path}})
                return error_response(500, "internal", "the node hit an internal error; see its log")

        return wrapped

    return route


def account_routes(
    node: NodeFacade, route: Callable[[Handler], Handler], explorer: ExplorerNode | None
) -> list[Route]:
    """Transactions, accounts and currencies (``explorer`` adds a transaction's contents)."""

    async def tx_status(request: Request) -> Response:
        tx_hash = hex32(request.path_params["tx_hash"], "transaction hash")
        status = node.tx_status(tx_hash)
        body = status_json(tx_hash, status)
        record = explorer.reads.transaction(tx_hash) if explorer is not None else None
        if record is not None:  # the decoded contents, beside the status keys
            body = tx_record_json(record) | body
        return JSONResponse(body, status_code=404 if status.status == "unknown" else 200)

    async def account(request: Request) -> Response:
        key = address(request.path_params["address"])
        account_entry, holdings, pending = node.account_state(key)
        info = node.info()["ledger"]
        balances = [balance_json(h, node.currency(h.currency), info.get("close_time_ms")) for h in holdings]
        ledger = info["seq"]
        return JSONResponse(account_json(account_entry, balances, pending, ledger))

    async def history(request: Request) -> Response:
        key = address(request.path_params["address"])
        limit = int(float_query(request, "limit", 1, MAX_HISTORY_LIMIT, default=50))
        before = cursor(request.query_params.get("before"))
        items = node.history(key, limit + 1, before)
        page = items[:limit]
        body = []
        for ledger, index, tx, code, close_time in page:
            body.append(
                {
                    **transaction_json(tx),
                    "ledger": ledger,
                    "index": index,
                    "code": code,
                    "close_time_ms": close_time,
                }
            )
        next_cursor = f"{page[-1][0]}.{page[-1][1]}" if len(items) > limit else None
        return JSONResponse({"items": body, "next": next_cursor})

    async def currency(request: Request) -> Response:
        code = request.path_params["code"]
        if not valid_code(code):
            raise ApiError(400, "bad_currency_code", "a currency code is 1-12 characters of A-Z and 0-9")
        found = node.currency(code)
        if found is None:
            raise ApiError(404, "not_found", f"no currency {code} on this ledger")
        return JSONResponse(currency_json(found))

    return [
        Route("/tx/{tx_hash}", route(tx_status), methods=["GET"]),
        Route("/accounts/{address}", route(account), methods=["GET"]),
        Route("/accounts/{address}/history", route(history), methods=["GET"]),
        Route("/currencies/{code}", route(currency), methods=["GET"]),
    ]


def node_routes(node: NodeFacade, route: Callable[[Handler], Handler]) -> list[Route]:
    """Ledgers and the node's own state: info, peers, health, quorum, metrics."""

    async def ledger(request: Request) -> Response:
        which = request.path_params["seq"]
        seq = None if which == "latest" else integer(which, "ledger seq", 1, UINT32_MAX)
        found = node.ledger(seq)
        if found is None:
            raise ApiError(404, "not_found", f"ledger {which} is not known to this node")
        header, transactions = found
        body = header_json(header, len(transactions))
        body["transactions"] = [{"hash": h, "code": c} for h, c in transactions]
        return JSONResponse(body)

    async def node_info(request: Request) -> Response:
        return JSONResponse(node.info())

    async def peers(request: Request) -> Response:
        return JSONResponse({"peers": node.peers_info()})

    async def health(request: Request) -> Response:
        ok, details = node.health()
        return JSONResponse(
            {"status": "ok" if ok else "unhealthy", **details}, status_code=200 if ok else 503
        )

    async def quorum(request: Request) -> Response:
        return JSONResponse(node.quorum())

    async def metrics(request: Request) -> Response:
        return Response(node.metrics_text(), media_type="text/plain; version=0.0.4; charset=utf-8")

    return [
        Route("/ledgers/{seq}", route(ledger), methods=["GET"]),
        Route("/node", route(node_info), methods=["GET"]),
        Route("/peers", route(peers), methods=["GET"]),
        Route("/health", route(health), methods=["GET"]),
        Route("/quorum", route(quorum), methods=["GET"]),
        Route("/metrics", route(metrics), methods=["GET"]),
    ]


def admin_route(
    node: NodeFacade, route: Callable[[Handler], Handler], json_body: JsonBody, admin_token: str | None
) -> Route:
    """``POST /admin/{action}`` with ``Authorization: Bearer <admin token>``; no token, no admin."""
    usable_token = (admin_token or "").strip()

    async def admin(request: Request) -> Response:
        supplied = _bearer_token(request.headers.get("authorization", ""))
        # an empty token is no secret: admin stays disabled (compare_digest("", "") is true)
        if not usable_token or not hmac.compare_digest(supplied.encode(), usable_token.encode()):
            raise ApiError(401, "unauthorized", "admin endpoints need 'Authorization: Bearer <admin token>'")
        body = await json_body(request)
        if not isinstance(body, dict):
            raise ApiError(400, "bad_request", "expected a JSON object")
        try:
            return JSONResponse(node.admin(request.path_params["action"], body))
        except ValueError as exc:
            raise ApiError(400, "bad_request", str(exc)) from None
        except AdminForbiddenError as exc:
            raise ApiError(403, "forbidden", str(exc)) from None

    return Route("/admin/{action}", route(admin), methods=["POST"])


def status_json(tx_hash: bytes, status: TxStatus) -> dict[str, Any]:
    return {
        "hash": tx_hash.hex(),
        "status": status.status,
        "code": status.code,
        "explanation": _EXPLAIN.get(status.code) if status.code else None,
        "ledger": status.ledger,
        "op_index": status.op_index,
    }


def _bearer_token(header: str) -> str:
    """The token of ``Authorization: Bearer <token>`` (scheme case-insensitive, RFC 7235); "" when
    the header has another scheme or no scheme: a bare token is refused."""
    scheme, _, token = header.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""
