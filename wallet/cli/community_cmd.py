"""``tally currency members|vouch|fund|leave``: a currency's community (added to the ``currency``
command group of ``currency_cmd``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console

from protocol.governance.operations import LeaveCurrency, Vouch
from wallet.cli.common import run_transaction, session
from wallet.cli.currency_cmd import CodeArg, MemberArg, _code, app
from wallet.cli.options import JsonOpt, NodeOpt, TxOptions, transaction_command
from wallet.home import parse_address


@app.command("members")
def members(
    code: CodeArg,
    limit: Annotated[int, typer.Option("--limit", min=1, max=200, help="At most this many.")] = 50,
    after: Annotated[
        str | None, typer.Option("--after", metavar="ADDRESS", help="Continue after this member (paging).")
    ] = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Who belongs to a currency: each holder's standing, balance and last activity.

    Examples:
      tally currency members HOUR
      tally currency members HOUR --json
    """
    with session(as_json, node) as s:
        found = s.currency(_code(code))
        page = s.client.members(found.code, limit=limit, after=after)
        units, namer = found.units, s.namer()

        def human(console: Console) -> None:
            if not page.items:
                console.print(f"{found.code} has no members yet", markup=False)
            for m in page.items:
                last = (
                    "never"
                    if m.last_activity_ms is None
                    else datetime.fromtimestamp(m.last_activity_ms / 1000, UTC).strftime("%Y-%m-%d")
                )
                console.print(
                    f"{namer(parse_address(m.address)):<24} {m.role:<9} {units.text(m.balance, found.code):>14}  "
                    f"last active {last}",
                    markup=False,
                )
            if page.next:
                console.print(f"more: tally currency members {found.code} --after {page.next}", markup=False)

        s.emit({"code": found.code, "items": [m.to_json() for m in page.items], "next": page.next}, human)


@app.command("vouch")
@transaction_command
def vouch(code: CodeArg, candidate: MemberArg, tx: TxOptions) -> None:
    """Vouch for a newcomer to a currency that admits by vouch:N.

    When N members have vouched, the newcomer is a member. Your vouch stays on the ledger for all
    to see; it costs you nothing, and you are not liable for the newcomer's debts.

    Examples:
      tally currency vouch DEMOS dora --wallet alice --wait
    """
    with session(tx.as_json, tx.node) as s:
        found = s.currency(_code(code))
        source = s.source_key(tx.wallet, tx.source)
        op = Vouch(found.code, s.home.resolve_address(candidate))
        run_transaction(s, tx, [op], {found.code: found.units}, source)


@app.command("leave")
@transaction_command
def leave(code: CodeArg, tx: TxOptions) -> None:
    """Leave a mutual-credit or time currency.

    Not while you owe; what you hold goes to its commons fund. You may be admitted again later.

    Examples:
      tally currency leave DEMOS --wallet carol --wait
    """
    with session(tx.as_json, tx.node) as s:
        found = s.currency(_code(code))
        source = s.source_key(tx.wallet, tx.source)
        run_transaction(s, tx, [LeaveCurrency(found.code)], {found.code: found.units}, source)


@app.command("fund")
def fund(code: CodeArg, node: NodeOpt = None, as_json: JsonOpt = False) -> None:
    """A currency's commons fund: what it holds, may owe, and what feeds it.

    It pays out only through passed proposals (`tally proposal create --pay-from-fund MEMBER=X`).

    Examples:
      tally currency fund DEMOS
    """
    with session(as_json, node) as s:
        found = s.currency(_code(code))
        data = s.client.fund(found.code)
        units = found.units
        out = {
            **data.to_json(),
            "balance_text": units.text(data.balance, found.code),
            "available_text": units.text(data.available, found.code),
        }

        def human(console: Console) -> None:
            console.print(f"{found.code} commons fund ({data.address})", markup=False)
            console.print(f"  holds {out['balance_text']}; can pay out {out['available_text']}", markup=False)
            if data.credit_limit:
                console.print(f"  may owe up to {units.text(data.credit_limit, found.code)}", markup=False)
            console.print(
                f"  fed by demurrage {data.demurrage_ppm / 10_000:g} % a year and a levy of "
                f"{data.levy_ppm / 10_000:g} % per payment",
                markup=False,
            )

        s.emit(out, human)
