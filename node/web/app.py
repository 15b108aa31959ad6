"""The web pages' routes, mounted by ``node.api.app.create_app`` beside the JSON API on the same
port: ``/`` redirects to ``/web/``; ``/web/static`` serves the stylesheet and the live-update script
shipped in this package (no CDN: a community node may be offline from the wider internet).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from node.api.explorer import ExplorerNode, Wrap
from node.web.pages import Pages
from node.web.site import Page, PageError, Site, serve


def web_routes(node: ExplorerNode, wrap: Wrap) -> list[BaseRoute]:
    """``wrap`` is the API's wrapper (per-client request rate limit, last-resort error answer)."""
    site = Site()
    pages = Pages(node)

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
        ("/fragments/ledger/{seq}", pages.ledger_row),
        ("/fragments/tx/{tx_hash}", pages.tx_row),
    ]
    return [
        Route("/", wrap(home), methods=["GET"]),
        Mount(
            "/web",
            routes=[
                *(Route(path, wrap(serve(site, handler)), methods=["GET"]) for path, handler in routes),
                Mount("/static", StaticFiles(packages=[("node.web", "static")]), name="static"),
                Route("/{rest:path}", wrap(serve(site, not_found)), methods=["GET"]),
            ],
        ),
    ]
