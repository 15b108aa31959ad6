"""Command line of ``scripts/netlab``: options, dispatch and the human-readable report."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

import netlab
import netlab_matrix
import netlab_ns as ns
import netlab_scenario

from node.errors import NodeError
from node.testnet import pid_alive

EXAMPLES = """examples:
  scripts/netlab up --validators 4 --topology chain --delay-ms 50 --jitter-ms 5
  scripts/netlab status --json
  scripts/netlab stop n0            # the node others bootstrapped from goes away …
  scripts/netlab start n0           # … and comes back
  scripts/netlab down
  scripts/netlab run --validators 7 --topology full --delay-ms 150 --rate 5 --duration 60 --json
  scripts/netlab run --validators 4 --topology chain --delay-ms 50 --scenario lose-bootstrap --json
  scripts/netlab matrix --validators 4,7 --topologies chain,full --delays-ms 0,50,150 --repeat 3 \
      --rate 5 --duration 25 --lock /work/bench.lock --record /tmp/matrix.jsonl

exit codes: 0 ok; 1 a run lost payments, nodes disagree or (matrix) a run failed; 2 bad usage or the lab cannot be built
(needs root, iproute2 and ethtool); 130 interrupted (the lab is torn down)."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/netlab",
        description="Tally validators on separate virtual hosts (Linux network namespaces) with WAN latency.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dir", default="/tmp/tally-netlab", help="lab folder (default /tmp/tally-netlab)")
    common.add_argument("--prefix", default="tlab", help="namespace name prefix (default tlab)")
    common.add_argument("--json", action="store_true", help="machine-readable output")
    links = argparse.ArgumentParser(add_help=False)
    links.add_argument("--degree", type=int, default=2, help="neighbours per node for --topology random")
    links.add_argument("--jitter-ms", type=float, default=0.0, help="uniform ± jitter per frame")
    links.add_argument("--loss", type=float, default=0.0, help="frame loss probability per link (0–0.5)")
    links.add_argument("--close-interval-ms", type=int, default=1000, help="validators' close interval")
    links.add_argument("--seed", type=int, default=1, help="seed for the random topology and the load")
    build = argparse.ArgumentParser(add_help=False, parents=[links])
    build.add_argument("--validators", type=int, default=4, help="validators, one per namespace (default 4)")
    build.add_argument(
        "--topology", choices=netlab.TOPOLOGIES, default="full", help="who bootstraps from whom"
    )
    build.add_argument("--delay-ms", type=float, default=0.0, help="one-way delay of every link (RTT = 2×)")
    load = argparse.ArgumentParser(add_help=False)
    load.add_argument("--rate", type=float, default=5.0, help="payments per second offered (default 5)")
    load.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60; matrix 25)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", parents=[common, build], help="build the lab and start every node")
    sub.add_parser("status", parents=[common], help="ledger, peers and state hash of every node")
    sub.add_parser("down", parents=[common], help="stop every process of the lab and remove its namespaces")
    for name, text in (("stop", "stop one node (SIGTERM)"), ("start", "start a stopped node again")):
        command = sub.add_parser(name, parents=[common], help=text)
        command.add_argument("node", help="node name, e.g. n0")
    measure = sub.add_parser("run", parents=[common, build, load], help="up, offer a load, report, down")
    measure.add_argument(
        "--scenario",
        choices=netlab_scenario.SCENARIOS,
        default="none",
        help="after the load: lose-bootstrap stops the last node's bootstrap peers and restarts it",
    )
    _add_matrix(sub, [common, links, load])
    args = parser.parse_args(argv)
    if getattr(args, "loss", 0.0) and not 0 <= args.loss <= 0.5:
        parser.error("--loss must be between 0 and 0.5")
    if isinstance(getattr(args, "validators", None), int) and args.validators < 1:
        parser.error("--validators must be at least 1")
    if getattr(args, "repeat", 1) < 1:
        parser.error("--repeat must be at least 1")
    return args


