"""A local multi-validator network on this machine: configs, processes, status, shutdown.

Every node is its own OS process (``python -m node run``), started with ``subprocess`` (a
fresh interpreter, never a fork of a process that touched LevelDB), in its own session so a
Ctrl-C in the terminal that ran ``up`` does not take the network down. ``testnet.json`` in the
testnet folder records the nodes, their ports and PIDs; ``down`` stops exactly those PIDs.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import nacl.utils

from node.errors import NodeError
from node.peer_ids import peer_id_for
from node.setup import CONFIG_NAME, NodeSpec, QuorumSetSpec, init_node
from protocol.addresses import encode_validator
from protocol.keys import Keypair

STATE_FILE = "testnet.json"
LOG_NAME = "node.log"
PASSPHRASE = "Tally local testnet"
HOST = "127.0.0.1"


class TestnetError(NodeError):
    """The testnet cannot be started, found or stopped (the message says why and what to do)."""


@dataclass
class NodeEntry:
    name: str
    role: str
    folder: str
    node_id: str
    peer_id: str
    p2p_port: int
    api_port: int
    pid: int | None = None

    @property
    def api(self) -> str:
        return f"http://{HOST}:{self.api_port}"

    @property
    def metrics(self) -> str:
        return f"{self.api}/metrics"

    @property
    def multiaddr(self) -> str:
        return f"/ip4/{HOST}/tcp/{self.p2p_port}/p2p/{self.peer_id}"


@dataclass
class Testnet:
    folder: Path
    nodes: list[NodeEntry]
    threshold: int
    seeded: bool = False
    demo: dict[str, Any] | None = None

    def save(self) -> None:
        body = {
            "threshold": self.threshold,
            "seeded": self.seeded,
            "demo": self.demo,
            "nodes": [asdict(n) for n in self.nodes],
        }
        tmp = self.folder / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(body, indent=2) + "\n")
        tmp.replace(self.folder / STATE_FILE)

    @classmethod
    def load(cls, folder: Path) -> Testnet:
        path = folder / STATE_FILE
        try:
            body = json.loads(path.read_text())
            return cls(
                folder,
                [NodeEntry(**n) for n in body["nodes"]],
                body["threshold"],
                body.get("seeded", False),
                body.get("demo"),
            )
        except FileNotFoundError:
            raise TestnetError(f"no testnet in {folder}; start one with `tally testnet up`") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise TestnetError(
                f"{path} is damaged ({exc}); start over with `tally testnet up --reset`"
            ) from None

    def running(self) -> list[NodeEntry]:
        return [n for n in self.nodes if n.pid is not None and pid_alive(n.pid)]


def create(
    folder: Path,
    *,
    validators: int,
    watchers: int,
    threshold: int | None,
    close_interval_ms: int = 1000,
    heartbeat_interval_ms: int = 10_000,
    cpu_by_stage: bool = False,
) -> Testnet:
    """Generate keys and configs for a fresh testnet in ``folder`` (which must not hold one)."""
    if validators < 1:
        raise TestnetError("a testnet needs at least one validator")
    chosen = threshold or (2 * validators) // 3 + 1
    if not 1 <= chosen <= validators:
        raise TestnetError(f"--threshold must be between 1 and {validators}")
    folder.mkdir(parents=True, exist_ok=True)
    keys = [Keypair(nacl.utils.random(32)) for _ in range(validators + watchers)]
    ports = free_ports(2 * len(keys))
    entries = []
    for index, keypair in enumerate(keys):
        role = "validator" if index < validators else "watcher"
        name = f"v{index}" if role == "validator" else f"w{index - validators}"
        entries.append(
            NodeEntry(
                name,
                role,
                str(folder / name),
                encode_validator(keypair.public_key),
                peer_id_for(keypair.public_key),
                ports[2 * index],
                ports[2 * index + 1],
            )
        )
    qset = QuorumSetSpec(chosen, tuple(e.node_id for e in entries[:validators]))
    for entry, keypair in zip(entries, keys, strict=True):
        bootstrap = tuple(e.multiaddr for e in entries[:validators] if e is not entry)
        spec = NodeSpec(
            role=entry.role,
            network_passphrase=PASSPHRASE,
            p2p_port=entry.p2p_port,
            api_port=entry.api_port,
            bootstrap=bootstrap,
            quorum_set=qset,
            close_interval_ms=close_interval_ms,
            heartbeat_interval_ms=heartbeat_interval_ms,
            log_format="json",
            enable_test_faults=True,  # the reliability tests cut and fail these nodes (node.faults)
            cpu_by_stage=cpu_by_stage,
        )
        init_node(Path(entry.folder), spec, keypair)
    testnet = Testnet(folder, entries, chosen)
    testnet.save()
    return testnet


# The node processes this process started, by pid: ``pid_alive`` reaps them through their Popen
# (whose own bookkeeping then knows they ended; a Popen dropped while its process runs is a
# ResourceWarning). Nodes started by an earlier ``tally testnet up`` are known by pid alone.
_children: dict[int, subprocess.Popen[bytes]] = {}


def start(testnet: Testnet) -> list[NodeEntry]:
    """Start every node that is not running; returns the ones started."""
    started = []
    for entry in testnet.nodes:
        if entry.pid is not None and pid_alive(entry.pid):
            continue
        folder = Path(entry.folder)
        log_file = (folder / LOG_NAME).open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "node", "run", "--config", str(folder / CONFIG_NAME)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=folder,
        )
        log_file.close()
        entry.pid = process.pid
        _children[process.pid] = process
        started.append(entry)
    testnet.save()
    return started


def wait_ready(testnet: Testnet, timeout_s: float = 60.0) -> None:
    """Until every node answers /health and every validator sees all other validators."""
    deadline = time.monotonic() + timeout_s
    validators = sum(1 for n in testnet.nodes if n.role == "validator")
    pending = list(testnet.nodes)
    with httpx.Client(timeout=2.0) as client:
        while pending:
            for entry in list(pending):
                if entry.pid is not None and not pid_alive(entry.pid):
                    raise TestnetError(
                        f"node {entry.name} exited at start; see {Path(entry.folder) / LOG_NAME}"
                    )
                try:
                    info = client.get(f"{entry.api}/node").json()
                except (httpx.HTTPError, ValueError):
                    continue
                needed = validators - 1 if entry.role == "validator" else 1
                if info.get("peers", 0) >= needed:
                    pending.remove(entry)
            if not pending:
                return
            if time.monotonic() > deadline:
                names = ", ".join(e.name for e in pending)
                raise TestnetError(
                    f"nodes {names} did not become ready within {timeout_s:.0f} s; "
                    f"see their node.log files in {testnet.folder}"
                )
            time.sleep(0.2)


def status(testnet: Testnet) -> list[dict[str, Any]]:
    rows = []
    with httpx.Client(timeout=2.0) as client:
        for entry in testnet.nodes:
            alive = entry.pid is not None and pid_alive(entry.pid)
            row: dict[str, Any] = {
                "name": entry.name,
                "role": entry.role,
                "api": entry.api,
                "pid": entry.pid,
                "alive": alive,
                "ledger": None,
                "state_hash": None,
                "peers": None,
                "last_close_age_s": None,
            }
            if alive:
                try:
                    info = client.get(f"{entry.api}/node").json()
                    ledger = info["ledger"]
                    row.update(
                        ledger=ledger["seq"],
                        state_hash=ledger["state_hash"],
                        peers=info["peers"],
                        last_close_age_s=ledger.get("age_s"),
                    )
                except (httpx.HTTPError, ValueError, KeyError, TypeError):
                    row["error"] = "API not answering"
            rows.append(row)
    return rows


def stop(testnet: Testnet, timeout_s: float = 15.0) -> list[str]:
    """SIGTERM every recorded PID, wait for clean exits, SIGKILL stragglers. Data stays."""
    stopped = []
    for entry in testnet.nodes:
        if entry.pid is not None and pid_alive(entry.pid):
            os.kill(entry.pid, signal.SIGTERM)
            stopped.append(entry.name)
    deadline = time.monotonic() + timeout_s
    for entry in testnet.nodes:
        while entry.pid is not None and pid_alive(entry.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if entry.pid is not None and pid_alive(entry.pid):
            os.kill(entry.pid, signal.SIGKILL)
            killed_by = time.monotonic() + 5
            while pid_alive(entry.pid) and time.monotonic() < killed_by:  # reap it
                time.sleep(0.05)
        entry.pid = None
    testnet.save()
    return stopped


def pid_alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None:
        if child.poll() is None:
            return True
        del _children[pid]  # ended, and reaped
        return False
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)  # reap our own children
        if finished == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return True
    return fields[0] != "Z"


def free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on loopback (held open together so none repeats)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((HOST, 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()
