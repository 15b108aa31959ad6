"""Synchronous httpx clients that reach an ASGI app (the node's API) in this process.

The wallet is synchronous (``httpx.Client``), the API an ASGI app. Starlette's ``TestClient`` bridges
the two but is deprecated on httpx (Starlette now builds it on httpx2) and warns about per-request
timeouts, which the wallet sends. Here the client is a plain ``httpx.Client``, exactly what the
wallet uses in production; only its transport differs: httpx's own ``ASGITransport``, run in an
event loop on a helper thread (an anyio blocking portal), the response read whole before it is
handed back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import anyio.from_thread
import httpx
from starlette.types import ASGIApp


class InProcessTransport(httpx.BaseTransport):
    """Hands each request to the app through ``portal`` (the event loop on the helper thread)."""

    def __init__(
        self, app: ASGIApp, portal: anyio.from_thread.BlockingPortal, *, raise_app_exceptions: bool
    ) -> None:
        self._asgi = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._portal.call(self._respond, request)

    async def _respond(self, request: httpx.Request) -> httpx.Response:
        response = await self._asgi.handle_async_request(request)
        body = await response.aread()
        return httpx.Response(response.status_code, headers=response.headers, content=body, request=request)


@contextmanager
def in_process_clients(
    app: ASGIApp, *, raise_app_exceptions: bool = True
) -> Iterator[Callable[[str], httpx.Client]]:
    """A factory of clients (one per base URL asked for) bound to ``app``; all closed on exit.

    ``raise_app_exceptions=False`` turns an exception in the app into a 500 answer, as a real
    server does.
    """
    clients: list[httpx.Client] = []
    with anyio.from_thread.start_blocking_portal() as portal:
        transport = InProcessTransport(app, portal, raise_app_exceptions=raise_app_exceptions)

        def client(url: str) -> httpx.Client:
            clients.append(httpx.Client(transport=transport, base_url=url))
            return clients[-1]

        try:
            yield client
        finally:
            for opened in clients:
                opened.close()
