"""``tally check-quorum FILE``: can this network split into two groups that decide differently?

Exit codes: 0 every two quorums intersect; 1 the network can split (two disjoint quorums are
printed); 2 bad input (the message names the problem).
"""

from __future__ import annotations

import json
import tomllib
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
(an unknown quorum set may be null: that node never counts), stellar-core's
{"nodes": [{"node": "A", "qset": {"t": 2, "v": ["A", "B", {"t": 1, "v": [...]}]}}]},
or a validator's own config file with \\[consensus.quorum_set] (then every listed validator is
assumed to use that same quorum set).

Examples:
  tally check-quorum network.json
  tally check-quorum ~/.tally/node.toml --json
"""


class InputError(ValueError):
    pass


def _load(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".toml" or (not text.lstrip().startswith(("{", "["))):
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{path} is neither JSON nor valid TOML: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: invalid JSON: {exc}") from None


def _qset(obj: Any, where: str, depth: int = 0) -> tuple[int, list[str], list[Any]]:
    """(threshold, validator names, inner sets) from either input shape."""
    if depth > 4:
        raise InputError(f"{where}: inner sets nested more than 4 levels deep")
    if not isinstance(obj, dict):
        raise InputError(f"{where}: expected an object with threshold, validators, inner_sets")
    if "t" in obj or "v" in obj:  # stellar-core's /quorum shape: inner sets inside "v"
        t, members = obj.get("t"), obj.get("v", [])
        if not isinstance(members, list):
            raise InputError(f"{where}.v: expected a list")
        vals = [m for m in members if not isinstance(m, dict)]
        inner = [m for m in members if isinstance(m, dict)]
    else:
        unknown = set(obj) - {"threshold", "validators", "inner_sets"}
        if unknown:
            raise InputError(
                f"{where}: unknown key {sorted(unknown)[0]!r} (known: threshold, validators, inner_sets)"
            )
        t, vals, inner = obj.get("threshold"), obj.get("validators", []), obj.get("inner_sets", [])
        if not isinstance(vals, list) or not isinstance(inner, list):
            raise InputError(f"{where}: validators and inner_sets must be lists")
    if not isinstance(t, int) or isinstance(t, bool):
        raise InputError(f"{where}: threshold must be an integer, got {t!r}")
    if not all(isinstance(v, str) and v for v in vals):
        raise InputError(f"{where}: validators must be non-empty strings")
    size = len(vals) + len(inner)
    if not 1 <= t <= size:
        raise InputError(f"{where}: threshold {t} is out of range (1..{size}, the number of members)")
    if len(set(vals)) != len(vals):
        raise InputError(f"{where}: a validator is listed twice")
    return t, list(vals), [_qset(i, f"{where}.inner_sets[{k}]", depth + 1) for k, i in enumerate(inner)]


def parse_network(data: Any) -> dict[str, Any]:
    """Node name → parsed quorum set (or None). Raises InputError naming the problem."""
    if (
        isinstance(data, dict)
        and isinstance(data.get("consensus"), dict)
        and "quorum_set" in data["consensus"]
    ):
        q = _qset(data["consensus"]["quorum_set"], "[consensus.quorum_set]")
        return dict.fromkeys(sorted(_names(q)), q)
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        raise InputError('expected {"nodes": [...]} or a node config with [consensus.quorum_set]')
    out: dict[str, Any] = {}
    for i, entry in enumerate(data["nodes"]):
        if not isinstance(entry, dict):
            raise InputError(f"nodes[{i}]: expected an object")
        name = entry.get("id", entry.get("node"))
        if not isinstance(name, str) or not name:
            raise InputError(f'nodes[{i}]: missing "id"')
        if name in out:
            raise InputError(f"nodes[{i}]: node {name!r} is listed twice")
        raw = entry.get("quorum_set", entry.get("qset"))
        out[name] = None if raw is None else _qset(raw, f"node {name!r} quorum_set")
    for name, q in out.items():
        if q is not None:
            for ref in sorted(_names(q)):
                if ref not in out:
                    raise InputError(
                        f'node {name!r} trusts unknown node {ref!r}: add it to "nodes" '
                        '(with "quorum_set": null if its quorum set is unknown)'
                    )
    return out


def _names(q: tuple[int, list[str], list[Any]]) -> set[str]:
    _, vals, inner = q
    out = set(vals)
    for i in inner:
        out |= _names(i)
    return out


def check_file(path: Path) -> dict[str, Any]:
    """The JSON answer for a network file. Raises InputError."""
    from consensus import QuorumSet
    from consensus.quorum_check import check_intersection
    from protocol.hashing import blake2b256

    parsed = parse_network(_load(path))
    ids = {name: blake2b256(name.encode("utf-8"), b"tally.qcheck") for name in parsed}
    names = {v: k for k, v in ids.items()}

    def build(q: tuple[int, list[str], list[Any]]) -> QuorumSet:
        t, vals, inner = q
        return QuorumSet(t, tuple(ids[v] for v in vals), tuple(build(i) for i in inner))

    network = {ids[n]: (None if q is None else build(q)) for n, q in parsed.items()}
    result = check_intersection(network)
    split = None
    if result.split is not None:
        split = [sorted(names[x] for x in side) for side in result.split]
    return {
        "intersecting": result.intersecting,
        "split": split,
        "nodes": len(parsed),
        "has_quorum": result.has_quorum,
    }


def check_quorum(
    file: Path = typer.Argument(
        ..., help="Network description (JSON or TOML), or a validator's config file."
    ),
    as_json: bool = typer.Option(False, "--json", help='Print {"intersecting", "split", "nodes"} as JSON.'),
) -> None:
    """Check that every two quorums of a network intersect (so it cannot fork)."""
    try:
        answer = check_file(file)
    except InputError as exc:
        if as_json:
            typer.echo(json.dumps({"error": "bad_input", "message": str(exc)}))
        else:
            _err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps({k: answer[k] for k in ("intersecting", "split", "nodes", "has_quorum")}))
    elif answer["intersecting"]:
        note = (
            ""
            if answer["has_quorum"]
            else " (but no quorum exists at all: the network cannot decide anything)"
        )
        _out.print(f"[green]OK[/green]: every two quorums intersect ({answer['nodes']} nodes){note}")
    else:
        a, b = answer["split"]
        _out.print(
            f"[red]SPLIT[/red]: these two quorums share no node and could decide differently ({answer['nodes']} nodes)"
        )
        _out.print(f"  quorum 1: {', '.join(a)}")
        _out.print(f"  quorum 2: {', '.join(b)}")
    if not answer["intersecting"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``tally check-quorum`` to the root command."""
    app.command("check-quorum", help=(check_quorum.__doc__ or "") + "\n\n" + EXAMPLES)(check_quorum)
