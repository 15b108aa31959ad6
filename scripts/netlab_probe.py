"""The part of ``scripts/netlab`` that runs inside the lab's control namespace, where every node's
HTTP API is reachable over an undelayed link. It prints one JSON object on stdout.

  netlab_probe.py wait --state FILE --timeout 60
  netlab_probe.py status --state FILE
  netlab_probe.py measure --state FILE --rate 5 --duration 60 --seed 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import trio
from bench_load import Bench, Run
from netlab import PASSPHRASE, LabState
from prometheus_client.parser import text_string_to_metric_families

from protocol.hashing import network_id
from protocol.transactions import Transaction

COUNTERS = {
    "messages_out": ("tally_net_messages_out_total", None),
    "bytes_out": ("tally_net_bytes_out_total", None),
    "messages_in": ("tally_net_messages_in_total", None),
    "bytes_in": ("tally_net_bytes_in_total", None),
    "scp_out": ("tally_scp_messages_total", ("direction", "out")),
    "ledger": ("tally_ledger_seq", None),
}


def wait_ready(state: LabState, timeout_s: float) -> dict[str, Any]:
    """Until every node answers and has a peer (a lone node needs none)."""
    deadline = time.monotonic() + timeout_s
    pending = {n.name: n.api for n in state.nodes}
    needed = 1 if len(state.nodes) > 1 else 0
    with httpx.Client(timeout=2.0) as client:
        while pending:
            for name, api in list(pending.items()):
                try:
                    if client.get(f"{api}/node").json().get("peers", 0) >= needed:
                        del pending[name]
                except (httpx.HTTPError, ValueError, AttributeError):
                    continue
            if pending and time.monotonic() > deadline:
                return {
                    "error": f"nodes {', '.join(sorted(pending))} not ready after {timeout_s:g} s; "
                    f"see node.log in {state.folder}"
                }
            time.sleep(0.2)
    return {"ready": True}


def status(state: LabState) -> dict[str, Any]:
    rows = []
    with httpx.Client(timeout=2.0) as client:
        for node in state.nodes:
            try:
                info = client.get(f"{node.api}/node").json()
                rows.append(
                    {
                        "name": node.name,
                        "ledger": info["ledger"]["seq"],
                        "peers": info["peers"],
                        "state_hash": info["ledger"]["state_hash"],
                        "p2p": node.p2p,
                    }
                )
            except (httpx.HTTPError, ValueError, KeyError, TypeError):
                rows.append({"name": node.name, "error": "API not answering"})
    return {"nodes": rows}


def scrape(client: httpx.Client, api: str) -> dict[str, float]:
    """The counters this probe reports, summed over their labels (label filters where given)."""
    totals = dict.fromkeys(COUNTERS, 0.0)
    text = client.get(f"{api}/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            for key, (name, label) in COUNTERS.items():
                if sample.name == name and (label is None or sample.labels.get(label[0]) == label[1]):
                    totals[key] += sample.value
    return totals


class LabBench(Bench):
    """The bench's load generator, plus each node's traffic counters around the offered window."""

    def __init__(self, apis: list[str], pids: dict[str, int], network: bytes, names: list[str]) -> None:
        super().__init__(apis, pids, network)
        self.names = dict(zip(apis, names, strict=True))
        self.counters: list[dict[str, dict[str, float]]] = []

    def _scrape_all(self) -> dict[str, dict[str, float]]:
        with httpx.Client(timeout=5.0) as client:
            return {api: scrape(client, api) for api in self.apis}

    async def offer(self, run: Run, queues: list[list[Transaction]]) -> None:
        self.counters.append(await trio.to_thread.run_sync(self._scrape_all))
        await super().offer(run, queues)
        self.counters.append(await trio.to_thread.run_sync(self._scrape_all))

    def traffic_per_ledger(self) -> dict[str, Any]:
        before, after = self.counters
        per_node = {}
        for api in self.apis:
            delta = {k: after[api][k] - before[api][k] for k in COUNTERS}
            ledgers = max(delta.pop("ledger"), 1.0)
            per_node[self.names[api]] = {k: round(v / ledgers, 1) for k, v in delta.items()} | {
                "ledgers": int(ledgers)
            }
        rows = list(per_node.values())
        return {
            "messages_out_mean": round(statistics.mean(r["messages_out"] for r in rows), 1),
            "messages_out_max": max(r["messages_out"] for r in rows),
            "scp_out_mean": round(statistics.mean(r["scp_out"] for r in rows), 1),
            "kib_out_mean": round(statistics.mean(r["bytes_out"] for r in rows) / 1024, 1),
            "kib_out_max": round(max(r["bytes_out"] for r in rows) / 1024, 1),
            "nodes": per_node,
        }


async def measure(state: LabState, rate: float, duration: float, seed: int) -> dict[str, Any]:
    apis = [n.api for n in state.nodes]
    pids = {n.name: n.pid for n in state.nodes if n.pid is not None}
    bench = LabBench(apis, pids, network_id(PASSPHRASE), [n.name for n in state.nodes])
    result = await bench.measure(rate, duration, max(20, int(rate * 4)), seed)
    result["traffic_per_ledger"] = bench.traffic_per_ledger()
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=("wait", "status", "measure"))
    parser.add_argument("--state", required=True)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    state = LabState.load(Path(args.state).parent)
    if args.command == "wait":
        answer = wait_ready(state, args.timeout)
    elif args.command == "status":
        answer = status(state)
    else:
        answer = trio.run(measure, state, args.rate, args.duration, args.seed)
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
