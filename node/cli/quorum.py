"""``tally check-quorum FILE``: can this network split into two groups that decide differently?

The check runs in a separate process bounded by ``--time-limit`` and ``--memory-limit``
(``node.quorum_process``). Exit codes: 0 every two quorums intersect; 1 the network can split (two
disjoint quorums and, when one exists, a verified threshold fix are printed); 2 bad input (the
message names the problem); 3 unknown: no answer within the limits (the reason is printed).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

_out = Console()
_err = Console(stderr=True)

EXAMPLES = """
FILE is JSON or TOML:
  {"nodes": [{"id": "A", "quorum_set": {"threshold": 2, "validators": ["A", "B", "C"], "inner_sets": []}}, ...]}
(an unknown quorum set may be null: that node never counts; inner sets may name organisations
defined once under "organisations": [{"name": "coop", "threshold": 2, "validators": [...]}]),
stellar-core's {"nodes": [{"node": "A", "qset": {"t": 2, "v": ["A", "B", {"t": 1, "v": [...]}]}}]},
or a validator's own config file with \\[consensus.quorum_set] (then every listed validator is
assumed to use that same quorum set).

Examples:
  tally check-quorum network.json
  tally check-quorum ~/.tally/node.toml --json
  tally check-quorum big-network.json --time-limit 10 --memory-limit 500MB
"""

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(text: str) -> int:
    """``"2GB"``, ``"300MB"``, ``"512M"`` or a number of bytes. Raises typer.BadParameter."""
    m = _SIZE.match(text)
    if m is None:
        raise typer.BadParameter(f"{text!r} is not a size; write it like 2GB or 300MB")
    return int(float(m.group(1)) * _UNITS[(m.group(2) or "").lower()[:1]])


def check_quorum(
    file: Path = typer.Argument(
        ..., help="Network description (JSON or TOML), or a validator's config file."
    ),
    time_limit: float = typer.Option(
        60.0, "--time-limit", min=0.1, help="Give up (answer unknown, exit 3) after this many seconds."
    ),
    memory_limit: str = typer.Option(
        "2GB", "--memory-limit", help="Give up (answer unknown, exit 3) beyond this much memory, e.g. 300MB."
    ),
    explain: bool = typer.Option(
        True,
        "--explain/--no-explain",
        help="Also find intersection-critical groups (OK) or a threshold fix (SPLIT).",
    ),
    as_json: bool = typer.Option(
        False, "--json", help='Print {"intersecting", "split", "nodes", "has_quorum", …} as JSON.'
    ),
) -> None:
    """Check that every two quorums of a network intersect (so it cannot fork), and explain the answer."""
    from node.quorum_file import InputError, load_network_file
    from node.quorum_process import MIN_MEMORY_LIMIT_BYTES, CheckLimits, run_check

    try:
        memory = parse_size(memory_limit)
        if memory < MIN_MEMORY_LIMIT_BYTES:
            raise InputError(f"--memory-limit must be at least {MIN_MEMORY_LIMIT_BYTES // 1024**2}MB")
        network = load_network_file(file)
    except (InputError, typer.BadParameter) as exc:
        message = exc.message if isinstance(exc, typer.BadParameter) else str(exc)
        if as_json:
            typer.echo(json.dumps({"error": "bad_input", "message": message}))
        else:
            _err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
        raise typer.Exit(2) from None
    limits = CheckLimits(time_limit, memory)
    with _err.status(f"checking {len(network)} nodes (limits {limits.describe()})…", spinner="dots"):
        answer = run_check(network, limits, explain=explain).to_json()
    if as_json:
        typer.echo(json.dumps(answer))
    else:
        _print(answer)
    if answer["intersecting"] is None:
        raise typer.Exit(3)
    if not answer["intersecting"]:
        raise typer.Exit(1)


def _print(answer: dict[str, Any]) -> None:
    nodes = answer["nodes"]
    if answer["intersecting"] is None:
        _out.print(f"[yellow]UNKNOWN[/yellow]: no answer for {nodes} nodes: {escape(answer['reason'])}")
        return
    if answer["intersecting"]:
        note = (
            ""
            if answer["has_quorum"]
            else " (but no quorum exists at all: the network cannot decide anything)"
        )
        _out.print(f"[green]OK[/green]: every two quorums intersect ({nodes} nodes){note}")
        _print_critical(answer.get("critical"))
        return
    a, b = answer["split"]
    _out.print(
        f"[red]SPLIT[/red]: these two quorums share no node and could decide differently ({nodes} nodes)"
    )
    _out.print(f"  quorum 1: {', '.join(a)}")
    _out.print(f"  quorum 2: {', '.join(b)}")
    _print_suggestion(answer.get("suggestion"))


def _print_critical(critical: dict[str, Any] | None) -> None:
    if critical is None:
        return
    orgs, validators = critical["organisations"], critical["validators"]
    if orgs is None:
        _out.print(f"  intersection-critical groups: not found ({escape(critical['reason'])})")
        return
    if not orgs and not validators:
        _out.print("  no single organisation or validator can split the network by misbehaving")
        return
    _out.print(
        "  [yellow]intersection-critical[/yellow]: misbehaving alone, any one of these could let two "
        "quorums decide differently"
    )
    if orgs:
        _out.print("    organisations: " + "; ".join("{" + ", ".join(g["members"]) + "}" for g in orgs))
    if validators:
        _out.print("    validators: " + ", ".join(g["members"][0] for g in validators))
    kind, first = ("organisation", orgs[0]) if orgs else ("validator", validators[0])
    _out.print(f"    for example, if {kind} {', '.join(first['members'])} misbehaves:")
    _out.print(f"      quorum 1: {', '.join(first['split'][0])}")
    _out.print(f"      quorum 2: {', '.join(first['split'][1])}")


def _print_suggestion(suggestion: dict[str, Any] | None) -> None:
    if suggestion is None:
        return
    changes = suggestion["changes"]
    if changes is None:
        why = suggestion.get("reason") or (
            "no threshold raise makes every two quorums intersect: the two groups must list "
            "validators from each other in their quorum sets"
        )
        _out.print(f"  no threshold fix found: {escape(why)}")
        return
    _out.print(
        "  suggested fix (verified: afterwards every two quorums intersect and every node still has a quorum):"
    )
    for c in changes:
        level = "top-level threshold" if not c["path"] else f"threshold of inner set {_path(c['path'])}"
        users = c["nodes"]
        who = ", ".join(users[:4]) + (f", … ({len(users)} nodes)" if len(users) > 4 else "")
        _out.print(f"    raise the {level} from {c['from']} to {c['to']} in the quorum set of {who}")


def _path(path: list[int]) -> str:
    return " → ".join(str(i + 1) for i in path)


def register(app: typer.Typer) -> None:
    """Add ``tally check-quorum`` to the root command."""
    app.command("check-quorum", help=(check_quorum.__doc__ or "") + "\n\n" + EXAMPLES)(check_quorum)
