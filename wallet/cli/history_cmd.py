"""``tally history``: what an account gave and received, with memos, totals and a CSV export."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from protocol.addresses import encode_account
from wallet.cli.common import Session, session
from wallet.cli.options import AccountArg, JsonOpt, NodeOpt, WalletOpt
from wallet.describe import Units
from wallet.errors import BadInput
from wallet.home import parse_address
from wallet.views import HistoryItem, OperationView

HISTORY_FIELDS = [
    "ledger",
    "time",
    "hash",
    "type",
    "direction",
    "counterparty",
    "currency",
    "amount",
    "amount_minor",
    "memo",
    "result",
]
UNKNOWN_UNITS = Units(None, 0)
# (direction, counterparty, currency, amount in minor units) of one operation, seen from an account
Seen = tuple[str, str | None, str | None, int | None]


def history(
    account: AccountArg = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=10_000, help="How many transactions.")
    ] = 20,
    csv_file: Annotated[
        Path | None,
        typer.Option(
            "--csv", metavar="FILE", help="Also write the rows as CSV to FILE ('-' for standard output)."
        ),
    ] = None,
    wallet: WalletOpt = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What you gave and received, newest first, with memos and totals (hours for time currencies).

    Examples:
      tally history
      tally history --limit 100 --csv hours.csv
      tally history bob --json
    """
    with session(as_json, node) as s:
        name, key = s.named_account(wallet, account)
        items: list[HistoryItem] = []
        cursor: str | None = None
        while len(items) < limit:
            page = s.client.history(key, limit=min(200, limit - len(items)), before=cursor)
            items.extend(page.items)
            cursor = page.next
            if not cursor:
                break
        currencies: dict[str, Units] = {}
        rows = history_rows(s, key, items, currencies)
        totals = _totals(rows, currencies)
        if csv_file is not None:
            _write_csv(csv_file, rows)
        out = {
            "wallet": name,
            "address": encode_account(key),
            "items": rows,
            "totals": totals,
            "next": cursor,
        }

        def human(console: Console) -> None:
            if not rows:
                console.print("No transactions yet.", markup=False)
                return
            table = Table("ledger", "time (UTC)", "what", "amount", "with", "memo", "result", box=None)
            for row in rows:
                table.add_row(
                    str(row["ledger"]),
                    str(row["time"])[:19].replace("T", " "),
                    str(row["direction"] or row["type"]),
                    str(row["amount"] or ""),
                    str(row["counterparty_name"] or row["counterparty"] or ""),
                    str(row["memo"]),
                    str(row["result"]),
                )
            console.print(table)
            for code, entry in totals.items():
                what = "hours" if entry["kind"] == "time" else code
                console.print(
                    f"{code}: {what} given {entry['given_text']}, received {entry['received_text']}",
                    markup=False,
                )

        if csv_file is not None and str(csv_file) == "-" and not as_json:
            return
        s.emit(out, human)


def _totals(rows: list[dict[str, Any]], currencies: dict[str, Units]) -> dict[str, dict[str, Any]]:
    """Given and received per currency, over the successful payments."""
    sums: dict[str, dict[str, int]] = {}
    for row in rows:
        if row["result"] != "ok" or row["direction"] not in ("sent", "received") or not row["currency"]:
            continue
        entry = sums.setdefault(str(row["currency"]), {"given": 0, "received": 0})
        entry["given" if row["direction"] == "sent" else "received"] += int(row["amount_minor"])
    totals: dict[str, dict[str, Any]] = {}
    for code, entry in sums.items():
        units = currencies.get(code, UNKNOWN_UNITS)
        totals[code] = {
            **entry,
            "given_text": units.text(entry["given"], code),
            "received_text": units.text(entry["received"], code),
            "kind": None if units.kind is None else units.kind.value,
        }
    return totals


def _units(s: Session, code: str, cache: dict[str, Units]) -> Units:
    if code not in cache:
        found = s.client.currency(code)
        cache[code] = found.units if found else UNKNOWN_UNITS
    return cache[code]


def seen_from(op: OperationView, source: str, me: str) -> Seen | None:
    """What ``op`` (in a transaction from ``source``) was for account ``me``; None when it is
    another account's operation of a shared transaction."""
    if me not in (source, op.sender, op.to, op.member):
        return None
    match op.type:
        case "payment":
            if op.sender == me:
                return "sent", op.to, op.currency, op.amount
            return ("received", op.sender, op.currency, op.amount) if op.to == me else None
        case "mint":
            if op.to == me:
                return "received", source, op.currency, op.amount
            return "minted", op.to, op.currency, op.amount
        case "redeem":
            return "redeemed", None, op.currency, op.amount
        case "admit_member" | "set_credit_limit":
            counterparty = op.member if op.member != me else source
            direction = "admitted" if op.type == "admit_member" else "limit_set"
            return direction, counterparty, op.currency, op.credit_limit
        case "create_currency":
            return "created", None, op.code, None
        case "set_signers":
            return "signers_set", None, None, None
        case "credit_hours":  # protocol version 3: guaranteed credits for a volunteer's hours
            if op.to == me:
                return "received", op.sender, op.currency, op.amount
            return "credited", op.to, op.currency, op.amount
        case "exchange_pay":  # the payer's side pays at most send_max: the ledger knows the cost
            if op.to == me:
                return "received", op.sender, op.receive_currency, op.amount
            return "exchanged", op.to, op.currency, None
        case _:
            return "", None, op.currency or op.code, None


def history_rows(
    s: Session, key: bytes, items: Sequence[HistoryItem], cache: dict[str, Units]
) -> list[dict[str, Any]]:
    """The ``history --json`` items: one row per operation that concerns the account ``key``."""
    me = encode_account(key)
    names: dict[str, str | None] = {}

    def name_of(address: str | None) -> str | None:
        if address is None:
            return None
        if address not in names:
            names[address] = s.home.name_of(parse_address(address))
        return names[address]

    rows = []
    for item in items:
        close = item.close_time_ms
        when = "" if close is None else datetime.fromtimestamp(close / 1000, UTC).isoformat()
        for op in item.operations:
            seen = seen_from(op, item.source, me)
            if seen is None:
                continue
            direction, counterparty, code, value = seen
            text = _units(s, code, cache).text(value, code) if value is not None and code else ""
            rows.append(
                {
                    "ledger": item.ledger,
                    "time": when,
                    "hash": item.hash,
                    "type": op.type,
                    "direction": direction,
                    "counterparty": counterparty,
                    "counterparty_name": name_of(counterparty),
                    "currency": code,
                    "amount": text,
                    "amount_minor": value,
                    "memo": item.memo,
                    "result": item.code,
                }
            )
    return rows


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HISTORY_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "amount": _plain(str(row["amount"]))})
    if str(path) == "-":
        sys.stdout.write(buffer.getvalue())
        return
    try:
        path.write_text(buffer.getvalue(), encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc}", code="bad_output_file") from None


def _plain(text: str) -> str:
    """'1.50 h' → '1.50' for spreadsheets (the currency has its own column)."""
    return text.split(" ", 1)[0] if text else ""
