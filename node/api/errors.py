"""Every error the API gives is JSON ``{"error": code, "message": text}``: from handlers, from
routing (404, 405) and from the HTTP server itself (400, 431; see ``node.api.server``)."""

from __future__ import annotations

import json
import math

from starlette.responses import JSONResponse


class ApiError(Exception):
    """An error answered to the client. ``close`` ends the connection after the answer (the
    rest of the body was never read); ``retry_after`` (seconds) goes into ``Retry-After``."""

    def __init__(
        self, status: int, code: str, message: str, *, close: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.close, self.retry_after = close, retry_after

    def response(self) -> JSONResponse:
        return error_response(
            self.status, self.code, self.message, close=self.close, retry_after=self.retry_after
        )


def error_response(
    status: int, code: str, message: str, *, close: bool = False, retry_after: float | None = None
) -> JSONResponse:
    response = JSONResponse({"error": code, "message": message}, status_code=status)
    if retry_after is not None:
        response.headers["retry-after"] = str(max(1, math.ceil(retry_after)))  # whole seconds, >= 1
    if close:
        response.headers["connection"] = "close"
    return response


def error_body(code: str, message: str) -> bytes:
    """The same JSON as bytes, for answers written below the ASGI app."""
    return json.dumps({"error": code, "message": message}).encode()
