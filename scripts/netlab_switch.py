"""A user-space learning switch with per-port delay, jitter and loss, for ``scripts/netlab``.

This machine's kernel has no ``sch_netem``, so WAN latency cannot be set with ``tc``. Instead this
process runs in the lab's hub namespace, opens an ``AF_PACKET`` raw socket on every hub-side veth
and forwards Ethernet frames between them like a switch, holding each frame for the delay of the
port it came in on (uniform in ``delay ± jitter``) and dropping it with the port's loss
probability. Frames from one port leave in the order they arrived (a frame is never released
before the one ahead of it), so TCP sees latency and jitter but no reordering. A frame crosses the
switch once, so a round trip between two nodes costs the delay of both their ports.

Standard library only (it runs as root inside the hub namespace, before any project code is
involved). Statistics — frames forwarded, dropped, and how late the switch itself released frames
(its own scheduling error, which the lab reports beside its results) — are written as JSON to
``--stats`` on SIGTERM/SIGINT and on SIGUSR1.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import json
import os
import random
import selectors
import signal
import socket
import sys
import time
from dataclasses import dataclass, field

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4  # pkttype of frames this host sent itself: never forward those
MAX_FRAME = 65_536
LATE_MS = 5.0  # a frame released this much after its due time counts as late
MAX_QUEUED = 200_000  # frames held at once; beyond this the switch drops (bounded memory)


@dataclass
class PortPolicy:
    delay_ms: float
    jitter_ms: float
    loss: float


@dataclass
class Port:
    name: str
    sock: socket.socket
    policy: PortPolicy
    last_release: float = 0.0  # keeps frames from one port in order


@dataclass
class Stats:
    received: int = 0
    forwarded: int = 0
    dropped_loss: int = 0
    dropped_full: int = 0
    late: int = 0
    max_late_ms: float = 0.0
    lateness_ms: list[float] = field(default_factory=list)

    def record_lateness(self, late_ms: float) -> None:
        if late_ms > LATE_MS:
            self.late += 1
        self.max_late_ms = max(self.max_late_ms, late_ms)
        if len(self.lateness_ms) < 100_000:
            self.lateness_ms.append(late_ms)

    def summary(self) -> dict[str, object]:
        ordered = sorted(self.lateness_ms)
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else 0.0
        return {
            "received": self.received,
            "forwarded": self.forwarded,
            "dropped_loss": self.dropped_loss,
            "dropped_full": self.dropped_full,
            "late_frames": self.late,
            "late_share": round(self.late / self.forwarded, 4) if self.forwarded else 0.0,
            "late_threshold_ms": LATE_MS,
            "lateness_ms_p99": round(p99, 2),
            "lateness_ms_max": round(self.max_late_ms, 2),
        }


class Switch:
    def __init__(self, ports: list[Port], seed: int) -> None:
        self.ports = {p.name: p for p in ports}
        self.by_mac: dict[bytes, str] = {}
        self.queue: list[tuple[float, int, str, bytes]] = []  # (due, order, ingress port, frame)
        self.order = 0
        self.rng = random.Random(seed)
        self.stats = Stats()
        self.selector = selectors.DefaultSelector()
        for port in ports:
            port.sock.setblocking(False)
            self.selector.register(port.sock, selectors.EVENT_READ, port.name)

    def receive(self, name: str) -> None:
        port = self.ports[name]
        for _ in range(256):  # drain in bounded bites so releases are not starved
            try:
                frame, address = port.sock.recvfrom(MAX_FRAME)
            except BlockingIOError:
                return
            if address[2] == PACKET_OUTGOING or len(frame) < 14:
                continue
            self.stats.received += 1
            self.by_mac[frame[6:12]] = name
            if port.policy.loss and self.rng.random() < port.policy.loss:
                self.stats.dropped_loss += 1
                continue
            if len(self.queue) >= MAX_QUEUED:
                self.stats.dropped_full += 1
                continue
            policy = port.policy
            hold = policy.delay_ms + self.rng.uniform(-policy.jitter_ms, policy.jitter_ms)
            due = max(time.monotonic() + max(hold, 0.0) / 1000, port.last_release)
            port.last_release = due
            self.order += 1
            heapq.heappush(self.queue, (due, self.order, name, frame))

    def release_due(self) -> None:
        now = time.monotonic()
        while self.queue and self.queue[0][0] <= now:
            due, _, ingress, frame = heapq.heappop(self.queue)
            self.stats.record_lateness((now - due) * 1000)
            target = self.by_mac.get(frame[0:6])
            targets = [target] if target is not None else [n for n in self.ports if n != ingress]
            for name in targets:
                if name == ingress:
                    continue
                try:
                    self.ports[name].sock.send(frame)
                except OSError:  # a port went away (lab shutting down) or its buffer is full
                    continue
            self.stats.forwarded += 1

    def run(self, should_stop: list[bool]) -> None:
        while not should_stop[0]:
            timeout = max(0.0, self.queue[0][0] - time.monotonic()) if self.queue else 0.5
            for key, _ in self.selector.select(min(timeout, 0.5)):
                self.receive(str(key.data))
            self.release_due()


def open_port(name: str, policy: PortPolicy) -> Port:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
    sock.bind((name, ETH_P_ALL))
    return Port(name, sock, policy)


def parse_port(text: str, default: PortPolicy) -> tuple[str, PortPolicy]:
    """``IF`` or ``IF:DELAY_MS:JITTER_MS:LOSS`` (missing fields take the defaults)."""
    name, *rest = text.split(":")
    values = [default.delay_ms, default.jitter_ms, default.loss]
    for index, field_text in enumerate(rest[:3]):
        if field_text:
            values[index] = float(field_text)
    return name, PortPolicy(*values)


def _prefer_cpu() -> None:
    """Run before ordinary processes: on a busy 2-core machine the nodes under test would otherwise
    delay the switch and the lab would measure CPU contention instead of the configured latency.
    Real-time FIFO priority (the switch sleeps between frames, so it cannot starve the machine),
    else a better nice value, else as is."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
    except (OSError, AttributeError):
        with contextlib.suppress(OSError):
            os.nice(-10)


def write_stats(path: str | None, switch: Switch) -> None:
    if not path:
        return
    tmp = f"{path}.tmp"
    with open(tmp, "w") as handle:
        json.dump(switch.stats.summary(), handle)
    os.replace(tmp, path)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("ports", nargs="+", help="hub-side interfaces: IF or IF:DELAY_MS:JITTER_MS:LOSS")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="one-way delay per port (default 0)")
    parser.add_argument("--jitter-ms", type=float, default=0.0, help="uniform ± jitter (default 0)")
    parser.add_argument("--loss", type=float, default=0.0, help="drop probability per frame (default 0)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stats", help="write statistics as JSON here on SIGTERM/SIGINT/SIGUSR1")
    args = parser.parse_args()
    default = PortPolicy(args.delay_ms, args.jitter_ms, args.loss)
    ports = [open_port(name, policy) for name, policy in (parse_port(p, default) for p in args.ports)]
    switch = Switch(ports, args.seed)
    _prefer_cpu()
    should_stop = [False]

    def stop(signum: int, frame: object) -> None:
        should_stop[0] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGUSR1, lambda s, f: write_stats(args.stats, switch))
    print("switch ready", flush=True)
    switch.run(should_stop)
    write_stats(args.stats, switch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
