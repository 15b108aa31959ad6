"""Linux network namespaces for ``scripts/netlab``: one per node, a hub and a control namespace.

Layout (all addresses exist only inside namespaces this module creates; nothing touches the
host's own network):

* ``PREFIX-nI``: node I. Its veth ``p`` (10.77.0.(10+I)/24) plugs into the hub; its veth ``c``
  (10.78.I.2/30) is a direct, undelayed link to the control namespace, where the node's HTTP API
  listens so the load generator's own traffic never crosses the slow links.
* ``PREFIX-hub``: holds the hub-side veth ends ``hI`` and the user-space switch
  (``netlab_switch.py``) that adds delay, jitter and loss (this kernel has no ``sch_netem``).
* ``PREFIX-ctl``: holds the control ends ``nI`` (10.78.I.1/30); the load generator and status
  probes run here.

Offloads are turned off on both ends of every hub veth (``ethtool``): otherwise segments with
unfinished checksums and GRO super-frames reach the raw sockets and are dropped on the far side.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from node.testnet import pid_alive

P2P_NET = "10.77.0"
CTL_NET = "10.78"
MAX_NODES = 200
P2P_PORT = 4100
API_PORT = 8080


class LabError(Exception):
    """The lab cannot be built or used (the message says what to do)."""


class LabExists(LabError):
    """Namespaces with the lab's prefix exist already (another lab, running or left behind by a
    killed one): this command must neither use nor remove them."""


@dataclass(frozen=True)
class Names:
    prefix: str

    @property
    def hub(self) -> str:
        return f"{self.prefix}-hub"

    @property
    def ctl(self) -> str:
        return f"{self.prefix}-ctl"

    def node(self, index: int) -> str:
        return f"{self.prefix}-n{index}"


def p2p_address(index: int) -> str:
    return f"{P2P_NET}.{10 + index}"


def api_address(index: int) -> str:
    return f"{CTL_NET}.{index}.2"


def check_tools() -> None:
    """Fail early, with the fix, when this machine cannot host the lab."""
    if os.geteuid() != 0:
        raise LabError("netlab needs root (network namespaces): run it with sudo")
    for tool, package in (("ip", "iproute2"), ("ethtool", "ethtool")):
        if shutil.which(tool) is None:
            raise LabError(f"netlab needs `{tool}`: apt-get install {package}")


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise LabError(f"ip {' '.join(args)}: {result.stderr.strip()}")


def _in(namespace: str, *command: str) -> None:
    subprocess.run(["ip", "netns", "exec", namespace, *command], capture_output=True, timeout=30, check=False)


def existing(prefix: str) -> list[str]:
    result = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=30, check=False)
    names = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    return [n for n in names if n.startswith(f"{prefix}-")]


def create(names: Names, nodes: int) -> None:
    """Build the namespaces and links for ``nodes`` nodes (refused if any of them exist).

    All or nothing: on any failure (or Ctrl-C) the namespaces this call added are removed again,
    and only those: a namespace that appeared meanwhile belongs to another lab and is left alone."""
    if not 1 <= nodes <= MAX_NODES:
        raise LabError(f"a lab holds 1 to {MAX_NODES} nodes")
    if existing(names.prefix):
        raise _exists(names.prefix)
    added: list[str] = []
    try:
        for namespace in (names.hub, names.ctl, *(names.node(i) for i in range(nodes))):
            _add_namespace(names.prefix, namespace)
            added.append(namespace)
        for index in range(nodes):
            _link_node(names, index)
    except BaseException:
        _delete(added)
        raise


def _exists(prefix: str) -> LabExists:
    return LabExists(
        f"a lab named {prefix!r} exists already ({', '.join(existing(prefix))}): another netlab is "
        f"using it, or one was killed; `scripts/netlab down --prefix {prefix}` removes it, "
        "or choose another --prefix"
    )


def _add_namespace(prefix: str, namespace: str) -> None:
    result = subprocess.run(["ip", "netns", "add", namespace], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        if namespace in existing(prefix):  # another lab won the race for this prefix
            raise _exists(prefix)
        raise LabError(f"ip netns add {namespace}: {result.stderr.strip()}")
    _ip("-n", namespace, "link", "set", "lo", "up")
    _in(namespace, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")


def _link_node(names: Names, index: int) -> None:
    node = names.node(index)
    _ip("link", "add", "p", "netns", node, "type", "veth", "peer", "name", f"h{index}", "netns", names.hub)
    _ip("link", "add", "c", "netns", node, "type", "veth", "peer", "name", f"n{index}", "netns", names.ctl)
    _ip("-n", node, "addr", "add", f"{p2p_address(index)}/24", "dev", "p")
    _ip("-n", node, "addr", "add", f"{api_address(index)}/30", "dev", "c")
    _ip("-n", names.ctl, "addr", "add", f"{CTL_NET}.{index}.1/30", "dev", f"n{index}")
    for namespace, link in ((node, "p"), (node, "c"), (names.hub, f"h{index}"), (names.ctl, f"n{index}")):
        _ip("-n", namespace, "link", "set", link, "up")
    _in(node, "ethtool", "-K", "p", "tx", "off", "tso", "off", "gso", "off", "gro", "off")
    _in(names.hub, "ethtool", "-K", f"h{index}", "tx", "off", "tso", "off", "gso", "off", "gro", "off")


def pids_in(namespace: str) -> list[int]:
    result = subprocess.run(
        ["ip", "netns", "pids", namespace], capture_output=True, text=True, timeout=30, check=False
    )
    return [int(p) for p in result.stdout.split() if p.isascii() and p.isdigit()]


def destroy(prefix: str, grace_s: float = 10.0) -> list[str]:
    """Stop every process inside the lab's namespaces (TERM, then KILL after ``grace_s``), then
    delete the namespaces. Returns the namespaces removed. Safe to call twice.

    Ctrl-C, SIGTERM and SIGHUP are held off meanwhile (when called from the main thread): an
    impatient second Ctrl-C must not leave half a lab behind."""
    with _signals_held():
        namespaces = existing(prefix)
        victims = {pid for ns in namespaces for pid in pids_in(ns)}
        _signal_all(victims, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while victims and time.monotonic() < deadline:
            victims = {pid for pid in victims if pid_alive(pid)}
            time.sleep(0.1)
        _signal_all(victims, signal.SIGKILL)
        _delete(namespaces)
        left = existing(prefix)
    if left:
        raise LabError(f"could not remove the namespaces {', '.join(left)}: `ip netns del NAME` by hand")
    return namespaces


def _delete(namespaces: list[str]) -> None:
    for namespace in namespaces:
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=30, check=False)


HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextmanager
def _signals_held() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in HELD_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)


def _signal_all(pids: set[int], signum: signal.Signals) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            continue
