"""Micro-benchmark of node.net on loopback, all nodes in one process (so one core does the work
of every node): ``python -m node.net.bench [--runs 3]``.

* frame round trip: A ``send``s a 250 B frame to B, B's handler sends it back (sequential).
* frames/s: A sends 250 B frames to B as fast as B's queue allows (bounded in-flight window).
* request round trip: sequential ``request`` calls (a new stream per request).
* gossip latency: node 0 of 4 (full mesh) publishes a 100-tx batch (~15 KB); time until all three
  others have it (sequential).
* gossip batches/s: 200 batches back to back, time until all three others have all of them.

``--two-process`` runs the direct-frame and request figures between two processes instead (B is
a child process that echoes every frame and request back); frames/s then counts echoed frames.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import trio

from node.net import GossipVerdict, NetConfig, P2PNetwork

TOPIC = "tally/txs/bench"


class BenchHandlers:
    def __init__(self) -> None:
        self.net: P2PNetwork | None = None
        self.echo = False
        self.frames = 0
        self.batches: set[bytes] = set()
        self.event = trio.Event()

    def _bump(self) -> None:
        self.event.set()
        self.event = trio.Event()

    async def wait(self, predicate: Callable[[], bool]) -> None:
        while not predicate():
            await self.event.wait()

    async def on_tx_batch(self, data: bytes, peer: str) -> GossipVerdict:
        self.batches.add(data[:16])
        self._bump()
        return GossipVerdict.ACCEPT

    async def on_board_batch(self, data: bytes, peer: str) -> GossipVerdict:
        return GossipVerdict.IGNORE

    async def on_frame(self, data: bytes, peer: str) -> None:
        self.frames += 1
        if self.echo and self.net is not None:
            self.net.send(peer, data)
        self._bump()

    async def on_request(self, name: str, payload: bytes, peer: str) -> bytes:
        return payload


def _stats(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    return {
        "median_ms": round(statistics.median(samples) * 1000, 2),
        "p99_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000, 2),
    }


async def _start(nursery: trio.Nursery, n: int) -> list[tuple[P2PNetwork, BenchHandlers]]:
    nodes: list[tuple[P2PNetwork, BenchHandlers]] = []
    for i in range(n):
        h = BenchHandlers()
        boot = tuple(net.listen_addrs[0] for net, _ in nodes)
        net = P2PNetwork(NetConfig(seed=hashlib.sha256(b"bench%d" % i).digest(), bootstrap=boot, topic=TOPIC))
        h.net = net
        await nursery.start(net.serve, h)
        nodes.append((net, h))
    for net, _ in nodes:
        await net.wait_ready([o.peer_id for o, _ in nodes if o is not net])
    return nodes


async def bench_once() -> dict[str, object]:
    out: dict[str, object] = {}
    async with trio.open_nursery() as nursery:
        (a, ha), (b, hb) = await _start(nursery, 2)
        frame = b"f" * 250
        # warm up the lazily opened streams
        hb.echo = True
        a.send(b.peer_id, frame)
        await ha.wait(lambda: ha.frames >= 1)
        rtts = []
        for _ in range(300):
            start, want = time.perf_counter(), ha.frames + 1
            a.send(b.peer_id, frame)
            await ha.wait(lambda want=want: ha.frames >= want)  # type: ignore[misc]
            rtts.append(time.perf_counter() - start)
        out["frame_rtt"] = _stats(rtts)
        hb.echo = False
        total, window, sent = 20_000, 512, 0
        base = hb.frames
        start, cpu = time.perf_counter(), time.process_time()
        while sent < total:
            while sent < total and sent - (hb.frames - base) < window:
                a.send(b.peer_id, frame)
                sent += 1
            await hb.wait(lambda s=sent: s - (hb.frames - base) < window // 2)  # type: ignore[misc]
        await hb.wait(lambda: hb.frames - base >= total)
        out["frames_per_s"] = round(total / (time.perf_counter() - start))
        out["frame_cpu_us_both_ends"] = round((time.process_time() - cpu) / total * 1e6, 1)
        rtts = []
        for _ in range(200):
            start = time.perf_counter()
            await a.request(b.peer_id, "echo", frame, max_response=1000)
            rtts.append(time.perf_counter() - start)
        out["request_rtt"] = _stats(rtts)
        nursery.cancel_scope.cancel()

    async with trio.open_nursery() as nursery:
        nodes = await _start(nursery, 4)
        src = nodes[0][0]
        others = [h for _, h in nodes[1:]]
        batch_body = b"t" * 150 * 100
        lats = []
        for i in range(50):
            tag = b"lat%013d" % i
            start = time.perf_counter()
            src.publish(tag + batch_body)
            for h in others:
                await h.wait(lambda h=h, tag=tag: tag in h.batches)  # type: ignore[misc]
            lats.append(time.perf_counter() - start)
        out["gossip_latency_4_nodes"] = _stats(lats)
        n = 200
        start, cpu = time.perf_counter(), time.process_time()
        for i in range(n):
            src.publish(b"thr%013d" % i + batch_body)
        with trio.move_on_after(60):
            for h in others:
                await h.wait(lambda h=h: sum(1 for t in h.batches if t.startswith(b"thr")) >= n)  # type: ignore[misc]
        got = min(sum(1 for t in h.batches if t.startswith(b"thr")) for h in others)
        out["gossip_batches_per_s_4_nodes"] = round(got / (time.perf_counter() - start), 1)
        out["gossip_batches_delivered"] = f"{got}/{n}"
        out["gossip_cpu_ms_per_batch_all_4_nodes"] = round((time.process_time() - cpu) / max(got, 1) * 1e3, 2)
        nursery.cancel_scope.cancel()
    return out


async def echo_node() -> None:
    h = BenchHandlers()
    h.echo = True
    net = P2PNetwork(NetConfig(seed=hashlib.sha256(b"bench-echo").digest(), topic=TOPIC))
    h.net = net
    async with trio.open_nursery() as nursery:
        await nursery.start(net.serve, h)
        print(net.listen_addrs[0], flush=True)
        await trio.sleep_forever()


async def bench_two_process(addr: str, child_pid: int) -> dict[str, object]:
    import psutil

    child = psutil.Process(child_pid)
    out: dict[str, object] = {}
    async with trio.open_nursery() as nursery:
        h = BenchHandlers()
        a = P2PNetwork(NetConfig(seed=hashlib.sha256(b"bench-a").digest(), bootstrap=(addr,), topic=TOPIC))
        await nursery.start(a.serve, h)
        peer = addr.rsplit("/", 1)[1]
        await a.wait_ready([peer])
        frame = b"f" * 250
        a.send(peer, frame)
        await h.wait(lambda: h.frames >= 1)
        rtts = []
        for _ in range(300):
            start, want = time.perf_counter(), h.frames + 1
            a.send(peer, frame)
            await h.wait(lambda want=want: h.frames >= want)  # type: ignore[misc]
            rtts.append(time.perf_counter() - start)
        out["frame_rtt"] = _stats(rtts)
        total, window, sent, base = 20_000, 512, 0, h.frames
        start, cpu, child_cpu = time.perf_counter(), time.process_time(), sum(child.cpu_times()[:2])
        while sent < total:
            while sent < total and sent - (h.frames - base) < window:
                a.send(peer, frame)
                sent += 1
            await h.wait(lambda s=sent: s - (h.frames - base) < window // 2)  # type: ignore[misc]
        await h.wait(lambda: h.frames - base >= total)
        out["echoed_frames_per_s"] = round(total / (time.perf_counter() - start))
        out["cpu_us_per_echoed_frame_a"] = round((time.process_time() - cpu) / total * 1e6, 1)
        out["cpu_us_per_echoed_frame_b"] = round((sum(child.cpu_times()[:2]) - child_cpu) / total * 1e6, 1)
        rtts = []
        for _ in range(200):
            start = time.perf_counter()
            await a.request(peer, "echo", frame, max_response=1000)
            rtts.append(time.perf_counter() - start)
        out["request_rtt"] = _stats(rtts)
        nursery.cancel_scope.cancel()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--two-process", action="store_true")
    parser.add_argument("--echo-node", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo_node:
        trio.run(echo_node)
        return
    for _ in range(args.runs):
        if args.two_process:
            with subprocess.Popen(
                [sys.executable, "-m", "node.net.bench", "--echo-node"], stdout=subprocess.PIPE, text=True
            ) as child:
                assert child.stdout is not None
                addr = child.stdout.readline().strip()
                try:
                    print(json.dumps(trio.run(bench_two_process, addr, child.pid)), flush=True)
                finally:
                    child.terminate()
        else:
            print(json.dumps(trio.run(bench_once)), flush=True)


if __name__ == "__main__":
    main()
