"""``tally watch``: payments to and from a wallet, printed as ledgers apply them.

Reads the node's event stream for the account (``GET /events?account=…``). When the connection
breaks it reconnects by itself after a growing pause (1 s, 2 s, 4 s … at most ``MAX_BACKOFF_S``)
and resumes after the last event it printed (``Last-Event-ID``), so nothing is printed twice and
nothing applied meanwhile is missed; a stream the node ends cleanly (it does so every minute, before
idle connections time out) is resumed at once (the node replays up to 1,000 ledgers; from further back it
says which ledgers it skipped). Ctrl-C ends it with exit 0.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from protocol.addresses import decode_account, encode_account
from wallet.cli.common import Session, session
from wallet.cli.options import JsonOpt, NodeOpt, WalletOpt
from wallet.describe import Units
from wallet.errors import BadInput, BadResponse, NodeError, NodeUnreachable
from wallet.events import SseEvent
from wallet.fields import Fields
from wallet.views import HistoryItem

FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
RESUME_S = 0.5  # after the node ended a stream cleanly (it does so every minute or so)
sleep: Callable[[float], None] = time.sleep  # tests replace it


def watch(
    account: Annotated[
        str | None,
        typer.Argument(
            metavar="[ACCOUNT]", help="Any address, wallet or contact name (default: your wallet)."
        ),
    ] = None,
    from_ledger: Annotated[
        int | None,
        typer.Option("--from-ledger", metavar="SEQ", help="Also print what was applied from ledger SEQ on."),
    ] = None,
    count: Annotated[
        int | None, typer.Option("--count", metavar="N", help="Stop after N payments (for scripts).")
    ] = None,
    wallet: WalletOpt = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print payments to and from a wallet as they are applied (until Ctrl-C).

    Reconnects by itself when the node goes away and resumes where it stopped. With --json, one
    JSON object per line.

    Examples:
      tally watch
      tally watch --wallet bob --json
      tally watch shop --from-ledger 1200 --count 5
    """
    with session(as_json, node) as s:
        name, key = s.named_account(wallet, account)
        if from_ledger is not None and from_ledger < 1:
            raise BadInput("--from-ledger must be 1 or more", code="bad_usage")
        if count is not None and count < 1:
            raise BadInput("--count must be 1 or more", code="bad_usage")
        watcher = Watcher(s, key, count)
        if not as_json:
            s.note(f"watching {name or encode_account(key)} at {s.client.url} (Ctrl-C to stop)")
        try:
            watcher.run(None if from_ledger is None else str(from_ledger - 1))
        except KeyboardInterrupt:
            raise typer.Exit(0) from None


class Watcher:
    """Follows one account's event stream, printing its payments, reconnecting as needed."""

    def __init__(self, s: Session, account: bytes, count: int | None) -> None:
        self.s = s
        self.account = encode_account(account)
        self.left = count
        self.units: dict[str, Units] = {}

    def run(self, last_id: str | None) -> None:
        backoff = FIRST_BACKOFF_S
        while True:
            try:
                for event in self.s.client.events({"account": self.account}, last_event_id=last_id):
                    backoff = FIRST_BACKOFF_S
                    self.handle(event)
                    last_id = event.id or last_id
                    if self.left is not None and self.left <= 0:
                        return
                sleep(RESUME_S)  # a clean end: resume at once, quietly
                continue
            except NodeUnreachable as exc:
                why = exc.message
            except NodeError as exc:
                if exc.status < 500 and exc.status != 429:
                    raise
                why = exc.message
            self.s.note(f"{why}; reconnecting in {backoff:g} s")
            sleep(backoff)
            backoff = min(2 * backoff, MAX_BACKOFF_S)

    def handle(self, event: SseEvent) -> None:
        if event.event == "gap":
            gap = Fields(_json(event), "gap event")
            self.s.note(
                f"ledgers {gap.integer('from', 0)} to {gap.integer('to', 0)} were too far back to "
                "replay; see `tally history` for them"
            )
            return
        if event.event != "tx":
            return
        item = HistoryItem.parse(Fields(_json(event), "event"))
        for op in item.operations:
            if op.type != "payment" or self.account not in (op.sender, op.to) or op.amount is None:
                continue
            if self.left is not None:
                if self.left <= 0:
                    return
                self.left -= 1
            self.print_payment(
                event, item, op.sender == self.account, op.sender, op.to, op.currency, op.amount
            )

    def print_payment(
        self,
        event: SseEvent,
        item: HistoryItem,
        outgoing: bool,
        sender: str | None,
        to: str | None,
        currency: str | None,
        amount: int,
    ) -> None:
        code = currency or "?"
        shown = self._units(code).text(amount, code)
        data = {
            "event_id": event.id,
            "hash": item.hash,
            "ledger": item.ledger,
            "close_time_ms": item.close_time_ms,
            "direction": "out" if outgoing else "in",
            "from": sender,
            "to": to,
            "currency": code,
            "amount": amount,
            "amount_text": shown,
            "memo": item.memo,
            "code": item.code,
        }
        if self.s.as_json:
            typer.echo(json.dumps(data, separators=(",", ":")))
            return
        other = to if outgoing else sender
        who = self.s.namer()(decode_account(other)) if other else "?"
        when = (
            datetime.fromtimestamp(item.close_time_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")
            if item.close_time_ms
            else ""
        )
        line = f"{when} ledger {item.ledger}  {'-' if outgoing else '+'}{shown}  {'to' if outgoing else 'from'} {who}"
        if item.memo:
            line += f'  "{item.memo}"'
        if item.code != "ok":
            line += f"  (failed: {item.code})"
        self.s.console.print(line, markup=False)

    def _units(self, code: str) -> Units:
        if code not in self.units:
            found = self.s.client.currency(code)
            self.units[code] = found.units if found is not None else Units(None, 0)
        return self.units[code]


def _json(event: SseEvent) -> Any:
    try:
        return json.loads(event.data)
    except ValueError:
        raise BadResponse(f"the event stream sent an event that is not JSON ({event.event})") from None
