"""The HTTP API's limits in one place: what a client may send, how fast, how much at once.

The app (``node.api.app``, ``node.api.body``) and the HTTP server settings
(``node.api.server``) both read them, so a test can run the real app and a real hypercorn with
short deadlines instead of sleeping through long ones.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ApiLimits:
    max_body_bytes: int = 4 * MIB  # one request body (413 beyond, judged from Content-Length first)
    max_txs_per_request: int = 2_000
    body_deadline_s: float = 30.0  # the whole body must arrive within this (408 otherwise)
    read_timeout_s: float = 20.0  # hypercorn: a connection silent this long is closed
    keep_alive_s: float = 75.0  # fewer races between a client reusing a connection and its close
    max_header_bytes: int = 16 * 1024  # request line + headers (431 beyond)
    max_inflight_body_bytes: int = 64 * MIB  # all bodies being received at once, node-wide (503)
    max_inflight_per_client: int = 8 * MIB  # of those, from one client address (503)
    max_json_depth: int = 16  # nested arrays/objects (400 beyond; the API needs 2)
    max_json_containers: int = 10_000  # arrays and objects in one body (400 beyond; the API needs 2)
