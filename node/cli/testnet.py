"""``tally testnet up|status|logs|down``: a real multi-validator network on this machine.

Exit codes: 0 ok; 1 the network failed (a node died, ledgers did not close, the demo was
refused); 2 bad usage (no testnet in the folder, bad options).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

testnet_app = typer.Typer(help="Run a local multi-validator test network.", no_args_is_help=True)
_out = Console()
_err = Console(stderr=True)


def _default_dir() -> Path:
    return Path(os.environ.get("TALLY_HOME") or Path.home() / ".tally").expanduser() / "testnet"


DIR_OPTION = typer.Option(None, "--dir", help="Testnet folder (default: $TALLY_HOME/testnet).")


@testnet_app.command("up")
def up(
    validators: int = typer.Option(4, "--validators", min=1, max=16, help="Number of validator processes."),
    watchers: int = typer.Option(0, "--watchers", min=0, max=8, help="Number of watcher (non-voting) nodes."),
    threshold: int = typer.Option(0, "--threshold", help="Quorum threshold (default ⌊2n/3⌋+1)."),
    folder: Path | None = DIR_OPTION,
    reset: bool = typer.Option(False, "--reset", help="Delete the testnet folder and start over."),
    no_demo: bool = typer.Option(False, "--no-demo", help="Do not create the demo community."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Start (or restart) the local testnet and seed the demo community.

    Examples:
      tally testnet up
      tally testnet up --validators 7 --reset --json
    """
    from node import testnet as tn
    from node.demo import DEMO_PASSWORD, seed_demo
    from node.errors import NodeError
    from wallet.errors import WalletError
    from wallet.home import Home

    started_s = time.monotonic()
    root = folder or _default_dir()
    if reset and root.exists():
        try:
            existing = tn.Testnet.load(root)
            tn.stop(existing)
        except tn.TestnetError:
            pass
        shutil.rmtree(root)
    try:
        if (root / tn.STATE_FILE).exists():
            net = tn.Testnet.load(root)
            if net.running():
                _say_running(net, as_json)
                return
        else:
            net = tn.create(root, validators=validators, watchers=watchers, threshold=threshold or None)
        with _progress(as_json, f"Starting {len(net.nodes)} nodes in {root} …") as status:
            tn.start(net)
            tn.wait_ready(net)
            if not net.seeded and not no_demo:
                status.update(
                    "Network is up; creating the demo community (HOUR, LETS, BRX; alice, bob, carol) …"
                )
                net.demo = seed_demo(net.nodes[0].api, Home.from_env())
                net.seeded = True
                net.save()
    except (NodeError, WalletError) as exc:
        _fail(1, str(exc))
    summary = _summary(net, DEMO_PASSWORD, time.monotonic() - started_s)
    if as_json:
        typer.echo(json.dumps(summary))
        return
    table = Table(title=f"Tally testnet in {root}")
    for column in ("node", "role", "API", "metrics"):
        table.add_column(column)
    for node in summary["nodes"]:
        table.add_row(node["name"], node["role"], node["api"], node["metrics"])
    _out.print(table)
    if net.demo:
        _out.print(
            f"Demo wallets: {', '.join(summary['demo_wallets'])} (password: [bold]{DEMO_PASSWORD}[/bold] — "
            "testnet only, never for real money)"
        )
        _out.print(
            "Demo payment: alice paid bob 1.50 h for gardening "
            f"(ledger {net.demo['demo_payment']['ledger']})."
        )
        if net.demo.get("listings"):
            _out.print("On the board: bob offers garden help, carol asks for a lift (tally board list).")
        if net.demo.get("proposal"):
            _out.print(
                f"HOUR is governed by its members; proposal {net.demo['proposal']} (20 h of credit for "
                f"newcomers) is open: `tally proposal show {net.demo['proposal']}`."
            )
    where = "" if folder is None else f" --dir {root}"
    _out.print(
        f"Ready in {summary['ready_s']:.1f} s. Next (tally is .venv/bin/tally):\n"
        f"  export TALLY_PASSWORD={DEMO_PASSWORD}   # the demo wallets' password (testnet only)\n"
        "  tally balance --wallet bob\n"
        "  tally send bob 2 HOUR --wallet alice --wait\n"
        "  tally board list --currency HOUR\n"
        f"  tally proposal vote {(net.demo or {}).get('proposal', 'HOUR-2')} yes --wallet carol --wait\n"
        f"  tally testnet status{where}\n"
        f"  tally testnet down{where}",
        soft_wrap=True,
    )


class _Quiet:
    def update(self, text: str) -> None:
        pass


