"""A small synchronous client of the node's HTTP JSON API (see node/api/app.py).

Connection failures raise ``NodeUnreachable`` naming the URL (exit 3); error answers raise
``NodeError`` carrying the API's ``error`` code; the routes' JSON is returned as plain dicts.
Tests inject an ``httpx.Client`` (e.g. one bound to the API app in-process).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from protocol.addresses import encode_account
from protocol.hashing import network_id as network_id_of
from protocol.transactions import Transaction
from wallet.errors import NodeError, NodeUnreachable

DEFAULT_TIMEOUT_S = 10.0


class NodeClient:
    def __init__(
        self, url: str, *, http: httpx.Client | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> None:
        self.url = url.rstrip("/")
        self._http = http or httpx.Client(timeout=timeout_s)
        self._network_id: bytes | None = None

    def close(self) -> None:
        self._http.close()

    # -- plumbing --------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        timeout_s: float | None = None,
        allow: tuple[int, ...] = (),
    ) -> Any:
        url = f"{self.url}{path}"
        try:
            extra: dict[str, Any] = {} if timeout_s is None else {"timeout": timeout_s}
            response = self._http.request(method, url, params=params, json=body, **extra)
        except httpx.TimeoutException:
            raise NodeUnreachable(f"the node at {self.url} did not answer in time") from None
        except httpx.HTTPError as exc:
            raise NodeUnreachable(
                f"cannot reach the node at {self.url} ({type(exc).__name__}: {exc})"
            ) from None
        try:
            data = response.json()
        except (ValueError, json.JSONDecodeError):
            data = None
        if response.status_code >= 400 and response.status_code not in allow:
            code = data.get("error", "http_error") if isinstance(data, dict) else "http_error"
            message = (
                data.get("message", response.text[:200]) if isinstance(data, dict) else response.text[:200]
            )
            raise NodeError(
                f"the node at {self.url} answered {response.status_code}: {message}",
                status=response.status_code,
                code=str(code),
            )
        if data is None:
            raise NodeError(
                f"the node at {self.url} answered something that is not JSON",
                status=response.status_code,
                code="bad_response",
            )
        return data

    # -- routes ----------------------------------------------------------------------------------

    def node_info(self) -> dict[str, Any]:
        return dict(self._request("GET", "/node"))

    def network_id(self) -> bytes:
        """The network ID every signature covers, from ``GET /node``."""
        if self._network_id is None:
            info = self.node_info()
            if isinstance(info.get("network_id"), str):
                self._network_id = bytes.fromhex(info["network_id"])
            elif isinstance(info.get("network_passphrase"), str):
                self._network_id = network_id_of(info["network_passphrase"])
            else:
                raise NodeError(
                    f"the node at {self.url} does not say its network id (GET /node)",
                    status=200,
                    code="no_network_id",
                )
        return self._network_id

    def account(self, public_key: bytes) -> dict[str, Any]:
        return dict(self._request("GET", f"/accounts/{encode_account(public_key)}"))

    def history(self, public_key: bytes, *, limit: int = 50, before: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if before:
            params["before"] = before
        return dict(self._request("GET", f"/accounts/{encode_account(public_key)}/history", params=params))

    def currency(self, code: str) -> dict[str, Any] | None:
        data = self._request("GET", f"/currencies/{code}", allow=(404,))
        return None if "error" in data else dict(data)

    def tx_status(self, tx_hash: str) -> dict[str, Any]:
        return dict(self._request("GET", f"/tx/{tx_hash}", allow=(404,)))

    def latest_ledger(self) -> dict[str, Any]:
        return dict(self._request("GET", "/ledgers/latest"))

    def submit(self, tx: Transaction, *, wait_s: float = 0.0) -> dict[str, Any]:
        """Submit one transaction; its result entry (hash, status, code, explanation, ledger)."""
        params = {"wait": wait_s} if wait_s > 0 else None
        data = self._request(
            "POST",
            "/tx",
            params=params,
            body={"tx": base64.b64encode(tx.encode()).decode()},
            timeout_s=(wait_s + DEFAULT_TIMEOUT_S) if wait_s > 0 else None,
        )
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list) or len(results) != 1 or not isinstance(results[0], dict):
            raise NodeError(
                f"the node at {self.url} answered an unexpected submit result",
                status=200,
                code="bad_response",
            )
        return dict(results[0])
