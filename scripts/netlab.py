"""``scripts/netlab``: validators on separate virtual hosts with WAN latency, on one machine (root).

  scripts/netlab up --validators 4 --topology chain --delay-ms 50 --jitter-ms 5
  scripts/netlab status
  scripts/netlab stop n1 && scripts/netlab start n1
  scripts/netlab down
  scripts/netlab run --validators 4 --topology chain --delay-ms 50 --rate 5 --duration 60 --json

Every node runs in its own Linux network namespace with its own address; nodes reach each other
only through a hub namespace whose user-space switch adds the delay, jitter and loss of each link
(``netlab_switch.py``; a round trip crosses it twice, so ``--delay-ms 50`` gives about 100 ms RTT).
The topology decides only whom each node *bootstraps* from: ``full`` (everyone), ``chain``
(node I from node I-1), ``ring`` (chain plus the last from the first) or ``random --degree K``
(a connected random graph, every node with at least K neighbours). Every validator trusts all
validators with threshold ⌊2n/3⌋+1, as ``tally testnet`` does.

``run`` builds the lab, offers payments through the nodes' APIs with ``scripts/bench``'s load
generator (from the control namespace, over undelayed links), reports latency, close interval,
applied/lost, SCP and network messages and bytes per ledger per node, whether state hashes agree
and the switch's own lateness, then always tears the lab down (also on Ctrl-C or SIGTERM).
Nothing leaves the namespaces this script creates.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import nacl.utils
import netlab_ns as ns
from machine_info import machine

from node.net import peer_id_for
from node.setup import CONFIG_NAME, NodeSpec, QuorumSetSpec, init_node
from node.testnet import pid_alive
from protocol.addresses import encode_validator
from protocol.keys import Keypair

PASSPHRASE = "Tally netlab"
STATE_FILE = "netlab.json"
MARKER = ".netlab"
TOPOLOGIES = ("full", "chain", "ring", "random")
SWITCH = Path(__file__).resolve().parent / "netlab_switch.py"
READY_TIMEOUT_S = 60.0
PROBE_TIMEOUT_S = READY_TIMEOUT_S + 60.0  # the wait probe's own limit plus a slow start under load
MEASURE_MARGIN_S = 600.0  # pre-signing, draining the last payments and the protocol floor after the load


@dataclass
class LabNode:
    name: str
    index: int
    namespace: str
    node_id: str
    peer_id: str
    p2p: str
    api: str
    folder: str
    bootstrap: list[str]
    pid: int | None = None


@dataclass
class LabState:
    prefix: str
    folder: str
    topology: str
    degree: int
    delay_ms: float
    jitter_ms: float
    loss: float
    threshold: int
    nodes: list[LabNode]
    switch_pid: int | None = None

    @property
    def stats_file(self) -> Path:
        return Path(self.folder) / "switch-stats.json"

    def save(self) -> None:
        path = Path(self.folder) / STATE_FILE
        path.with_suffix(".tmp").write_text(json.dumps(asdict(self), indent=2) + "\n")
        path.with_suffix(".tmp").replace(path)

    @classmethod
    def load(cls, folder: Path) -> LabState:
        path = folder / STATE_FILE
        try:
            raw = json.loads(path.read_text())
            raw["nodes"] = [LabNode(**n) for n in raw["nodes"]]
            return cls(**raw)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise ns.LabError(
                f"no lab recorded in {folder} ({exc}); start one with `scripts/netlab up`"
            ) from None


def bootstrap_edges(count: int, topology: str, degree: int, seed: int) -> dict[int, set[int]]:
    """Whom each node dials at start: node -> the nodes it bootstraps from."""
    dials: dict[int, set[int]] = {i: set() for i in range(count)}
    if topology == "full":
        return {i: {j for j in range(count) if j != i} for i in range(count)}
    if topology in ("chain", "ring"):
        for i in range(1, count):
            dials[i].add(i - 1)
        if topology == "ring" and count > 2:
            dials[0].add(count - 1)
        return dials
    rng = random.Random(seed)
    neighbours: dict[int, set[int]] = {i: set() for i in range(count)}
    for i in range(1, count):  # a random spanning tree keeps the graph connected
        j = rng.randrange(i)
        neighbours[i].add(j)
        neighbours[j].add(i)
    wanted = min(degree, count - 1)
    for i in rng.sample(range(count), count):
        candidates = [j for j in range(count) if j != i and j not in neighbours[i]]
        rng.shuffle(candidates)
        while len(neighbours[i]) < wanted and candidates:
            j = candidates.pop()
            neighbours[i].add(j)
            neighbours[j].add(i)
    for i, near in neighbours.items():
        dials[i] = {j for j in near if j < i} or (near if i == 0 else set())
    return dials


def prepare(args: argparse.Namespace) -> LabState:
    """Keys, configs and the lab's state file; no namespace or process yet (``start`` makes them)."""
    count = args.validators
    folder = Path(args.dir).resolve()
    if (folder / STATE_FILE).exists():
        raise ns.LabError(f"{folder} holds a lab already: `scripts/netlab down --dir {folder}` first")
    _fresh_folder(folder)
    names = ns.Names(args.prefix)
    keys = [Keypair(nacl.utils.random(32)) for _ in range(count)]
    ids = [encode_validator(k.public_key) for k in keys]
    peers = [peer_id_for(k.public_key) for k in keys]
    p2p = [f"/ip4/{ns.p2p_address(i)}/tcp/{ns.P2P_PORT}/p2p/{peers[i]}" for i in range(count)]
    threshold = (2 * count) // 3 + 1
    edges = bootstrap_edges(count, args.topology, args.degree, args.seed)
    nodes = []
    for i, keypair in enumerate(keys):
        node_folder = folder / f"n{i}"
        bootstrap = [p2p[j] for j in sorted(edges[i])]
        spec = NodeSpec(
            role="validator",
            network_passphrase=PASSPHRASE,
            p2p_port=ns.P2P_PORT,
            api_port=ns.API_PORT,
            bootstrap=tuple(bootstrap),
            quorum_set=QuorumSetSpec(threshold, tuple(ids)),
            close_interval_ms=args.close_interval_ms,
            heartbeat_interval_ms=10_000,
            log_format="json",
            host=ns.p2p_address(i),
            api_host=ns.api_address(i),
        )
        init_node(node_folder, spec, keypair)
        api = f"http://{ns.api_address(i)}:{ns.API_PORT}"
        nodes.append(
            LabNode(f"n{i}", i, names.node(i), ids[i], peers[i], p2p[i], api, str(node_folder), bootstrap)
        )
    state = LabState(
        args.prefix,
        str(folder),
        args.topology,
        args.degree,
        args.delay_ms,
        args.jitter_ms,
        args.loss,
        threshold,
        nodes,
    )
    state.save()
    return state