def _add_matrix(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    grid = sub.add_parser(
        "matrix",
        parents=parents,
        help="run a grid of labs (validators × topology × delay) N times each and print the medians",
    )
    grid.add_argument("--validators", type=_ints, default=[4, 7], help="comma-separated (default 4,7)")
    grid.add_argument(
        "--topologies",
        type=_topologies,
        default=["chain", "full"],
        help="comma-separated (default chain,full)",
    )
    grid.add_argument(
        "--delays-ms", type=_floats, default=[0.0, 50.0, 150.0], help="one-way delays (default 0,50,150)"
    )
    grid.add_argument(
        "--repeat", type=int, default=3, help="runs per cell; the cell reports medians (default 3)"
    )
    grid.set_defaults(duration=25.0)
    grid.add_argument(
        "--lock", help="hold an exclusive flock on this file for each cell (e.g. /work/bench.lock)"
    )
    grid.add_argument(
        "--record", help="append each run to this JSON-lines file; runs it holds are not redone"
    )


def _ints(text: str) -> list[int]:
    values = [int(part) for part in text.split(",") if part.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("give counts of at least 1, e.g. 4,7")
    return values


def _floats(text: str) -> list[float]:
    values = [float(part) for part in text.split(",") if part.strip()]
    if not values or min(values) < 0:
        raise argparse.ArgumentTypeError("give delays of 0 ms or more, e.g. 0,50,150")
    return values


def _topologies(text: str) -> list[str]:
    values = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [v for v in values if v not in netlab.TOPOLOGIES]
    if not values or unknown:
        raise argparse.ArgumentTypeError(f"topologies are {', '.join(netlab.TOPOLOGIES)}")
    return values


def report(args: argparse.Namespace) -> int:
    folder = Path(args.dir).resolve()
    if args.command == "up":
        state = netlab.up(args)
        return _print(args, {"folder": state.folder, "nodes": [_node_row(n) for n in state.nodes]}, _up_text)
    if args.command == "down":
        removed = netlab.down(folder, args.prefix)
        return _print(args, {"removed_namespaces": removed}, lambda d: f"removed {len(removed)} namespaces")
    if args.command == "run":
        scenario = netlab_scenario.lose_bootstrap if args.scenario == "lose-bootstrap" else None
        result = netlab.run(args, after_load=scenario)
        _print(args, result, _run_text)
        healthy = result.get("state_hashes_agree") and not result.get("lost") and result.get("applied")
        healthy = healthy and result.get("scenario", {"reconnected": True})["reconnected"]
        return 0 if healthy else 1
    if args.command == "matrix":
        ns.check_tools()
        result = netlab_matrix.matrix(args)
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            netlab_matrix.print_table(result)
        return 0 if netlab_matrix.all_healthy(result) else 1
    state = netlab.LabState.load(folder)
    if args.command == "status":
        return _print(args, netlab.inside(state, "status"), _status_text)
    node = next((n for n in state.nodes if n.name == args.node), None)
    if node is None:
        raise ns.LabError(f"no node {args.node!r} (known: {', '.join(n.name for n in state.nodes)})")
    if args.command == "stop":
        netlab.stop_node(state, node)
    elif node.pid is None or not pid_alive(node.pid):
        netlab.start_node(state, node)
    return _print(args, _node_row(node), lambda d: f"{node.name}: pid {node.pid}")


def _node_row(node: netlab.LabNode) -> dict[str, Any]:
    return {
        "name": node.name,
        "namespace": node.namespace,
        "node_id": node.node_id,
        "p2p": node.p2p,
        "api": node.api,
        "pid": node.pid,
        "bootstrap": node.bootstrap,
    }


def _print(args: argparse.Namespace, data: dict[str, Any], text: Any) -> int:
    print(json.dumps(data, indent=2) if args.json else text(data))
    return 0


def _up_text(data: dict[str, Any]) -> str:
    lines = [f"lab in {data['folder']}"]
    for node in data["nodes"]:
        lines.append(
            f"  {node['name']}  {node['namespace']:<10} api {node['api']}  pid {node['pid']}  "
            f"bootstraps from {len(node['bootstrap'])}"
        )
    lines.append("next: scripts/netlab status   ·   scripts/netlab down")
    return "\n".join(lines)


def _status_text(data: dict[str, Any]) -> str:
    lines = [f"{'node':<5} {'ledger':>7} {'peers':>5}  state hash"]
    for row in data["nodes"]:
        if row.get("error"):
            lines.append(f"{row['name']:<5} {row['error']}")
            continue
        lines.append(f"{row['name']:<5} {row['ledger']:>7} {row['peers']:>5}  {row['state_hash'][:16]}…")
    return "\n".join(lines)


def _ms(value: Any) -> str:
    return "–" if value is None else f"{value / 1000:.2f} s"


def _run_text(result: dict[str, Any]) -> str:
    lab, traffic = result["lab"], result.get("traffic_per_ledger", {})
    return "\n".join(
        [
            f"{lab['validators']} validators, {lab['topology']} topology, one-way delay {lab['delay_ms']:g} ms "
            f"± {lab['jitter_ms']:g} ms, loss {lab['loss']:g}",
            f"offered {result['offered']} payments at {result['offered_tx_per_s']} tx/s; applied {result['applied']}, "
            f"lost {result['lost']}; state hashes agree: {result['state_hashes_agree']}",
            f"latency p50 {_ms(result['latency_ms_p50'])}, p99 {_ms(result['latency_ms_p99'])}; close interval "
            f"p50 {_ms(result['close_interval_ms_p50'])}",
            f"per ledger per node: {traffic.get('messages_out_mean', '–')} messages "
            f"({traffic.get('scp_out_mean', '–')} SCP), {traffic.get('kib_out_mean', '–')} KiB sent",
            f"switch: {result.get('switch', {}).get('late_share', '–')} of frames over "
            f"{result.get('switch', {}).get('late_threshold_ms', 5)} ms late",
            *_scenario_text(result.get("scenario")),
        ]
    )


def _scenario_text(scenario: dict[str, Any] | None) -> list[str]:
    if scenario is None:
        return []
    head = f"{scenario['name']}: {scenario['node']} restarted without {', '.join(scenario['stopped_bootstrap'])}: "
    if not scenario["reconnected"]:
        return [head + "did NOT reconnect"]
    return [
        head + f"reconnected in {scenario['seconds']} s with {scenario['peers']} peers, "
        f"ledger {scenario['ledger']} (others {scenario['others_ledger']})"
    ]


def _raise_on_sigterm() -> None:
    """SIGTERM and SIGHUP (a closed terminal) tear the lab down like Ctrl-C does (the ``finally``
    blocks run; the teardown itself holds these signals off until it is done). Ctrl-C's own handler
    is set too: a process started in the background by a shell inherits SIGINT ignored, and Python
    then leaves it ignored, so the lab could not be interrupted."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)


def main() -> int:
    args = parse_args(sys.argv[1:])
    _raise_on_sigterm()
    try:
        return report(args)
    except (ns.LabError, NodeError) as exc:
        message = json.dumps({"error": str(exc)}) if args.json else f"error: {exc}"
        print(message, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; processes and namespaces the command created were removed", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
