"""HTTP routes. Every request input is size- and type-checked; every error is JSON
``{"error": code, "message": text}`` with a fitting status (``Retry-After`` on 429 and 503), and no
request can crash the node. Bodies are read under ``node.api.body``'s limits.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import anyio.lowlevel
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from node.api.board import board_routes
from node.api.body import BodyBudget, ClientGone, read_json
from node.api.designs import design_routes
from node.api.errors import ApiError, error_response
from node.api.events import StreamLimits, event_routes
from node.api.explorer import ExplorerNode, explorer_routes
from node.api.governance import governance_routes
from node.api.limits import ApiLimits
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
from node.mempool import MEMPOOL_CODES, OVERLOADED, Admission
from node.ratelimit import RateLimiter
from node.tx_status import TxStatus
from node.web.app import web_routes
from protocol.errors import DecodeError
from protocol.ledger import LedgerHeader
from protocol.operations import valid_code
from protocol.results import ResultCode
from protocol.state import Account, Currency, Holding
from protocol.transactions import Transaction, TxHeader, decode_transaction, peek_transaction

logger = logging.getLogger("tally.api")

MAX_BODY_BYTES = ApiLimits().max_body_bytes
MAX_TXS_PER_REQUEST = ApiLimits().max_txs_per_request
MAX_WAIT_S = 60.0
MAX_HISTORY_LIMIT = 200
# A request of 2,000 transactions is decoded and admitted in pieces this size, letting other tasks
# (SCP statements, peers' requests, other clients) run in between: one large request must not
# hold the event loop for the whole batch.
WORK_CHUNK = 100
REQUESTS_PER_S = 1000.0  # per client, every endpoint (before the body is read)
_EXPLAIN = {code.value: code.explanation for code in ResultCode} | MEMPOOL_CODES


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


def create_app(
    node: NodeFacade,
    *,
    admin_token: str | None = None,
    submit_limiter: RateLimiter | None = None,
    request_limiter: RateLimiter | None = None,
    limits: ApiLimits | None = None,
    explorer: ExplorerNode | None = None,
    cors_origins: Sequence[str] = (),
    stream_limits: StreamLimits | None = None,
) -> Starlette:
    """The API app. ``explorer`` (the real node's façade) adds the read endpoints, the event
    stream and the web pages, which need the ledger store; test fakes may leave it out.
    ``cors_origins`` lists the web origins allowed to call the API from a browser (none by
    default: ``[api] cors_origins`` in node.toml)."""
    limiter = submit_limiter or RateLimiter(rate=2000.0, burst=4000.0)  # transactions per client
    requests = request_limiter or RateLimiter(rate=REQUESTS_PER_S, burst=2 * REQUESTS_PER_S)  # any request
    usable_token = (admin_token or "").strip()
    limits = limits or ApiLimits()
    bodies = BodyBudget(limits.max_inflight_body_bytes, limits.max_inflight_per_client)

    async def json_body(request: Request) -> Any:
        return await read_json(request, client_source(request), limits, bodies)

    def route(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
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

    async def submit(request: Request) -> Response:
        client = client_source(request)
        body = await json_body(request)
        raw_list = _tx_list(body, limits.max_txs_per_request)
        if not limiter.allow(client, cost=len(raw_list)):
            raise ApiError(
                429,
                "rate_limited",
                "too many transactions from this client; slow down",
                retry_after=limiter.wait_s(client, cost=len(raw_list)),
            )
        wait = float_query(request, "wait", 0.0, MAX_WAIT_S)
        decoded, results = await _first_looks(node, raw_list, client)
        admissions: list[Admission] = []
        for start in range(0, len(decoded), WORK_CHUNK):
            if start:
                await anyio.lowlevel.checkpoint()
            admissions += node.submit([tx for _, tx in decoded[start : start + WORK_CHUNK]], source=client)
        accepted = [tx.hash for (_, tx), adm in zip(decoded, admissions, strict=True) if adm.accepted]
        if wait > 0 and accepted:
            await node.wait_for(accepted, wait)
        for (index, tx), admission in zip(decoded, admissions, strict=True):
            if admission.accepted:
                results[index] = _status_json(tx.hash, node.tx_status(tx.hash))
            else:
                results[index] = _refusal_json(tx.hash, admission)
        response = JSONResponse({"results": results})
        retry = [r["figures"]["retry_after_s"] for r in results if r is not None and r["code"] == OVERLOADED]
        if retry:  # the network is at its capacity: come back when a ledger has made room
            response.headers["retry-after"] = str(max(retry))
        return response

    async def tx_status(request: Request) -> Response:
        tx_hash = hex32(request.path_params["tx_hash"], "transaction hash")
        status = node.tx_status(tx_hash)
        body = _status_json(tx_hash, status)
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

    routes: list[BaseRoute] = [
        Route("/tx", route(submit), methods=["POST"]),
        Route("/tx/{tx_hash}", route(tx_status), methods=["GET"]),
        Route("/accounts/{address}", route(account), methods=["GET"]),
        Route("/accounts/{address}/history", route(history), methods=["GET"]),
        Route("/currencies/{code}", route(currency), methods=["GET"]),
        Route("/ledgers/{seq}", route(ledger), methods=["GET"]),
        Route("/node", route(node_info), methods=["GET"]),
        Route("/peers", route(peers), methods=["GET"]),
        Route("/health", route(health), methods=["GET"]),
        Route("/quorum", route(quorum), methods=["GET"]),
        Route("/metrics", route(metrics), methods=["GET"]),
        Route("/admin/{action}", route(admin), methods=["POST"]),
    ]
    if explorer is not None:
        routes += [
            *explorer_routes(explorer, route),
            *design_routes(explorer, route),
            *governance_routes(explorer, route),
            *event_routes(explorer, route, stream_limits, read_timeout_s=limits.read_timeout_s),
            *board_routes(explorer, route, json_body),
            *web_routes(explorer, route),
        ]
    middleware = []
    if cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["content-type", "last-event-id"],
                expose_headers=["retry-after"],
            )
        )
    app = Starlette(routes=routes, middleware=middleware)
    app.router.redirect_slashes = False  # a redirect would be a non-JSON answer; 404 says what to use
    app.add_exception_handler(404, _not_found)
    app.add_exception_handler(405, _method_not_allowed)
    log(logger, logging.DEBUG, "api ready", routes=len(routes))
    return app


async def _first_looks(
    node: NodeFacade, raw_list: list[Any], client: str
) -> tuple[list[tuple[int, Transaction]], list[dict[str, Any] | None]]:
    """Decode a request's transactions, except those the mempool refuses on a first look (hash,
    source, sequence: ``refuse_early``), which cost a few microseconds instead of a full decode.
    An account's later transactions in the same request are decoded in full, since its earlier
    ones may make them valid. Returns what to submit, with its place, and the answers so far."""
    results: list[dict[str, Any] | None] = [None] * len(raw_list)
    decoded: list[tuple[int, Transaction]] = []
    seen: set[bytes] = set()
    for index, text in enumerate(raw_list):
        if index and index % WORK_CHUNK == 0:
            await anyio.lowlevel.checkpoint()  # see WORK_CHUNK
        try:
            raw = _b64(text)
            header = peek_transaction(raw, node.network_id)
            if header is not None and header.source not in seen:
                refusal = node.refuse_early(header, source=client)
                if refusal is not None:
                    results[index] = _refusal_json(header.hash, refusal)
                    continue
            tx = decode_transaction(raw, node.network_id)
        except (DecodeError, ApiError) as exc:
            results[index] = {
                "hash": None,
                "status": "rejected",
                "code": "malformed",
                "explanation": f"cannot decode the transaction: {exc}",
                "ledger": None,
                "figures": {},
            }
            continue
        seen.add(tx.body.source)
        decoded.append((index, tx))
    return decoded, results


def _refusal_json(tx_hash: bytes, admission: Admission) -> dict[str, Any]:
    return _status_json(
        tx_hash, TxStatus("rejected", None if admission.code is None else admission.code.value)
    ) | {"figures": dict(admission.figures)}


def _status_json(tx_hash: bytes, status: TxStatus) -> dict[str, Any]:
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


def _tx_list(body: Any, max_txs: int) -> list[Any]:
    if isinstance(body, dict) and set(body) == {"tx"}:
        return [body["tx"]]
    if isinstance(body, dict) and set(body) == {"txs"} and isinstance(body["txs"], list):
        if not 1 <= len(body["txs"]) <= max_txs:
            raise ApiError(400, "bad_request", f"send 1 to {max_txs} transactions per request")
        return list(body["txs"])
    raise ApiError(400, "bad_request", 'expected {"tx": "<base64>"} or {"txs": ["<base64>", ...]}')


def _b64(text: Any) -> bytes:
    if not isinstance(text, str) or len(text) > 64 * 1024:
        raise ApiError(400, "bad_request", "each transaction must be a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "bad_request", "a transaction is not valid base64") from None


async def _not_found(request: Request, exc: Exception) -> Response:
    path = request.url.path
    hint = f" (did you mean {path.rstrip('/')}?)" if path.endswith("/") and path != "/" else ""
    return error_response(404, "not_found", f"no such endpoint: {path}{hint}")


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    return error_response(405, "method_not_allowed", f"{request.method} is not allowed on {request.url.path}")