def _fresh_folder(folder: Path) -> None:
    """An earlier lab's leftovers (logs, configs) go; a folder that is not a lab's is never touched."""
    if folder.exists() and any(folder.iterdir()):
        if not (folder / MARKER).exists():
            raise ns.LabError(f"{folder} is not empty and is not a netlab folder; choose another --dir")
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / MARKER).write_text("made by scripts/netlab; removed by the next `netlab up` here\n")


def start_switch(state: LabState) -> None:
    names = ns.Names(state.prefix)
    log = (Path(state.folder) / "switch.log").open("ab")
    process = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            names.hub,
            sys.executable,
            str(SWITCH),
            *(f"h{n.index}" for n in state.nodes),
            "--delay-ms",
            str(state.delay_ms),
            "--jitter-ms",
            str(state.jitter_ms),
            "--loss",
            str(state.loss),
            "--stats",
            str(state.stats_file),
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    state.switch_pid = process.pid
    state.save()
    deadline = time.monotonic() + 10
    while "switch ready" not in (Path(state.folder) / "switch.log").read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise ns.LabError(f"the switch did not start; see {state.folder}/switch.log")
        time.sleep(0.05)


def start_node(state: LabState, node: LabNode) -> None:
    log = (Path(node.folder) / "node.log").open("ab")
    process = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            node.namespace,
            sys.executable,
            "-m",
            "node",
            "run",
            "--config",
            str(Path(node.folder) / CONFIG_NAME),
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=node.folder,
    )
    log.close()
    node.pid = process.pid
    state.save()


