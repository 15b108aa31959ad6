"""The spam benchmark (``scripts/bench --spam``): members' payments while attackers flood the API.

Tally has no fees, so the question is whether members still get through when anyone with free
keys floods the nodes (issue 12). The same member load (``scripts/bench``'s open-loop payments)
runs twice on one testnet: alone, then beside a flood of four attacks, each from many source
addresses in 127.0.0.0/8 (loopback routes the whole /8, so per-address limits do not help):

* ``future``: throwaway keys with nothing on the ledger, 20 future sequence numbers each (the
  attack that once filled every node's mempool for good);
* ``failing``: new keys at their current sequence number paying a member in a currency they do
  not belong to (each must be checked, then fails);
* ``memo``: transactions whose memo is over the 64-byte limit (refused when decoded);
* ``batch``: requests of the maximum 2,000 transactions, each as large as ten payments make it.

Attack transactions are signed before the window, like the members' payments, so the generator
costs little CPU while it runs. Between the two member runs the flood runs alone for a short
window, after as long a window of the validators idle: their CPU time then says what the attack
costs them, a figure that holds on a busy machine where wall-clock latencies do not. The report
gives members' latency p50/p99 and the share of their payments applied within the window and in
the end, beside the same load without spam; what the attackers sent and what the nodes answered;
the largest mempool any node held; and that CPU cost.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import nacl.utils
import psutil
import trio

from protocol import codec
from protocol.keys import Keypair
from protocol.operations import Payment, SetSigners, encode_operation
from protocol.transactions import (
    BODY_V1,
    ENVELOPE_V1,
    MAX_MEMO_BYTES,
    TransactionBody,
    build_transaction,
    transaction_hash,
)

SPAM_KINDS = ("future", "failing", "memo", "batch")
FUTURE_SEQS = 20  # per throwaway key, as in the issue
MAX_PER_REQUEST = 2_000  # the API's limit
PER_REQUEST = 500  # transactions per request of the other kinds (fewer in short runs)
BATCH_OPS = 10  # operations per "batch" transaction: about 1.6 KB each, 4.4 MB of JSON per request
TICK_S = 0.1
SOURCE_NET = "127.66"
_ANSWER = re.compile(
    rb'"status":"(\w+)","code":(?:"(\w+)"|null)'
)  # one per result of POST /tx  # attackers' addresses: 127.66.x.y; members come from 127.0.0.1


def _key() -> Keypair:
    return Keypair(nacl.utils.random(32))


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _noop(key: Keypair) -> SetSigners:
    return SetSigners(((key.public_key, 1),), 1)


def future_attack(network: bytes, count: int) -> list[str]:
    """Throwaway keys, each with sequence numbers 2..21 (1 never comes)."""
    txs = []
    for _ in range(-(-count // FUTURE_SEQS)):
        key = _key()
        for seq in range(2, 2 + FUTURE_SEQS):
            txs.append(
                _b64(
                    build_transaction(
                        network, TransactionBody(key.public_key, seq, 10**6, b"", (_noop(key),)), (key,)
                    ).encode()
                )
            )
    return txs[:count]


def failing_attack(network: bytes, count: int, payee: bytes, currency: str, ops: int = 1) -> list[str]:
    """New keys at sequence 1 paying a member in a currency they are not members of."""
    txs = []
    for _ in range(count):
        key = _key()
        body = TransactionBody(
            key.public_key, 1, 10**6, b"x" * MAX_MEMO_BYTES, (Payment(payee, currency, 1),) * ops
        )
        txs.append(_b64(build_transaction(network, body, (key,)).encode()))
    return txs


def memo_attack(network: bytes, count: int, memo_bytes: int = 1_000) -> list[str]:
    """Signed transactions with a memo over the limit (built by hand: the builder refuses them)."""
    txs = []
    for _ in range(count):
        key = _key()
        body = codec.pack(
            (BODY_V1, key.public_key, 1, 10**6, os.urandom(memo_bytes), (encode_operation(_noop(key)),))
        )
        signature = key.sign(transaction_hash(network, body))
        txs.append(_b64(codec.pack((ENVELOPE_V1, body, ((key.public_key, signature),)))))
    return txs


@dataclass
class FloodReport:
    offered: Counter[str] = field(default_factory=Counter)  # transactions per kind
    requests: Counter[str] = field(default_factory=Counter)  # HTTP status (or error) per request
    answers: Counter[str] = field(default_factory=Counter)  # per transaction: status or refusal code
    mempool_max: int = 0
    sources: int = 0

    def as_json(self, seconds: float) -> dict[str, Any]:
        return {
            "sources": self.sources,
            "offered": dict(self.offered),
            "offered_tx_per_s": round(sum(self.offered.values()) / seconds, 1) if seconds else None,
            "http_statuses": dict(self.requests),
            "answers": dict(self.answers.most_common()),
            "mempool_max": self.mempool_max,
        }


class Flood:
    """Offers the prepared attacks open-loop at ``rate`` tx/s (shared evenly by the kinds), each
    request from the next source address to the next node, round robin. Request bodies are
    encoded before the window, so the flood spends its CPU on sending."""

    def __init__(self, apis: list[str], attacks: dict[str, list[str]], rate: float, sources: int) -> None:
        self.apis = apis
        self.rate = rate
        self.report = FloodReport(sources=sources)
        # Many requests per kind (so the rate is even), except that "batch" is always the maximum.
        sizes = {
            kind: MAX_PER_REQUEST if kind == "batch" else min(PER_REQUEST, max(10, len(txs) // 40))
            for kind, txs in attacks.items()
        }
        self.requests = {
            kind: [
                json.dumps({"txs": txs[i : i + sizes[kind]]}).encode()
                for i in range(0, len(txs), sizes[kind])
            ]
            for kind, txs in attacks.items()
        }
        self.counts = {
            kind: [min(sizes[kind], len(txs) - i) for i in range(0, len(txs), sizes[kind])]
            for kind, txs in attacks.items()
        }
        self.clients = [
            httpx.AsyncClient(
                transport=httpx.AsyncHTTPTransport(local_address=f"{SOURCE_NET}.{i // 250}.{i % 250 + 1}"),
                timeout=30.0,
                headers={"content-type": "application/json"},
            )
            for i in range(sources)
        ]
        self._next_client = itertools.count()
        self._sent = dict.fromkeys(self.requests, 0)  # requests sent so far, per kind
        self._offered = dict.fromkeys(self.requests, 0)  # transactions in them

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()

    async def run(self, duration: float) -> dict[str, Any]:
        """Flood for ``duration`` seconds, going on where the previous run stopped."""
        self.report = FloodReport(sources=self.report.sources)
        started = trio.current_time()
        per_kind = self.rate / len(self.requests)
        sent, offered = self._sent, self._offered
        start_offered = dict(offered)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._watch_mempools, started + duration)
            while (elapsed := trio.current_time() - started) < duration:
                for kind, bodies in self.requests.items():
                    due = start_offered[kind] + per_kind * (elapsed + TICK_S)
                    while sent[kind] < len(bodies) and offered[kind] < due:  # a request goes when it is due
                        offered[kind] += self.counts[kind][sent[kind]]
                        self.report.offered[kind] += self.counts[kind][sent[kind]]
                        nursery.start_soon(self._send, bodies[sent[kind]])
                        sent[kind] += 1
                await trio.sleep_until(started + elapsed + TICK_S)
        return self.report.as_json(trio.current_time() - started)

    async def _send(self, body: bytes) -> None:
        turn = next(self._next_client)
        client = self.clients[turn % len(self.clients)]
        api = self.apis[turn % len(self.apis)]
        try:
            response = await client.post(f"{api}/tx", content=body)
        except httpx.HTTPError as exc:
            self.report.requests[type(exc).__name__] += 1
            return
        self.report.requests[str(response.status_code)] += 1
        if response.status_code != 200:
            return
        for status, code in _ANSWER.findall(response.content):  # lighter than parsing the JSON
            self.report.answers[(code or status).decode()] += 1

    async def _watch_mempools(self, until: float) -> None:
        async with httpx.AsyncClient(timeout=5.0) as client:
            while trio.current_time() < until:
                for api in self.apis:
                    try:
                        size = int((await client.get(f"{api}/node")).json()["mempool"])
                    except (httpx.HTTPError, KeyError, ValueError):
                        continue
                    self.report.mempool_max = max(self.report.mempool_max, size)
                await trio.sleep(0.5)


def prepare_attacks(network: bytes, total: int, payee: bytes, currency: str) -> dict[str, list[str]]:
    """About ``total`` attack transactions, a quarter of each kind (``batch`` in whole requests)."""
    quarter = max(1, total // len(SPAM_KINDS))
    batches = max(2, round(quarter / MAX_PER_REQUEST)) * MAX_PER_REQUEST  # one for each window at least
    return {
        "future": future_attack(network, quarter),
        "failing": failing_attack(network, quarter, payee, currency),
        "memo": memo_attack(network, quarter),
        "batch": failing_attack(network, batches, payee, currency, ops=BATCH_OPS),
    }


Measure = Callable[..., Awaitable[dict[str, Any]]]


class FloodProcess:
    """The attackers in a process of their own (as real ones would be): it signs the attacks,
    says ``ready``; told ``go SECONDS`` it floods that long and prints its report as one JSON
    line, each time going on with the next transactions."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        assert process.stdin is not None
        assert process.stdout is not None
        self._stdin = process.stdin
        self._lines = _lines(process.stdout)

    @classmethod
    async def start(cls, args: list[str]) -> FloodProcess:
        process = await trio.lowlevel.open_process(
            [sys.executable, __file__, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        flood = cls(process)
        if await flood._lines.__anext__() != "ready":
            raise RuntimeError("the flood process did not start")
        return flood

    async def run(self, duration: float) -> dict[str, Any]:
        await self._stdin.send_all(f"go {duration}\n".encode())
        report: dict[str, Any] = json.loads(await self._lines.__anext__())
        return report

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()


async def _lines(stream: trio.abc.ReceiveStream) -> AsyncIterator[str]:
    buffer = b""
    async for chunk in stream:
        buffer += chunk
        while b"\n" in buffer:
            line, _, buffer = buffer.partition(b"\n")
            yield line.decode()


async def attack_cost(flood: FloodProcess, pids: dict[str, int], window_s: float) -> dict[str, Any]:
    """What the flood alone costs the validators: their CPU over ``window_s`` without it, then
    with it (CPU time, so it holds on a busy machine where wall-clock latencies do not)."""
    processes = {name: psutil.Process(pid) for name, pid in pids.items()}

    def cpu_seconds() -> dict[str, float]:
        return {name: sum(p.cpu_times()[:2]) for name, p in processes.items()}

    before = cpu_seconds()
    await trio.sleep(window_s)
    idle = {name: (used - before[name]) / window_s for name, used in cpu_seconds().items()}
    before = cpu_seconds()
    report = await flood.run(window_s)
    flooded = {name: (used - before[name]) / window_s for name, used in cpu_seconds().items()}
    extra = sorted(flooded[name] - idle[name] for name in processes)
    per_node = sum(report["offered"].values()) / window_s / len(processes)
    median_extra = extra[len(extra) // 2]
    return {
        "window_s": window_s,
        "attack_tx_per_s_per_node": round(per_node, 1),
        "node_cpu_percent_idle": {name: round(100 * v, 2) for name, v in idle.items()},
        "node_cpu_percent_flooded": {name: round(100 * v, 2) for name, v in flooded.items()},
        "extra_cpu_percent_per_node_median": round(100 * median_extra, 2),
        "cpu_us_per_attack_tx": round(1e6 * median_extra / per_node, 1) if per_node else None,
        "answers": report["answers"],
    }


async def spam_comparison(
    measure: Measure,
    apis: list[str],
    pids: dict[str, int],
    network: bytes,
    *,
    rate: float,
    duration: float,
    accounts: int,
    seed: int,
    spam_rate: float,
    sources: int,
    cost_window_s: float,
    rounds: int,
    console: Any,
) -> dict[str, Any]:
    """The member load alone, then beside the flood, ``rounds`` times in turn (so a machine whose
    load drifts weighs on both sides alike); medians over the rounds in the report's ``spam``."""
    alone: list[dict[str, Any]] = []
    under: list[dict[str, Any]] = []
    attacks: list[dict[str, Any]] = []
    console.print(f"round 1: members alone, {rate:g} tx/s for {duration:g} s …")
    alone.append(await measure(rate, duration, accounts, seed))
    total = int(spam_rate * (rounds * duration + cost_window_s))
    console.print(f"the flood process signs {total} attack transactions …")
    # They pay in the members' time currency, to which none of them belongs.
    flood = await FloodProcess.start(
        [
            f"--apis={','.join(apis)}",
            f"--network={network.hex()}",
            f"--total={total}",
            f"--rate={spam_rate}",
            f"--sources={sources}",
            f"--currency={alone[0]['currencies'][0]}",
        ]
    )
    try:
        console.print(f"the flood alone: validators' CPU for {cost_window_s:g} s idle, then flooded …")
        cost = await attack_cost(flood, pids, cost_window_s)
        for index in range(rounds):
            if index:
                console.print(f"round {index + 1}: members alone …")
                alone.append(await measure(rate, duration, accounts, seed + 2 * index))
            console.print(
                f"round {index + 1}: members beside {spam_rate:g} attack tx/s from {sources} addresses …"
            )
            run = await measure(rate, duration, accounts, seed + 2 * index + 1, alongside=flood.run)
            attacks.append(run.pop("alongside"))
            under.append(run)
    finally:
        flood.kill()
    return {
        "state_hashes_agree": all(r["state_hashes_agree"] for r in alone + under),
        "spam": {
            "rounds": rounds,
            "members_alone": members_summary(alone),
            "members_under_spam": members_summary(under),
            "attack": merged_attacks(attacks),
            "attack_cost": cost,
            "runs": {"alone": alone, "under_spam": under, "attack": attacks},
        },
    }


def members_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the rounds of what members saw."""

    def median(values: list[float]) -> float | None:
        known = sorted(v for v in values if v is not None)
        return known[len(known) // 2] if known else None

    rejected: Counter[str] = Counter()
    for run in runs:
        rejected.update(run["rejected"])
    return {
        "latency_ms_p50": median([r["latency_ms_p50"] for r in runs]),
        "latency_ms_p99": median([r["latency_ms_p99"] for r in runs]),
        "applied_share_in_window": median(
            [round(r["applied_in_window"] / (r["offered"] or 1), 4) for r in runs]
        ),
        "applied_share": median([round(r["applied"] / (r["offered"] or 1), 4) for r in runs]),
        "offered_tx_per_s": median([r["offered_tx_per_s"] for r in runs]),
        "rejected": dict(rejected),
        "state_hashes_agree": all(r["state_hashes_agree"] for r in runs),
    }


def merged_attacks(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """The flood over every round: totals, and the median rate and largest mempool."""
    totals: dict[str, Counter[str]] = {key: Counter() for key in ("offered", "http_statuses", "answers")}
    for report in reports:
        for key, counter in totals.items():
            counter.update(report[key])
    rates = sorted(r["offered_tx_per_s"] for r in reports if r["offered_tx_per_s"] is not None)
    return {
        "sources": reports[0]["sources"] if reports else 0,
        "offered": dict(totals["offered"]),
        "offered_tx_per_s": rates[len(rates) // 2] if rates else None,
        "http_statuses": dict(totals["http_statuses"]),
        "answers": dict(totals["answers"].most_common()),
        "mempool_max": max((r["mempool_max"] for r in reports), default=0),
    }


def human_report(result: dict[str, Any]) -> str:
    spam = result["spam"]
    heading = f"members' payments, median of {spam['rounds']}"
    lines = [f"{heading:<28}{'alone':>13}{'under spam':>13}"]
    for label, key, unit in (
        ("latency p50", "latency_ms_p50", "ms"),
        ("latency p99", "latency_ms_p99", "ms"),
        ("applied within the window", "applied_share_in_window", "%"),
        ("applied in the end", "applied_share", "%"),
    ):
        values = [spam[side][key] for side in ("members_alone", "members_under_spam")]
        shown = [f"{v * 100:.1f} %" if unit == "%" else f"{v / 1000:.2f} s" for v in values if v is not None]
        lines.append(f"{label:<28}" + "".join(f"{s:>13}" for s in shown))
    attack = spam["attack"]
    lines.append(
        f"attack: {sum(attack['offered'].values())} tx ({attack['offered_tx_per_s']} tx/s) from "
        f"{attack['sources']} addresses; nodes answered {attack['answers']}; HTTP {attack['http_statuses']}; "
        f"largest mempool {attack['mempool_max']}"
    )
    cost = spam.get("attack_cost")
    if cost:
        lines.append(
            f"the flood alone ({cost['attack_tx_per_s_per_node']} attack tx/s per validator) cost each "
            f"validator {cost['extra_cpu_percent_per_node_median']} % of a core more than idle "
            f"({cost['cpu_us_per_attack_tx']} µs of CPU per attack transaction)"
        )
    if "load_average_before" in result:
        lines.append(
            f"machine: {result['machine']['cores']} cores, load average (1/5/15 min) "
            f"{result['load_average_before']} before, {result.get('load_average_after')} after"
        )
    return "\n".join(lines)


async def _flood_main(args: argparse.Namespace) -> None:
    network = bytes.fromhex(args.network)
    attacks = prepare_attacks(network, args.total, _key().public_key, args.currency)
    flood = Flood(args.apis.split(","), attacks, args.rate, args.sources)
    stdin = trio.wrap_file(sys.stdin)
    print("ready", flush=True)
    try:
        while command := (await stdin.readline()).split():  # "go SECONDS"; the end of input stops
            print(json.dumps(await flood.run(float(command[1]))), flush=True)
    finally:
        await flood.aclose()


if __name__ == "__main__":  # the flood process (FloodProcess)
    parser = argparse.ArgumentParser(description="the attackers of scripts/bench --spam")
    for name in ("apis", "network", "currency"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--total", type=int, required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--sources", type=int, required=True)
    trio.run(_flood_main, parser.parse_args())
