"""Endpoints of the designs of protocol version 3.

* ``GET /currencies/{code}/businesses`` — a spend-locally currency's registered businesses;
* ``GET /currencies/{code}/credits`` — a guaranteed currency's report for its guarantor:
  outstanding credits (its liability) and every accredited organisation's quota and use;
* ``GET /currencies/{code}/credits/{address}`` — one organisation's report with its latest
  credits (``?limit=N``);
* ``GET /exchange`` (``?currency=CODE``) — the exchange agreements between communities, each with
  its clearing accounts and who owes whom; ``net`` sums a community's clearing balances;
* ``GET /exchange/{code}/{partner}`` — one agreement (a wallet reads its version and rate here
  before it signs a payment);
* ``GET /accounts/{address}/recovery`` — an account's guardians and any key recovery under way.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from node.api.designs_json import (
    business_entry_json,
    guarantor_report_json,
    guardianship_json,
    organisation_report_json,
    position_json,
)
from node.api.errors import ApiError
from node.api.explorer import ExplorerNode, Wrap, currency_or_error
from node.api.params import address, float_query
from node.designs_reads import DesignReads
from protocol.designs.terms import Acceptance
from protocol.operations import valid_code

MAX_CREDITS_LIMIT = 200


def design_routes(node: ExplorerNode, wrap: Wrap) -> list[Route]:
    reads = node.reads
    designs = DesignReads(reads)

    async def businesses(request: Request) -> Response:
        currency = currency_or_error(reads, request.path_params["code"].upper())
        if currency.extension.terms.accept is not Acceptance.REGISTERED:
            raise ApiError(
                404, "not_spend_locally", f"{currency.code} is not spent only with registered businesses"
            )
        items = [business_entry_json(b) for b in designs.businesses(currency.code)]
        return JSONResponse({"code": currency.code, "items": items})

    async def credits(request: Request) -> Response:
        currency = currency_or_error(reads, request.path_params["code"].upper())
        _guaranteed_or_error(currency.code, currency.extension.terms.guaranteed)
        return JSONResponse(guarantor_report_json(designs.guarantor_report(currency)))

    async def organisation(request: Request) -> Response:
        currency = currency_or_error(reads, request.path_params["code"].upper())
        _guaranteed_or_error(currency.code, currency.extension.terms.guaranteed)
        key = address(request.path_params["address"])
        limit = int(float_query(request, "limit", 1, MAX_CREDITS_LIMIT, default=50))
        report = designs.organisation_report(currency, key, limit)
        if report is None:
            raise ApiError(404, "not_accredited", f"this account was never accredited in {currency.code}")
        return JSONResponse(organisation_report_json(currency, report))

    async def exchange(request: Request) -> Response:
        code = request.query_params.get("currency")
        if code is not None:
            code = currency_or_error(reads, code.upper()).code
        positions = designs.positions(code)
        body: dict[str, Any] = {"items": [position_json(p) for p in positions]}
        if code is not None:
            body |= {"code": code, "net": sum(p.balance_of(code) for p in positions)}
        return JSONResponse(body)

    async def agreement(request: Request) -> Response:
        code, partner = request.path_params["code"].upper(), request.path_params["partner"].upper()
        if not (valid_code(code) and valid_code(partner)) or code == partner:
            raise ApiError(400, "bad_currency_code", "name two different currency codes: /exchange/HOUR/LETS")
        found = designs.position(code, partner)
        if found is None:
            raise ApiError(404, "not_found", f"no exchange agreement between {code} and {partner}")
        return JSONResponse(position_json(found))

    async def recovery(request: Request) -> Response:
        key = address(request.path_params["address"])
        now = reads.last.close_time_ms
        return JSONResponse(guardianship_json(key, designs.guardianship(key), now))

    return [
        Route("/currencies/{code}/businesses", wrap(businesses), methods=["GET"]),
        Route("/currencies/{code}/credits", wrap(credits), methods=["GET"]),
        Route("/currencies/{code}/credits/{address}", wrap(organisation), methods=["GET"]),
        Route("/exchange", wrap(exchange), methods=["GET"]),
        Route("/exchange/{code}/{partner}", wrap(agreement), methods=["GET"]),
        Route("/accounts/{address}/recovery", wrap(recovery), methods=["GET"]),
    ]


def _guaranteed_or_error(code: str, guaranteed: bool) -> None:
    if not guaranteed:
        raise ApiError(404, "not_guaranteed", f"{code} is not a currency of guaranteed time credits")
