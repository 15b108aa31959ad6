"""``tally sim``: run N SCP validators in one process on a seeded fake network and report.

Everything is simulated (clock, network, faults), so the same options and seed always print the
same output. Topologies: a full mesh, a tiered core, organisations (``--orgs N --per-org 3``) with
watchers that follow them (``--watchers M``), or any network file ``check-quorum`` reads
(``--network FILE``). Exit codes: 0 no safety violation; 1 two honest nodes externalized different
values for a slot; 2 bad options.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

_out = Console()
_err = Console(stderr=True)

EXAMPLES = """
Examples:
  tally sim --nodes 4 --slots 10
  tally sim --nodes 7 --threshold 5 --byzantine 2 --byzantine-mode equivocate --latency-ms 20 --drop 0.05 --slots 50 --seed 7 --json
  tally sim --nodes 4 --partition "0,1|2,3@0-20000" --slots 3
  tally sim --nodes 5 --crash "4@500" --crash "0@1000-6000" --slots 10
  tally sim --orgs 33 --per-org 3 --watchers 20 --latency-ms 100 --drop 0.01 --slots 5
  tally sim --network network.json --latency-ms 100 --slots 3 --json
"""

MAX_NETWORK_NODES = 500


def sim(
    nodes: int | None = typer.Option(
        None, "--nodes", min=1, max=200, help="Number of validators (default 4)."
    ),
    orgs: int = typer.Option(
        0, "--orgs", min=0, max=100, help="Organisations of --per-org validators each (topology orgs)."
    ),
    per_org: int = typer.Option(3, "--per-org", min=1, max=9, help="Validators per organisation."),
    watchers: int = typer.Option(
        0,
        "--watchers",
        min=0,
        max=300,
        help="Non-voting nodes that follow the validators (in orgs: a random subset).",
    ),
    network: Path | None = typer.Option(
        None,
        "--network",
        help="Nodes and quorum sets from a file (the check-quorum format); trusted nodes vote, the rest watch.",
    ),
    threshold: int = typer.Option(
        0,
        "--threshold",
        min=0,
        help="Top-level threshold (default n - ⌊(n-1)/3⌋, a 2f+1-style majority; for --topology orgs it counts organisations).",
    ),
    topology: str = typer.Option(
        "full",
        "--topology",
        help="full: everyone trusts everyone; tiered: all trust a core of max(4, n/2); orgs: organisations of --per-org.",
    ),
    byzantine: int = typer.Option(0, "--byzantine", min=0, help="How many nodes (the last K) misbehave."),
    byzantine_mode: str = typer.Option(
        "equivocate",
        "--byzantine-mode",
        help="equivocate (different values to different peers), silent, garbage or random (random well-formed statements), lie-qset (claims to trust only itself).",
    ),
    latency_ms: int = typer.Option(20, "--latency-ms", min=0, help="One-way message latency."),
    jitter_ms: int = typer.Option(0, "--jitter-ms", min=0, help="Extra random latency, 0..jitter."),
    drop: float = typer.Option(0.0, "--drop", min=0.0, max=0.99, help="Probability that a message is lost."),
    duplicate: float = typer.Option(
        0.0, "--duplicate", min=0.0, max=0.99, help="Probability that a message is delivered twice."
    ),
    partition: list[str] = typer.Option(
        [],
        "--partition",
        help='Groups of node indexes cut off from each other for a while, e.g. "0,1|2,3@1000-5000" (repeatable).',
    ),
    crash: list[str] = typer.Option(
        [],
        "--crash",
        help='Node N stops at a time, optionally restarting from its saved statements: "3@2000" or "3@2000-9000" (repeatable).',
    ),
    slots: int = typer.Option(10, "--slots", min=1, max=100_000, help="How many slots (ledgers) to decide."),
    seed: int = typer.Option(0, "--seed", help="Seed of the simulation (same seed, same output)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
) -> None:
    """Simulate SCP validators on a fake network: safety, liveness, latency and message counts."""
    from consensus.sim import SimConfig, SimConfigError, parse_crash, parse_partition, run_simulation
    from node.quorum_file import InputError, load_network_file

    try:
        spec = None
        if network is not None:
            if nodes is not None or orgs:
                raise SimConfigError("--network sets the nodes: leave out --nodes and --orgs")
            loaded = load_network_file(network)
            if len(loaded) > MAX_NETWORK_NODES:
                raise SimConfigError(f"{len(loaded)} nodes; the simulator runs at most {MAX_NETWORK_NODES}")
            spec = tuple((name.encode(), q) for name, q in loaded.items())
            topology = "network"
        elif orgs:
            if nodes is not None:
                raise SimConfigError("--orgs sets the number of validators: leave out --nodes")
            nodes, topology = orgs * per_org, "orgs"
        cfg = SimConfig(
            nodes=nodes or 4,
            threshold=threshold or None,
            topology=topology,
            byzantine=byzantine,
            byzantine_mode=byzantine_mode,
            latency_ms=latency_ms,
            jitter_ms=jitter_ms,
            drop=drop,
            duplicate=duplicate,
            partitions=tuple(parse_partition(p) for p in partition),
            crashes=tuple(parse_crash(c) for c in crash),
            slots=slots,
            seed=seed,
            per_org=per_org,
            watchers=watchers,
            network=spec,
        )
        with _err.status(f"simulating {cfg.total_nodes} nodes for {slots} slots…", spinner="dots"):
            report = run_simulation(cfg)
    except (SimConfigError, InputError) as exc:
        if as_json:
            typer.echo(json.dumps({"error": "bad_options", "message": str(exc)}))
        else:
            _err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
    data = report.to_json()
    if as_json:
        typer.echo(json.dumps(data))
    else:
        who = f"{data['nodes']} validators" + (f" + {data['watchers']} watchers" if data["watchers"] else "")
        table = Table(title=f"tally sim — {who}, seed {seed}")
        for col in ("slot", "value", "honest externalized", "agree", "first ms", "last ms"):
            table.add_column(col, justify="left" if col == "value" else "right")
        for row in report.per_slot:
            table.add_row(
                str(row.slot),
                row.value or "—",
                str(row.honest_externalized),
                "yes" if row.agree else "[red]NO[/red]",
                "—" if row.first_ms is None else str(row.first_ms),
                "—" if row.last_ms is None else str(row.last_ms),
            )
        _out.print(table)
        verdict = "[green]safe[/green]" if report.safety_violations == 0 else "[red]SAFETY VIOLATED[/red]"
        _out.print(
            f"{verdict}: {data['slots_externalized_by_all_honest']}/{slots} slots externalized by every honest node, "
            f"{data['safety_violations']} safety violations, externalize p50 {data['externalize_ms_p50']} ms "
            f"p99 {data['externalize_ms_p99']} ms, {data['messages_per_slot']} messages/slot, "
            f"{data['sim_time_ms']} ms simulated"
        )
    if report.safety_violations:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``tally sim`` to the root command."""
    app.command("sim", help=(sim.__doc__ or "") + "\n\n" + EXAMPLES, epilog=None)(sim)