@contextlib.contextmanager
def _progress(quiet: bool, text: str) -> Iterator[Any]:
    """A spinner on stderr while the network starts (nothing with --json)."""
    if quiet:
        yield _Quiet()
        return
    with _err.status(text) as status:
        yield status


def _summary(net: Any, password: str, elapsed_s: float) -> dict[str, Any]:
    return {
        "dir": str(net.folder),
        "threshold": net.threshold,
        "ready_s": round(elapsed_s, 2),
        "nodes": [
            {
                "name": n.name,
                "role": n.role,
                "api": n.api,
                "metrics": n.metrics,
                "p2p": n.multiaddr,
                "pid": n.pid,
                "node_id": n.node_id,
            }
            for n in net.nodes
        ],
        "demo_wallets": list(net.demo["wallets"]) if net.demo else [],
        "demo_password": password if net.demo else None,
        "demo": net.demo,
    }


def _say_running(net: Any, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"already_running": True, **_summary(net, "tally-testnet-only", 0.0)}))
    else:
        _out.print(
            f"The testnet in {net.folder} is already running ({len(net.running())} processes); "
            "see `tally testnet status`, or `tally testnet down` first."
        )


@testnet_app.command("status")
def status(
    folder: Path | None = DIR_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Show every node: role, API, ledger, state hash, peers, last close, process alive.

    Exit code 1 when a node that should run is down.
    """
    from node import testnet as tn

    try:
        net = tn.Testnet.load(folder or _default_dir())
    except tn.TestnetError as exc:
        _fail(2, str(exc))
    rows = tn.status(net)
    hashes = {r["state_hash"] for r in rows if r["state_hash"]}
    if as_json:
        typer.echo(json.dumps({"dir": str(net.folder), "nodes": rows}))
    else:
        table = Table(title=f"Tally testnet in {net.folder}")
        for column in ("node", "role", "alive", "ledger", "state hash", "peers", "last close", "API"):
            table.add_column(column)
        for r in rows:
            age = f"{r['last_close_age_s']:.1f} s ago" if r["last_close_age_s"] is not None else "-"
            table.add_row(
                r["name"],
                r["role"],
                "yes" if r["alive"] else "[red]NO[/red]",
                str(r["ledger"] or "-"),
                (r["state_hash"] or "-")[:16],
                str(r["peers"] if r["peers"] is not None else "-"),
                age,
                r["api"],
            )
        _out.print(table)
        if len(hashes) > 1:
            _out.print(
                "Nodes at different ledgers show different state hashes; that is normal while closing."
            )
    if any(not r["alive"] for r in rows if r["pid"] is not None) or all(r["pid"] is None for r in rows):
        raise typer.Exit(1)


@testnet_app.command("logs")
def logs(
    node: str | None = typer.Argument(None, help="Node name (v0, v1, …); default: all."),
    folder: Path | None = DIR_OPTION,
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new lines."),
    lines: int = typer.Option(20, "--lines", "-n", help="Lines to show from the end of each log."),
) -> None:
    """Print node logs (JSON lines).

    Examples:
      tally testnet logs v0 --lines 50
      tally testnet logs --follow
    """
    from node import testnet as tn

    try:
        net = tn.Testnet.load(folder or _default_dir())
    except tn.TestnetError as exc:
        _fail(2, str(exc))
    chosen = [n for n in net.nodes if node in (None, n.name)]
    if not chosen:
        _fail(2, f"no node named {node!r}; nodes: {', '.join(n.name for n in net.nodes)}")
    handles = []
    for entry in chosen:
        path = Path(entry.folder) / tn.LOG_NAME
        if not path.exists():
            continue
        handle = path.open("r", errors="replace")
        for line in handle.readlines()[-lines:]:
            typer.echo(f"{entry.name} | {line.rstrip()}")
        handles.append((entry.name, handle))
    try:
        while follow:
            time.sleep(0.3)
            for name, handle in handles:
                for line in handle.readlines():
                    typer.echo(f"{name} | {line.rstrip()}")
    except KeyboardInterrupt:
        pass
    finally:
        for _, handle in handles:
            handle.close()


@testnet_app.command("down")
def down(
    folder: Path | None = DIR_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Stop every node process this testnet started (data stays for the next `up`).

    Example:
      tally testnet down
    """
    from node import testnet as tn

    try:
        net = tn.Testnet.load(folder or _default_dir())
    except tn.TestnetError as exc:
        _fail(2, str(exc))
    stopped = tn.stop(net)
    if as_json:
        typer.echo(json.dumps({"stopped": stopped}))
    else:
        _out.print(
            f"Stopped {len(stopped)} nodes; data kept in {net.folder} (`tally testnet up --reset` starts over)."
        )


def _fail(code: int, message: str) -> NoReturn:
    _err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)
