"""The web pages' routes, mounted by ``node.api.app.create_app`` beside the JSON API on the same
port: ``/`` redirects to ``/web/``; ``/web/static`` serves the stylesheet and the live-update script
shipped in this package (no CDN: a community node may be offline from the wider internet).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import URLPath
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Match, Mount, NoMatchFound, Route, Router
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from node.api.explorer import ExplorerNode, Wrap
from node.web.board_pages import BoardPages
from node.web.design_pages import DesignPages
from node.web.governance_pages import GovernancePages
from node.web.pages import Pages
from node.web.site import Page, PageError, Site, serve


def web_routes(node: ExplorerNode, wrap: Wrap) -> list[BaseRoute]:
    """``wrap`` is the API's wrapper (per-client request rate limit, last-resort error answer)."""
    site = Site()
    pages = Pages(node)
    board = BoardPages(node)
    governance = GovernancePages(node)
    designs = DesignPages(node)

    async def home(request: Request) -> Response:
        return RedirectResponse("/web/", status_code=307)

    async def not_found(page: Page) -> Response:
        raise PageError(404, page.gettext("There is no page at this address."))

    routes = [
        ("/", pages.overview),
        ("/ledgers/{seq}", pages.ledger),
        ("/tx/{tx_hash}", pages.transaction),
        ("/accounts/{address}", pages.account),
        ("/currencies/{code}", pages.currency),
        ("/currencies/{code}/businesses", designs.businesses_page),
        ("/currencies/{code}/credits", designs.credits_page),
        ("/currencies/{code}/credits/{address}", designs.organisation_page),
        ("/currencies/{code}/exchange", designs.exchange_page),
        ("/exchange", designs.exchange_page),
        ("/board", board.board_page),
        ("/board/{listing}", board.listing_page),
        ("/proposals", governance.proposals_page),
        ("/proposals/{proposal_id}", governance.proposal_page),
        ("/fragments/ledger/{seq}", pages.ledger_row),
        ("/fragments/tx/{tx_hash}", pages.tx_row),
        ("/fragments/proposals/{proposal_id}", governance.tally_fragment),
    ]
    fallback = PageFallback(wrap(serve(site, not_found)))
    pages_router = Router(
        routes=[
            *(Route(path, wrap(serve(site, handler)), methods=["GET"]) for path, handler in routes),
            Mount("/static", StaticFiles(packages=[("node.web", "static")]), name="static"),
        ],
        default=fallback.handle,  # an unknown page: the HTML 404, not the API's JSON one
    )
    return [Route("/", wrap(home), methods=["GET"]), Mount("/web", app=pages_router), fallback]


class PageFallback(BaseRoute):
    """Any other path under ``/web/`` gets the HTML 404 page. (A ``{rest:path}`` route would miss
    paths with an encoded line break: starlette's patterns do not match newlines, and such a path
    fell through to the API's JSON 404.)"""

    def __init__(self, endpoint: Callable[[Request], Awaitable[Response]]) -> None:
        self.endpoint = endpoint

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["path"].startswith("/web/"):
            return Match.FULL, {}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.endpoint(Request(scope, receive))
        await response(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NoMatchFound(name, path_params)
