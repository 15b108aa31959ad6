"""A small synchronous client of the node's HTTP JSON API (see node/api/app.py).

Every answer is parsed into a typed view (``wallet.views``) as it arrives: a field that is
missing or of the wrong type raises ``BadResponse`` naming the node and the field (exit 3).
Connection failures raise ``NodeUnreachable`` naming the URL (exit 3); error answers raise
``NodeError`` carrying the API's ``error`` code. Tests inject an ``httpx.Client`` (e.g. one bound
to the API app in-process).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import httpx

from protocol.addresses import encode_account
from protocol.transactions import Transaction
from wallet.board_views import BoardPage, BoardPosted, ListingView
from wallet.errors import BadResponse, NodeError, NodeUnreachable
from wallet.events import SseEvent, parse_sse
from wallet.fields import Fields
from wallet.governance_views import FundView, MembersPage, ProposalPage, ProposalView
from wallet.views import (
    AccountView,
    CurrencyView,
    HistoryPage,
    LedgerView,
    NodeInfo,
    TxResultView,
    submit_result,
)

DEFAULT_TIMEOUT_S = 10.0
OVERLOAD_RETRIES = 3  # a transaction refused as overloaded is submitted again this many times
MAX_RETRY_AFTER_S = 5.0  # never wait longer than this between those attempts
T = TypeVar("T")


class NodeClient:
    def __init__(
        self,
        url: str,
        *,
        http: httpx.Client | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url.rstrip("/")
        self._http = http or httpx.Client(timeout=timeout_s)
        self._sleep = sleep  # between submissions refused as overloaded
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
        headers: dict[str, str] | None = None,
    ) -> tuple[int, object]:
        """(HTTP status, decoded JSON) of one request; error statuses not in ``allow`` raise."""
        url = f"{self.url}{path}"
        try:
            extra: dict[str, Any] = {} if timeout_s is None else {"timeout": timeout_s}
            response = self._http.request(method, url, params=params, json=body, headers=headers, **extra)
        except httpx.TimeoutException:
            raise NodeUnreachable(f"the node at {self.url} did not answer in time") from None
        except httpx.HTTPError as exc:
            raise NodeUnreachable(
                f"cannot reach the node at {self.url} ({type(exc).__name__}: {exc})"
            ) from None
        try:
            data: object = response.json()
        except (ValueError, json.JSONDecodeError):
            data = None
        if response.status_code >= 400 and response.status_code not in allow:
            raise self._error(response, data)
        if data is None:
            raise BadResponse(f"the node at {self.url} answered something that is not JSON ({method} {path})")
        return response.status_code, data

    def _error(self, response: httpx.Response, data: object) -> NodeError:
        code, message = "http_error", response.text[:200]
        if isinstance(data, dict):
            code = str(data["error"]) if isinstance(data.get("error"), str) else code
            message = str(data["message"]) if isinstance(data.get("message"), str) else message
        return NodeError(
            f"the node at {self.url} answered {response.status_code}: {message}",
            status=response.status_code,
            code=code,
        )

    def _parse(self, parse: Callable[[Fields], T], data: object, where: str) -> T:
        try:
            return parse(Fields(data, where))
        except BadResponse as exc:
            raise BadResponse(
                f"the node at {self.url} answered something unexpected: {exc.message}", code=exc.code
            ) from None

    # -- routes ----------------------------------------------------------------------------------

    def network_id(self) -> bytes:
        """The network ID every signature covers, from ``GET /node``."""
        if self._network_id is None:
            _, data = self._request("GET", "/node")
            self._network_id = self._parse(NodeInfo.parse, data, "node").network_id
        return self._network_id

    def account(self, public_key: bytes) -> AccountView:
        _, data = self._request("GET", f"/accounts/{encode_account(public_key)}")
        return self._parse(AccountView.parse, data, "account")

    def history(self, public_key: bytes, *, limit: int = 50, before: str | None = None) -> HistoryPage:
        params: dict[str, Any] = {"limit": limit}
        if before:
            params["before"] = before
        _, data = self._request("GET", f"/accounts/{encode_account(public_key)}/history", params=params)
        return self._parse(HistoryPage.parse, data, "history")

    def currency(self, code: str) -> CurrencyView | None:
        """The currency, or None when the node does not know it (404)."""
        status, data = self._request("GET", f"/currencies/{code}", allow=(404,))
        return None if status == 404 else self._parse(CurrencyView.parse, data, "currency")

    # -- governance ----------------------------------------------------------------------------

    def proposal(self, proposal_id: str) -> ProposalView | None:
        """A proposal by id (``DEMOS-3``); None when the node does not know it (404)."""
        status, data = self._request("GET", f"/proposals/{proposal_id}", allow=(404,))
        return None if status == 404 else self._parse(ProposalView.parse, data, "proposal")

    def proposals(
        self,
        *,
        currency: str | None = None,
        status: str | None = None,
        limit: int = 20,
        before: str | None = None,
    ) -> ProposalPage:
        params: dict[str, Any] = {"limit": limit}
        for key, value in (("currency", currency), ("status", status), ("before", before)):
            if value is not None:
                params[key] = value
        _, data = self._request("GET", "/proposals", params=params)
        return self._parse(ProposalPage.parse, data, "proposals")

    def fund(self, code: str) -> FundView:
        _, data = self._request("GET", f"/currencies/{code}/fund")
        return self._parse(FundView.parse, data, "fund")

    def members(self, code: str, *, limit: int = 50, after: str | None = None) -> MembersPage:
        params: dict[str, Any] = {"limit": limit}
        if after is not None:
            params["after"] = after
        _, data = self._request("GET", f"/currencies/{code}/members", params=params)
        return self._parse(MembersPage.parse, data, "members")

    def ledger_close_time(self, seq: int) -> int:
        """The close time (ms) of ledger ``seq``."""
        _, data = self._request("GET", f"/ledgers/{seq}")
        return self._parse(lambda f: f.integer("close_time_ms", 0), data, "ledger")

    def tx_status(self, tx_hash: str) -> TxResultView:
        """A transaction's state (``unknown`` when the node does not know it)."""
        _, data = self._request("GET", f"/tx/{tx_hash}", allow=(404,))
        return self._parse(TxResultView.parse, data, "tx")

    def latest_ledger(self) -> LedgerView:
        _, data = self._request("GET", "/ledgers/latest")
        return self._parse(LedgerView.parse, data, "ledger")

    def submit(self, tx: Transaction, *, wait_s: float = 0.0) -> TxResultView:
        """Submit one transaction; its result (a refusal carries the node's ``figures``).

        A network at its capacity refuses new work at once (``overloaded``) and says when to come
        back (``figures.retry_after_s``, about one ledger): the same transaction is submitted
        again then, up to ``OVERLOAD_RETRIES`` times, so a member's payment rides out a busy
        moment instead of failing."""
        for attempt in range(OVERLOAD_RETRIES + 1):
            result = self._post_tx({"tx": base64.b64encode(tx.encode()).decode()}, wait_s, submit_result)
            if result.code != "overloaded" or attempt == OVERLOAD_RETRIES:
                break
            self._sleep(min(MAX_RETRY_AFTER_S, float(result.figures.retry_after_s or 1)))
        return result

    def submit_many(self, txs: Sequence[Transaction], *, wait_s: float = 0.0) -> list[TxResultView]:
        """Submit ``txs`` in one request (at most the node's per-request limit, 2,000 by default),
        in this order; one result per transaction, in the same order.

        Nothing is retried here: what a refusal means for the transactions after it (the same
        account's later sequence numbers) is the caller's to decide (``wallet.batch``)."""
        body = {"txs": [base64.b64encode(tx.encode()).decode() for tx in txs]}
        results = list(self._post_tx(body, wait_s, lambda f: f.list_of("results", TxResultView.parse)))
        if len(results) != len(txs):
            raise BadResponse(
                f"the node at {self.url} answered {len(results)} results for {len(txs)} transactions"
            )
        return results

    def _post_tx(self, body: dict[str, Any], wait_s: float, parse: Callable[[Fields], T]) -> T:
        """``POST /tx``, waiting up to ``wait_s`` for a ledger to include what it accepts.

        A waiting request closes its connection after the answer: the node's HTTP server stops
        reading a connection that was silent for its read timeout (20 s) while the answer was
        being waited for, and a next request on it would hang until the client's timeout."""
        waits = wait_s > 0
        _, data = self._request(
            "POST",
            "/tx",
            params={"wait": wait_s} if waits else None,
            body=body,
            timeout_s=(wait_s + DEFAULT_TIMEOUT_S) if waits else None,
            headers={"connection": "close"} if waits else None,
        )
        return self._parse(parse, data, "submit")

    def read(
        self, path: str, parse: Callable[[Fields], T], where: str, *, params: dict[str, Any] | None = None
    ) -> T | None:
        """A read endpoint's answer parsed by ``parse`` (a typed view's ``parse``); None when the
        node answers 404 (nothing there)."""
        status, data = self._request("GET", path, params=params, allow=(404,))
        return None if status == 404 else self._parse(parse, data, where)

    # -- the board -------------------------------------------------------------------------------

    def board_post(self, item: bytes) -> BoardPosted:
        """Post a signed listing or withdrawal; a refusal raises ``NodeError`` with the board's
        verdict as its code (``not_member``, ``rate_limited``, …)."""
        _, data = self._request("POST", "/board", body={"item": base64.b64encode(item).decode()})
        return self._parse(BoardPosted.parse, data, "board")

    def board(
        self,
        *,
        currency: str | None = None,
        kind: str | None = None,
        category: str | None = None,
        author: bytes | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> BoardPage:
        params: dict[str, Any] = {"limit": limit}
        for key, value in (
            ("currency", currency),
            ("kind", kind),
            ("category", category),
            ("cursor", cursor),
        ):
            if value is not None:
                params[key] = value
        if author is not None:
            params["author"] = encode_account(author)
        _, data = self._request("GET", "/board", params=params)
        return self._parse(BoardPage.parse, data, "board")

    def listing(self, ref: str) -> ListingView | None:
        """A listing by id or reference; None when the node's board does not have it (404, 410)."""
        status, data = self._request("GET", f"/board/{ref}", allow=(404, 410))
        return None if status in (404, 410) else self._parse(ListingView.parse, data, "listing")

    # -- the event stream ------------------------------------------------------------------------

    def events(
        self, params: dict[str, str], *, last_event_id: str | None = None, read_timeout_s: float = 60.0
    ) -> Iterator[SseEvent]:
        """``GET /events`` as it arrives, until the node ends the stream.

        ``read_timeout_s`` bounds the silence between two lines (the node sends a keep-alive
        comment every 15 s), so a node that vanished without closing is noticed.

        Raises:
            NodeUnreachable: the connection failed or broke.
            NodeError: the node refused the stream (e.g. 429: too many streams).
        """
        headers = {"accept": "text/event-stream"}
        if last_event_id is not None:
            headers["last-event-id"] = last_event_id
        timeout = httpx.Timeout(DEFAULT_TIMEOUT_S, read=read_timeout_s)
        try:
            with self._http.stream(
                "GET", f"{self.url}/events", params=params, headers=headers, timeout=timeout
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    try:
                        data: object = response.json()
                    except ValueError:
                        data = None
                    raise self._error(response, data)
                yield from parse_sse(response.iter_lines())
        except httpx.TimeoutException:
            raise NodeUnreachable(f"the node at {self.url} went silent") from None
        except httpx.HTTPError as exc:
            raise NodeUnreachable(f"lost the node at {self.url} ({type(exc).__name__}: {exc})") from None