def stop_node(state: LabState, node: LabNode, grace_s: float = 15.0) -> None:
    if node.pid is None:
        return
    for signum, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        try:
            os.kill(node.pid, signum)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait_s
        while pid_alive(node.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not pid_alive(node.pid):
            break
    node.pid = None
    state.save()


def inside(state: LabState, command: str, *extra: str, timeout_s: float = PROBE_TIMEOUT_S) -> dict[str, Any]:
    """Run ``netlab_probe.py COMMAND`` in the control namespace (where the APIs are reachable);
    a probe that does not answer within ``timeout_s`` is killed and reported, never waited on forever."""
    probe = Path(__file__).resolve().parent / "netlab_probe.py"
    ctl = ns.Names(state.prefix).ctl
    command_line = [*("ip", "netns", "exec", ctl, sys.executable, str(probe), command)]
    command_line += ["--state", str(Path(state.folder) / STATE_FILE), *extra]
    try:
        result = subprocess.run(
            command_line, stdout=subprocess.PIPE, text=True, check=False, timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        raise ns.LabError(f"the {command} probe did not answer within {timeout_s:g} s") from None
    try:
        answer: dict[str, Any] = json.loads(result.stdout)
    except ValueError:
        raise ns.LabError(f"the {command} probe failed (exit {result.returncode})") from None
    if "error" in answer:
        raise ns.LabError(str(answer["error"]))
    return answer


def switch_stats(state: LabState) -> dict[str, Any]:
    if state.switch_pid is None:
        return {}
    state.stats_file.unlink(missing_ok=True)
    os.kill(state.switch_pid, signal.SIGUSR1)
    deadline = time.monotonic() + 5
    while not state.stats_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        stats: dict[str, Any] = json.loads(state.stats_file.read_text())
        return stats
    except (OSError, ValueError):
        return {}


def start(state: LabState) -> None:
    """Namespaces, switch and nodes, until every node is ready. On failure the caller tears down
    (except on ``ns.LabExists``: those namespaces are another lab's)."""
    ns.create(ns.Names(state.prefix), len(state.nodes))
    start_switch(state)
    for node in state.nodes:
        start_node(state, node)
    inside(state, "wait", "--timeout", str(READY_TIMEOUT_S))


def up(args: argparse.Namespace) -> LabState:
    ns.check_tools()
    state = prepare(args)
    try:
        start(state)
    except ns.LabExists:
        forget(state)
        raise
    except BaseException:
        teardown(state)
        raise
    return state


def down(folder: Path, prefix: str) -> list[str]:
    removed = ns.destroy(prefix)
    (folder / STATE_FILE).unlink(missing_ok=True)
    return removed


def teardown(state: LabState) -> list[str]:
    return down(Path(state.folder), state.prefix)


def forget(state: LabState) -> None:
    """The lab was never built (its prefix is taken): only its state file goes."""
    (Path(state.folder) / STATE_FILE).unlink(missing_ok=True)


def run(
    args: argparse.Namespace, after_load: Callable[[LabState], dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Build the lab, offer the load, run ``after_load`` (a scenario: its report goes under
    ``scenario``), report. Whatever happens from the first namespace on (a failure, Ctrl-C,
    SIGTERM, a probe's timeout), the lab is torn down before this returns or raises."""
    ns.check_tools()
    state = prepare(args)
    owned = True
    try:
        start(state)
        measured = inside(
            state,
            "measure",
            "--rate",
            str(args.rate),
            "--duration",
            str(args.duration),
            "--seed",
            str(args.seed),
            timeout_s=args.duration + MEASURE_MARGIN_S,
        )
        scenario = after_load(state) if after_load is not None else None
        return {
            **({"scenario": scenario} if scenario is not None else {}),
            "lab": {
                "validators": len(state.nodes),
                "threshold": state.threshold,
                "topology": state.topology,
                "degree": state.degree if state.topology == "random" else None,
                "delay_ms": state.delay_ms,
                "jitter_ms": state.jitter_ms,
                "loss": state.loss,
                "rtt_ms_nominal": 2 * state.delay_ms,
            },
            **measured,
            "switch": switch_stats(state),
            "machine": machine(),
        }
    except ns.LabExists:
        owned = False
        forget(state)
        raise
    finally:
        if owned:
            teardown(state)
