"""Governance endpoints: proposals and commons funds.

* ``GET /proposals?currency=CODE&status=open|passed|rejected|failed&limit=N&before=NUMBER`` —
  a currency's proposals, newest first (``next`` continues); without ``currency`` only
  ``status=open`` is allowed, listing every currency's open proposals by deadline;
* ``GET /proposals/{id}`` — one proposal, ``id`` as people write it: ``DEMOS-3``;
  each proposal also names ``decided_ledger``, the ledger that counted it (None while open);
* ``GET /currencies/{code}/fund`` — the currency's commons fund.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from node.api.errors import ApiError
from node.api.explorer import ExplorerNode, Wrap, currency_or_error
from node.api.governance_json import fund_json, proposal_json
from node.api.params import UINT32_MAX, float_query, integer
from node.governance_reads import GovernanceReads
from protocol.governance.entries import Proposal, ProposalStatus
from protocol.operations import valid_code

MAX_PROPOSALS_LIMIT = 100
PROPOSAL_ID = re.compile(r"([A-Z0-9]{1,12})-([0-9]{1,10})")
_STATUSES = {s.value: s for s in ProposalStatus}


def parse_proposal_id(text: str) -> tuple[str, int]:
    """``DEMOS-3`` → ("DEMOS", 3). Raises ApiError (400) for anything else."""
    match = PROPOSAL_ID.fullmatch(text.upper())
    number = int(match.group(2)) if match else 0
    if match is None or not valid_code(match.group(1)) or not 1 <= number <= UINT32_MAX:
        raise ApiError(400, "bad_proposal_id", "a proposal id is CODE-NUMBER, e.g. DEMOS-3")
    return match.group(1), number


def governance_routes(node: ExplorerNode, wrap: Wrap) -> list[Route]:
    reads = node.reads
    governance = GovernanceReads(reads.store)

    def view(proposal: Proposal) -> dict[str, Any]:
        decided = None
        if proposal.status is not ProposalStatus.OPEN:
            decided = reads.ledger_closed_at_or_after(proposal.deadline_ms)
        return proposal_json(proposal) | {"decided_ledger": decided}

    async def proposals(request: Request) -> Response:
        limit = int(float_query(request, "limit", 1, MAX_PROPOSALS_LIMIT, default=20))
        status_text = request.query_params.get("status")
        if status_text is not None and status_text not in _STATUSES:
            raise ApiError(400, "bad_status", f"status is one of {', '.join(_STATUSES)}")
        status = None if status_text is None else _STATUSES[status_text]
        code = request.query_params.get("currency")
        if code is None:
            if status is not ProposalStatus.OPEN:
                raise ApiError(400, "bad_request", "name a ?currency=CODE, or ask for ?status=open")
            items = governance.open_proposals(limit)
            return JSONResponse({"items": [view(p) for p in items], "next": None})
        currency = currency_or_error(reads, code.upper())
        before_text = request.query_params.get("before")
        before = None if before_text is None else integer(before_text, "?before", 2, UINT32_MAX)
        page = governance.proposals(currency, limit, before=before, status=status)
        return JSONResponse(
            {
                "code": currency.code,
                "items": [view(p) for p in page.items],
                "next": None if page.next_before is None else str(page.next_before),
            }
        )

    async def proposal(request: Request) -> Response:
        code, number = parse_proposal_id(request.path_params["proposal_id"])
        found = governance.proposal(code, number)
        if found is None:
            raise ApiError(404, "not_found", f"no proposal {code}-{number} on this ledger")
        return JSONResponse(view(found))

    async def fund(request: Request) -> Response:
        currency = currency_or_error(reads, request.path_params["code"].upper())
        return JSONResponse(fund_json(currency, governance.fund(currency.code)))

    return [
        Route("/proposals", wrap(proposals), methods=["GET"]),
        Route("/proposals/{proposal_id}", wrap(proposal), methods=["GET"]),
        Route("/currencies/{code}/fund", wrap(fund), methods=["GET"]),
    ]
