"""HTTP routes. Every request input is size- and type-checked; every error is JSON
``{"error": code, "message": text}`` with a fitting status (``Retry-After`` on 429 and 503), and no
request can crash the node. Bodies are read under ``node.api.body``'s limits.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import anyio.lowlevel
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from node.api.board import board_routes
from node.api.body import BodyBudget, read_json
from node.api.designs import design_routes
from node.api.errors import ApiError, error_response
from node.api.events import StreamLimits, event_routes
from node.api.explorer import ExplorerNode, explorer_routes
from node.api.governance import governance_routes
from node.api.limits import ApiLimits
from node.api.node_routes import (
    NodeFacade,
    account_routes,
    admin_route,
    guard,
    node_routes,
    status_json,
)
from node.api.params import client_source, float_query
from node.logs import log
from node.mempool import OVERLOADED, Admission
from node.ratelimit import RateLimiter
from node.tx_status import TxStatus
from node.web.app import web_routes
from protocol.errors import DecodeError
from protocol.transactions import Transaction, decode_transaction, peek_transaction

logger = logging.getLogger("tally.api")

MAX_BODY_BYTES = ApiLimits().max_body_bytes
MAX_TXS_PER_REQUEST = ApiLimits().max_txs_per_request
MAX_WAIT_S = 60.0
# A request of 2,000 transactions is decoded and admitted in pieces this size, letting other tasks
# (SCP statements, peers' requests, other clients) run in between: one large request must not
# hold the event loop for the whole batch. Its pieces are admitted in turns with other requests and
# peers' batches (``admission_turns``: one piece per pass of the event loop, however many clients).
WORK_CHUNK = 100
REQUESTS_PER_S = 1000.0  # per client, every endpoint (before the body is read)


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
    admission_turns: contextlib.AbstractAsyncContextManager[object] | None = None,
) -> Starlette:
    """The API app. ``explorer`` (the real node's façade) adds the read endpoints, the event
    stream and the web pages, which need the ledger store; test fakes may leave it out.
    ``cors_origins`` lists the web origins allowed to call the API from a browser (none by
    default: ``[api] cors_origins`` in node.toml). ``admission_turns`` is the node's lock that
    bulk admissions take turns on (``LedgerChain.admission_turns``); without it each piece of a
    request is only preceded by a scheduling point."""
    limiter = submit_limiter or RateLimiter(rate=2000.0, burst=4000.0)  # transactions per client
    requests = request_limiter or RateLimiter(rate=REQUESTS_PER_S, burst=2 * REQUESTS_PER_S)  # any request
    limits = limits or ApiLimits()
    bodies = BodyBudget(limits.max_inflight_body_bytes, limits.max_inflight_per_client)

    async def json_body(request: Request) -> Any:
        return await read_json(request, client_source(request), limits, bodies)

    route = guard(requests)

    async def submit(request: Request) -> Response:
        started = anyio.current_time()
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
            chunk = [tx for _, tx in decoded[start : start + WORK_CHUNK]]
            if admission_turns is None:  # a scheduling point before each piece all the same
                await anyio.lowlevel.checkpoint()
                admissions += node.submit(chunk, source=client)
                continue
            async with admission_turns:  # see WORK_CHUNK
                admissions += node.submit(chunk, source=client)
        # ?wait= waits for what can apply now; one queued behind a missing sequence number cannot
        # until that one comes, so waiting on it only held the answer back for the whole wait.
        applicable = [
            tx.hash
            for (_, tx), adm in zip(decoded, admissions, strict=True)
            if adm.accepted and not adm.queued
        ]
        if wait > 0 and applicable:
            await node.wait_for(applicable, wait)
        for (index, tx), admission in zip(decoded, admissions, strict=True):
            if admission.accepted:
                results[index] = status_json(tx.hash, node.tx_status(tx.hash))
            else:
                results[index] = _refusal_json(tx.hash, admission)
        response = JSONResponse({"results": results})
        retry = [r["figures"]["retry_after_s"] for r in results if r is not None and r["code"] == OVERLOADED]
        if retry:  # the network is at its capacity: come back when a ledger has made room
            response.headers["retry-after"] = str(max(retry))
        if anyio.current_time() - started >= limits.read_timeout_s / 2:
            # hypercorn stops reading a connection that stays silent for its read timeout, even
            # while the app is still answering (a long ?wait=): a client that sent its next request
            # on it would wait forever. Tell it to open a new connection instead.
            response.headers["connection"] = "close"
        return response

    routes: list[BaseRoute] = [
        Route("/tx", route(submit), methods=["POST"]),
        *account_routes(node, route, explorer),
        *node_routes(node, route),
        admin_route(node, route, json_body, admin_token),
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
    return status_json(
        tx_hash, TxStatus("rejected", None if admission.code is None else admission.code.value)
    ) | {"figures": dict(admission.figures)}


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
