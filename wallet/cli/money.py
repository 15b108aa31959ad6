"""``tally balance``, ``tally send``, ``tally history``."""

from __future__ import annotations

import csv
import io
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from protocol.addresses import encode_account
from protocol.operations import Payment
from protocol.results import ResultCode
from wallet.cli.common import (
    DEFAULT_VALID_LEDGERS,
    DEFAULT_WAIT_S,
    BuildOnlyOpt,
    FromOpt,
    JsonOpt,
    MemoOpt,
    NodeOpt,
    PasswordFileOpt,
    Session,
    TimeoutOpt,
    TxRequest,
    ValidOpt,
    WaitOpt,
    WalletOpt,
    check_amount_text,
    execute,
    fmt,
    holding,
    session,
)
from wallet.describe import units
from wallet.errors import BadInput, Refused

R = ResultCode


def _target(s: Session, wallet: str | None, account: str | None) -> tuple[str | None, bytes]:
    if account:
        key = s.home.resolve_address(account)
        return s.home.name_of(key), key
    return s.wallet_address(wallet)


def balance(
    account: Annotated[
        str | None,
        typer.Argument(
            metavar="[ACCOUNT]", help="Any address, wallet or contact name (default: your wallet)."
        ),
    ] = None,
    wallet: WalletOpt = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Balances per currency: balance, credit limit and what is still available to spend.

    Amounts are in each currency's own units (hours for time currencies, e.g. -1.50 h).

    Examples:
      tally balance
      tally balance --wallet shop --json
      tally balance bob
    """
    with session(as_json, node) as s:
        name, key = _target(s, wallet, account)
        data = s.client.account(key)
        balances = []
        for b in data.get("balances", []):
            code = str(b["currency"])
            info = {"kind": b.get("kind"), "decimals": int(b.get("decimals", 0))}
            balances.append(
                {
                    **b,
                    "balance_text": fmt(int(b["balance"]), code, info),
                    "credit_limit_text": fmt(int(b["credit_limit"]), code, info),
                    "available_text": fmt(int(b["available"]), code, info),
                }
            )
        out = {
            "wallet": name,
            "address": encode_account(key),
            "ledger": data.get("ledger"),
            "balances": balances,
        }

        def human(console: Console) -> None:
            title = f"{name} ({encode_account(key)})" if name else encode_account(key)
            console.print(f"{title} at ledger {data.get('ledger')}", markup=False)
            if not balances:
                console.print(
                    "No currency yet: ask a steward to admit you, or receive an issued currency.",
                    markup=False,
                )
                return
            table = Table("currency", "kind", "balance", "credit limit", "available", "member", box=None)
            for b in balances:
                mutual = b.get("kind") in ("mutual", "time")
                table.add_row(
                    str(b["currency"]),
                    str(b.get("kind")),
                    b["balance_text"],
                    b["credit_limit_text"] if mutual else "-",
                    b["available_text"],
                    ("yes" if b.get("member") else "no") if mutual else "-",
                )
            console.print(table)

        s.emit(out, human)


def send(
    to: Annotated[str, typer.Argument(metavar="TO", help="Recipient: an address, wallet or contact name.")],
    amount: Annotated[str, typer.Argument(metavar="AMOUNT", help="Decimal amount, e.g. 1.50.")],
    currency: Annotated[str, typer.Argument(metavar="CURRENCY", help="Currency code, e.g. HOURS.")],
    memo: MemoOpt = "",
    wait: WaitOpt = False,
    timeout: TimeoutOpt = DEFAULT_WAIT_S,
    build_only: BuildOnlyOpt = False,
    source: FromOpt = None,
    wallet: WalletOpt = None,
    password_file: PasswordFileOpt = None,
    valid_ledgers: ValidOpt = DEFAULT_VALID_LEDGERS,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Pay someone: builds, signs (fetching your sequence number) and submits a payment.

    Checks what it can before sending (amount, membership, credit limit) and says why it refuses.

    Examples:
      tally send bob 1.50 HOURS --memo "gardening" --wait
      tally send tly1q… 20 LETS --wallet shop
      tally send bob 5 LETS --from shared --build-only > tx.json
    """
    with session(as_json, node) as s:
        check_amount_text(amount)
        destination = s.home.resolve_address(to)
        source_key = s.source_key(wallet, source)
        if destination == source_key:
            raise BadInput("you cannot pay your own account", code="malformed")
        code = currency.upper()
        info = s.currency(code)
        value = s.amount(amount, info)
        account = s.client.account(source_key)
        precheck_payment(s, info, account, destination, value)
        request = TxRequest(
            [Payment(destination, code, value)],
            {code: _unit_info(info)},
            memo,
            build_only,
            wait,
            timeout,
            valid_ledgers,
        )
        execute(s, request, source_key, account, lambda: s.unlock(wallet, password_file)[1])


def _unit_info(info: dict[str, Any]) -> dict[str, Any]:
    return {"kind": info.get("kind"), "decimals": int(info.get("decimals", 0))}


def precheck_payment(
    s: Session, info: dict[str, Any], account: dict[str, Any], destination: bytes, value: int
) -> None:
    """The ledger's payment rules, checked on the latest state so the member hears why now."""
    code = str(info["code"])
    mine = holding(account, code)
    asked = fmt(value, code, info)
    if info.get("kind") in ("mutual", "time"):
        if mine is None or not mine.get("member"):
            raise Refused(
                f"not a member: {account['address']} is not a member of {code}; "
                f"a steward admits members with `tally currency admit`",
                code=R.NOT_MEMBER.value,
            )
        theirs = holding(s.client.account(destination), code)
        if theirs is None or not theirs.get("member"):
            raise Refused(
                f"the recipient {encode_account(destination)} is not a member of {code}",
                code=R.DESTINATION_NOT_MEMBER.value,
            )
        if int(mine["available"]) < value:
            raise Refused(
                f"over credit limit: available {fmt(int(mine['available']), code, info)}, asked {asked}",
                code=R.OVER_CREDIT_LIMIT.value,
            )
    else:
        balance = int(mine["balance"]) if mine else 0
        if balance < value:
            raise Refused(
                f"underfunded: balance {fmt(balance, code, info)}, asked {asked}", code=R.UNDERFUNDED.value
            )
        theirs = holding(s.client.account(destination), code)
    ceiling = int(info.get("max_balance", 0))
    if ceiling and (int(theirs["balance"]) if theirs else 0) + value > ceiling:
        raise Refused(
            f"the recipient's balance would pass {code}'s ceiling of {fmt(ceiling, code, info)}",
            code=R.OVER_MAX_BALANCE.value,
        )


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


def history(
    account: Annotated[
        str | None,
        typer.Argument(
            metavar="[ACCOUNT]", help="Any address, wallet or contact name (default: your wallet)."
        ),
    ] = None,
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
        name, key = _target(s, wallet, account)
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while len(items) < limit:
            page = s.client.history(key, limit=min(200, limit - len(items)), before=cursor)
            items.extend(page.get("items", []))
            cursor = page.get("next")
            if not cursor:
                break
        currencies: dict[str, dict[str, Any]] = {}
        rows = _history_rows(s, key, items, currencies)
        totals: dict[str, dict[str, Any]] = {}
        for row in rows:
            if row["result"] != "ok" or row["direction"] not in ("sent", "received") or not row["currency"]:
                continue
            code = str(row["currency"])
            entry = totals.setdefault(code, {"given": 0, "received": 0})
            entry["given" if row["direction"] == "sent" else "received"] += int(row["amount_minor"])
        for code, entry in totals.items():
            info = currencies.get(code, {"decimals": 0})
            entry["given_text"] = fmt(entry["given"], code, info)
            entry["received_text"] = fmt(entry["received"], code, info)
            entry["kind"] = info.get("kind")
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
                what = "hours" if entry.get("kind") == "time" else code
                console.print(
                    f"{code}: {what} given {entry['given_text']}, received {entry['received_text']}",
                    markup=False,
                )

        if csv_file is not None and str(csv_file) == "-" and not as_json:
            return
        s.emit(out, human)


def _currency_info(s: Session, code: str, cache: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if code not in cache:
        found = s.client.currency(code)
        cache[code] = _unit_info(found) if found else {"kind": None, "decimals": 0}
    return cache[code]


def _history_rows(
    s: Session, key: bytes, items: list[dict[str, Any]], cache: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    me = encode_account(key)
    names: dict[str, str | None] = {}

    def name_of(address: str | None) -> str | None:
        if address is None:
            return None
        if address not in names:
            from wallet.home import parse_address

            names[address] = s.home.name_of(parse_address(address))
        return names[address]

    rows = []
    for item in items:
        close = item.get("close_time_ms")
        when = datetime.fromtimestamp(int(close) / 1000, UTC).isoformat() if isinstance(close, int) else ""
        for op in item.get("operations", []):
            if me not in (item.get("source"), op.get("from"), op.get("to"), op.get("member")):
                continue  # another operation of a shared transaction: not this account's history
            kind = str(op.get("type"))
            direction, counterparty, code, value = "", None, op.get("currency"), op.get("amount")
            if kind == "payment":
                if op.get("from") == me:
                    direction, counterparty = "sent", op.get("to")
                elif op.get("to") == me:
                    direction, counterparty = "received", op.get("from")
                else:
                    continue
            elif kind == "mint":
                direction = "received" if op.get("to") == me else "minted"
                counterparty = item.get("source") if op.get("to") == me else op.get("to")
            elif kind == "redeem":
                direction = "redeemed"
            elif kind in ("admit_member", "set_credit_limit"):
                counterparty = op.get("member") if op.get("member") != me else item.get("source")
                value = op.get("credit_limit")
                direction = "admitted" if kind == "admit_member" else "limit_set"
            elif kind == "create_currency":
                direction, code, value = "created", op.get("code"), None
            elif kind == "set_signers":
                direction, code, value = "signers_set", None, None
            else:
                code, value = op.get("currency") or op.get("code"), None
            info = _currency_info(s, str(code), cache) if code else {}
            text = (
                units(int(value), str(code), info.get("kind"), int(info.get("decimals", 0)))
                if isinstance(value, int) and code
                else ""
            )
            rows.append(
                {
                    "ledger": item.get("ledger"),
                    "time": when,
                    "hash": item.get("hash"),
                    "type": kind,
                    "direction": direction,
                    "counterparty": counterparty,
                    "counterparty_name": name_of(counterparty),
                    "currency": code,
                    "amount": text,
                    "amount_minor": value if isinstance(value, int) else None,
                    "memo": item.get("memo", ""),
                    "result": item.get("code"),
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
