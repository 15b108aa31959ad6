"""The HTTP server under the API: hypercorn on trio, with the API's deadlines, and JSON errors even
for requests hypercorn refuses before the app sees them.

hypercorn answers a malformed request (400) or oversized headers (431) itself, with an empty body.
README promises JSON for every error, so ``serve_api`` swaps in an HTTP/1.1 protocol class whose
only change is that answer's body. hypercorn picks the class by name from
``hypercorn.protocol``; the swap is checked at start (a warning if this hypercorn lacks the hook)
and by the security tests against a real server.
"""

from __future__ import annotations

import logging
import socket
from itertools import chain
from typing import TYPE_CHECKING

import h11
import hypercorn.protocol
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.events import RawData
from hypercorn.protocol.h11 import H11Protocol
from hypercorn.trio import serve

from node.api.errors import error_body
from node.api.limits import ApiLimits
from node.errors import ConfigError
from node.logs import log

if TYPE_CHECKING:
    from trio_typing import TaskStatus  # trio-typing's stubs shadow trio's own

logger = logging.getLogger("tally.api")

_PROTOCOL_ERRORS = {
    400: ("bad_request", "the request is not valid HTTP/1.1"),
    431: ("headers_too_large", "the request line and headers are too large"),
}


class _JsonErrorH11Protocol(H11Protocol):
    """hypercorn's HTTP/1.1 protocol, answering its own protocol errors with a JSON body."""

    async def _send_error_response(self, status_code: int) -> None:
        if self.stream is not None:
            # The request was under way (its body broke off or its framing is broken): the app
            # is told the client is gone and answers nothing; writing here would race the app's
            # own answer on the socket (hypercorn then logs a traceback per disconnect).
            return
        code, message = _PROTOCOL_ERRORS.get(status_code, ("bad_request", "the request was refused"))
        body = error_body(code, message)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        response = h11.Response(
            status_code=status_code, headers=list(chain(headers, self.config.response_headers("h11")))
        )
        data = self.connection.send(response) + (self.connection.send(h11.Data(data=body)) or b"")
        await self.send(RawData(data=data + (self.connection.send(h11.EndOfMessage()) or b"")))  # one write


def check_bindable(bind: str, where: str) -> None:
    """Refuse a ``HOST:PORT`` the API cannot listen on (in use, or not an address of this machine)
    before anything starts: a failed bind inside the server would end the node with a traceback."""
    host, _, port = bind.rpartition(":")
    host = host.strip("[]")
    if not port.isdigit() or int(port) == 0:
        return
    try:
        infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ConfigError(f"{where}: cannot resolve {host!r} ({exc.strerror})") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ConfigError(f"{where}: cannot listen on {bind} ({exc.strerror})") from None


def hypercorn_config(bind: str, limits: ApiLimits) -> HypercornConfig:
    config = HypercornConfig()
    config.bind = [bind]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.keep_alive_timeout = limits.keep_alive_s
    config.read_timeout = limits.read_timeout_s  # type: ignore[assignment]  # trio takes float seconds
    config.h11_max_incomplete_size = limits.max_header_bytes
    return config


async def serve_api(
    app: object, config: HypercornConfig, *, task_status: TaskStatus[str] = trio.TASK_STATUS_IGNORED
) -> None:
    """Serve ``app`` until cancelled; ``task_status.started`` gets the first bound URL."""
    use_json_protocol_errors()
    bound_urls: list[str] = []

    class _Started:
        def started(self, value: list[str] | None = None) -> None:
            bound_urls.extend(value or [])
            task_status.started(bound_urls[0] if bound_urls else f"http://{config.bind[0]}")

    await serve(app, config, task_status=_Started())  # type: ignore[arg-type]


def use_json_protocol_errors() -> None:
    """Make hypercorn's own error answers JSON; a hypercorn without the hook to extend keeps its
    empty ones (logged once: the API still serves; the security tests fail on such a version)."""
    current = getattr(hypercorn.protocol, "H11Protocol", None)
    if not (isinstance(current, type) and issubclass(current, H11Protocol)) or not hasattr(
        H11Protocol, "_send_error_response"
    ):
        log(logger, logging.WARNING, "hypercorn's protocol errors stay non-JSON on this version")
        return
    setattr(hypercorn.protocol, "H11Protocol", _JsonErrorH11Protocol)  # noqa: B010 (not re-exported)
