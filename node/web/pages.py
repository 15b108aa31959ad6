"""The pages: what each one reads from the node and hands to its template.

Every page answers with its complete content (no data arrives later by script); ``live.js``
only adds what closes afterwards, fetching rows rendered by the same templates
(``/web/fragments/...``), so a row looks the same whether it came with the page or live.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from node.api.explorer import ExplorerNode
from node.api.governance_json import fund_json
from node.api.views import operation_json
from node.clock import wall_ms
from node.governance_reads import GovernanceReads
from node.reads import Balances, TxRecord
from node.web import charts, inputs
from node.web import format as fmt
from node.web.context import Units, shared_context
from node.web.design_pages import DesignPages
from node.web.qr import pay_uri, qr_svg
from node.web.site import Page, PageError
from protocol.addresses import encode_account
from protocol.fields import CurrencyKind
from protocol.results import ResultCode
from protocol.state import Currency
from protocol.transactions import Transaction

LEDGERS_SHOWN = 10
HISTORY_PAGE = 20
MEMBERS_PAGE = 50
MONTHS_SHOWN = 12
CURRENCY_TXS_SHOWN = 10


@dataclass(frozen=True, slots=True)
class TxRow:
    """A transaction as a table row shows it."""

    hash: str
    source: str
    memo: str
    operations: list[dict[str, Any]]
    code: str
    ok: bool
    ledger: int | None
    close_time_ms: int | None


class Pages:
    def __init__(self, node: ExplorerNode) -> None:
        self.node = node
        self.reads = node.reads
        self.designs = DesignPages(node)

    def _render(self, page: Page, name: str, context: dict[str, Any], status: int = 200) -> Response:
        return page.render(name, {**shared_context(self.node, page), **context}, status)

    def _row(self, tx: Transaction, code: str, ledger: int | None, close_time_ms: int | None) -> TxRow:
        return TxRow(
            hash=tx.hash.hex(),
            source=encode_account(tx.body.source),
            memo=tx.body.memo.decode("utf-8", "replace"),
            operations=[operation_json(op, tx.body.source) for op in tx.body.operations],
            code=code,
            ok=code == ResultCode.OK.value,
            ledger=ledger,
            close_time_ms=close_time_ms,
        )

    def _record_row(self, record: TxRecord) -> TxRow:
        return self._row(record.tx, record.code.value, record.ledger, record.close_time_ms)

    def _holders(self, currency: Currency) -> Balances | None:
        """An issued currency's holders (it has no admitted members to count); None for others."""
        return self.reads.holder_count(currency.code) if currency.kind is CurrencyKind.ISSUED else None

    # -- pages -------------------------------------------------------------------------------------

    async def overview(self, page: Page) -> Response:
        info = self.node.info()
        healthy, health = self.node.health()
        currencies = []
        for currency in self.reads.currencies():
            months = self.reads.activity(currency.code, 1)
            latest = self.reads.currency_history(currency.code, 1)
            currencies.append(
                {
                    "currency": currency,
                    "holders": self._holders(currency),
                    "month": months[-1] if months else None,
                    "last": latest[0].close_time_ms if latest else None,
                }
            )
        return self._render(
            page,
            "overview.html",
            {
                "info": info,
                "healthy": healthy,
                "health": health,
                "validators": self.node.validators(),
                "ledgers": self.reads.ledgers(LEDGERS_SHOWN),
                "currencies": currencies,
                "now_ms": wall_ms(),
                "events": f"/events?ledgers=1&last_event_id={self.reads.last.seq}",
            },
        )

    async def ledger(self, page: Page) -> Response:
        seq = inputs.ledger_number(page, page.request.path_params["seq"])
        summary = self.reads.ledger_summary(seq)
        if summary is None:
            raise PageError(404, page.gettext("Ledger %(seq)s is not known to this node yet.") % {"seq": seq})
        rows = [self._record_row(r) for r in self.reads.ledger_transactions(seq)]
        return self._render(
            page,
            "ledger.html",
            {"summary": summary, "header": summary.header, "rows": rows, "last_seq": self.reads.last.seq},
        )

    async def transaction(self, page: Page) -> Response:
        tx_hash = inputs.tx_hash(page, page.request.path_params["tx_hash"])
        status = self.node.tx_status(tx_hash)
        record = self.reads.transaction(tx_hash)
        if record is None and status.status in ("unknown", "rejected"):
            raise PageError(404, page.gettext("No transaction with this hash is known to this node."))
        context: dict[str, Any] = {"status": status, "hash": tx_hash.hex(), "record": record, "row": None}
        if record is not None:
            context["row"] = self._record_row(record)
            context["signatures"] = len(record.tx.signatures)
            context["seq"] = record.tx.body.seq
            context["failed_op"] = record.op_index if record.code is not ResultCode.OK else None
        return self._render(page, "tx.html", context)

    async def account(self, page: Page) -> Response:
        key = inputs.account(page, page.request.path_params["address"])
        before = inputs.history_cursor(page, page.request.query_params.get("before"))
        account, holdings, _pending = self.node.account_state(key)
        balances = [(h, self.reads.currency(h.currency)) for h in holdings]
        items = self.node.history(key, HISTORY_PAGE + 1, before)
        rows = [
            self._row(tx, code, ledger, close) for ledger, _index, tx, code, close in items[:HISTORY_PAGE]
        ]
        older = (
            f"{items[HISTORY_PAGE - 1][0]}.{items[HISTORY_PAGE - 1][1]}"
            if len(items) > HISTORY_PAGE
            else None
        )
        text = encode_account(key)
        uri = pay_uri(key, self.reads.network_id)
        recovery = self.designs.recovery(key)
        started = recovery["recovery"]
        return self._render(
            page,
            "account.html",
            {
                "address": text,
                "account": account,
                "balances": balances,
                "rows": rows,
                "older": older,
                "paged": before is not None,
                "pay_uri": uri,
                "qr": qr_svg(uri, page.gettext("QR code to pay this account")),
                "recovery": recovery,
                "due_text": fmt.relative(started["due_ms"], wall_ms(), page.gettext) if started else "",
                "events": f"/events?account={text}&last_event_id={self.reads.last.seq}",
            },
        )

    async def currency(self, page: Page) -> Response:
        currency = inputs.currency(page, self.reads, page.request.path_params["code"])
        after_text = page.request.query_params.get("after")
        after = None if after_text is None else inputs.account(page, after_text)
        units = Units(self.node, page)
        members = self.reads.members(currency.code, MEMBERS_PAGE + 1, after)
        next_after = (
            encode_account(members[MEMBERS_PAGE - 1].holding.account) if len(members) > MEMBERS_PAGE else None
        )
        months = self.reads.activity(currency.code, MONTHS_SHOWN)
        balances = self.reads.balances(currency.code)
        bins = charts.histogram(balances.values)
        return self._render(
            page,
            "currency.html",
            {
                "currency": currency,
                "issuer": encode_account(currency.issuer),
                "holders": self._holders(currency),
                "rules_ext": currency.extension,
                "fund": fund_json(currency, GovernanceReads(self.reads.store).fund(currency.code)),
                "designs": self.designs.designs_summary(currency),
                "stewards": [encode_account(s) for s in currency.stewards],
                "members": [
                    {
                        "address": encode_account(m.holding.account),
                        "holding": m.holding,
                        "last_activity": m.last_activity,
                    }
                    for m in members[:MEMBERS_PAGE]
                ],
                "next_after": next_after,
                "paged": after is not None,
                "months": months,
                "volume_chart": charts.bar_chart(
                    "volume",
                    page.gettext("Exchanged per month"),
                    [
                        charts.Bar(fmt.month(m.month), m.volume, units.text(m.volume, currency.code))
                        for m in months
                    ],
                ),
                "active_chart": charts.bar_chart(
                    "active",
                    page.gettext("Active members per month"),
                    [charts.Bar(fmt.month(m.month), m.active_members, str(m.active_members)) for m in months],
                ),
                "bins": bins,
                "balances_complete": balances.complete,
                "distribution_chart": charts.bar_chart(
                    "distribution",
                    page.gettext("Members by balance"),
                    [charts.Bar(units.text(b.low, currency.code), b.count, str(b.count)) for b in bins],
                ),
                "rows": [
                    self._record_row(r)
                    for r in self.reads.currency_history(currency.code, CURRENCY_TXS_SHOWN)
                ],
                "events": f"/events?currency={currency.code}&last_event_id={self.reads.last.seq}",
            },
        )

    # -- fragments the live script inserts ---------------------------------------------------------

    async def ledger_row(self, page: Page) -> Response:
        seq = inputs.ledger_number(page, page.request.path_params["seq"])
        summary = self.reads.ledger_summary(seq)
        if summary is None:
            raise PageError(404, page.gettext("Ledger %(seq)s is not known to this node yet.") % {"seq": seq})
        return self._render(page, "fragments/ledger_row.html", {"summary": summary})

    async def tx_row(self, page: Page) -> Response:
        tx_hash = inputs.tx_hash(page, page.request.path_params["tx_hash"])
        record = self.reads.transaction(tx_hash)
        if record is None:
            raise PageError(404, page.gettext("No transaction with this hash is known to this node."))
        return self._render(page, "fragments/tx_row.html", {"row": self._record_row(record)})
