"""``tally node quorum``: a running node's live quorum health as a table (or ``--json``).

It reads the node's ``GET /quorum``: each validator of the transitive quorum in the last closed
ledger (agree, missing, delayed, disagree), how many more validators may fail before this node
stops closing ledgers, and whether every two quorums of its transitive quorum intersect.
Exit codes: 0 healthy; 1 the quorum can split or is blocked; 3 the node cannot be reached.
"""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

_out = Console(soft_wrap=True)  # long validator ids stay on one line
_err = Console(stderr=True)

_STYLE = {"agree": "green", "delayed": "yellow", "missing": "red", "disagree": "bold red"}


def quorum(
    api: str = typer.Option("http://127.0.0.1:8080", "--api", help="The node's HTTP API."),
    as_json: bool = typer.Option(False, "--json", help="Print the node's GET /quorum answer."),
) -> None:
    """Show a node's quorum health: every validator's state, failures it survives, intersection.

    Examples:
      tally node quorum
      tally node quorum --api http://127.0.0.1:8081 --json
    """
    import httpx

    try:
        response = httpx.get(api.rstrip("/") + "/quorum", timeout=10.0)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        message = f"cannot read {api}/quorum: {exc}; is the node running (tally node run) at that address?"
        if as_json:
            typer.echo(json.dumps({"error": "node_unreachable", "message": message}))
        else:
            _err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
        raise typer.Exit(3) from None
    if as_json:
        typer.echo(json.dumps(data))
    else:
        _print(data)
    transitive = data.get("transitive") or {}
    if transitive.get("intersecting") is False or data.get("blocked"):
        raise typer.Exit(1)


def _print(data: dict[str, Any]) -> None:
    if data.get("ledger") is None:
        _out.print("no ledger closed since the node started: nothing to show yet")
        return
    table = Table(title=f"quorum at ledger {data['ledger']}")
    table.add_column("validator")
    table.add_column("state")
    for v in data["validators"]:
        state = v["state"]
        table.add_row(v["id"], f"[{_STYLE.get(state, 'white')}]{state}[/]")
    _out.print(table)
    counts = ", ".join(f"{data[s]} {s}" for s in ("agree", "delayed", "missing", "disagree"))
    survivable = data["survivable_failures"]
    margin = "any number of" if survivable is None else str(survivable)
    if data["blocked"]:
        _out.print(f"[red]BLOCKED[/red]: {counts}; the missing and disagreeing validators block every slice")
    else:
        _out.print(f"{counts}; this node survives {margin} more validator failures")
    t = data["transitive"]
    if t["intersecting"] is True:
        verdict = "[green]every two quorums intersect[/green]"
    elif t["intersecting"] is False:
        a, b = t["split"]
        verdict = f"[red]CAN SPLIT[/red]: {', '.join(a)} | {', '.join(b)}"
    else:
        verdict = f"[yellow]intersection unknown[/yellow] ({escape(str(t['reason']))})"
    unknown = f", {t['unknown_quorum_sets']} quorum sets not known yet" if t["unknown_quorum_sets"] else ""
    _out.print(f"transitive quorum: {t['nodes']} nodes{unknown}; {verdict}")


def register(app: typer.Typer) -> None:
    """Add ``tally node quorum`` to the ``tally node`` group."""
    app.command("quorum")(quorum)
