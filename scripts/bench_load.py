"""The load benchmark: real validator processes on this machine, open-loop payments through the
HTTP API, figures from what the ledgers actually contain.

  scripts/bench --validators 4 --rate 1000 --duration 60 --json
  scripts/bench --find-max --json
  scripts/bench --idle --duration 60 --json
  scripts/bench --spam --rate 200 --spam-rate 2000 --duration 30 --json   (see bench_spam.py)

Method: start a testnet (or use ``--dir`` of a running one), create a time currency and a
mutual-credit currency and admit K accounts, pre-sign every payment (so the generator costs
little CPU), then offer them at the target rate in batches every 100 ms, each account always
through the same node so its sequence numbers arrive in order. A watcher task follows node 0's
event stream of closed ledgers and reads each one's transactions as it closes; a payment's latency
is from its submit to the moment its ledger was seen. After the offered window the benchmark waits for
the network to drain, then checks every node's state hash at a common ledger.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nacl.utils
import psutil
import trio
from bench_cost import cost_report, protocol_floor, scrape
from bench_curve import find_max
from bench_spam import human_report, spam_comparison
from machine_info import machine
from rich.console import Console

from node import testnet as tn
from protocol.hashing import network_id
from protocol.keys import Keypair
from protocol.operations import AdmitMember, CreateCurrency, CurrencyKind, Operation, Payment
from protocol.transactions import Transaction, TransactionBody, build_transaction

BATCH_INTERVAL_S = 0.1
POLL_INTERVAL_S = 0.05
STREAM_TIMEOUT = httpx.Timeout(10.0, read=30.0)  # the event stream sends a keep-alive every 10 s
DRAIN_TIMEOUT_S = 60.0
MAX_UNREAD_LEDGERS = 10_000  # closes seen but not yet read (the stream waits beyond)
SETUP_SPREAD_TIMEOUT_S = 60.0  # for every node to close the ledger that admitted the accounts
ADMITS_PER_TX = 100
console = Console(stderr=True)


@dataclass
class Run:
    rate: float
    duration: float
    submitted_at: dict[bytes, float] = field(default_factory=dict)
    applied_at: dict[bytes, float] = field(default_factory=dict)
    accepted: set[bytes] = field(default_factory=set)
    rejected: dict[str, int] = field(default_factory=dict)
    seen_count: dict[bytes, int] = field(default_factory=dict)
    close_times_ms: list[int] = field(default_factory=list)
    offered: int = 0
    window: tuple[float, float] = (0.0, 0.0)


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Bench:
    def __init__(
        self, apis: list[str], pids: dict[str, int], network: bytes, names: list[str] | None = None
    ) -> None:
        self.apis = apis
        self.pids = pids
        # node name -> API, for the validators' cost counters (/metrics)
        self.named_apis = dict(zip(names or [f"v{i}" for i in range(len(apis))], apis, strict=True))
        self._account_of: dict[bytes, int] = {}  # payer -> its queue (offer)
        self._retry: dict[int, tuple[float, Transaction]] = {}  # queue -> (not before, refused payment)
        self._in_flight: set[int] = set()  # queues whose last payment is not answered yet (_send)
        self.network = network
        self.http = httpx.AsyncClient(timeout=30.0, limits=httpx.Limits(max_connections=64))

    # -- setup -----------------------------------------------------------------------------------

    async def submit(self, api: str, txs: list[Transaction], wait: float = 0.0) -> list[dict[str, Any]]:
        params = {"wait": wait} if wait else None
        response = await self.http.post(
            f"{api}/tx", params=params, json={"txs": [base64.b64encode(t.encode()).decode() for t in txs]}
        )
        response.raise_for_status()
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    async def community(self, accounts: list[Keypair], tag: str) -> tuple[str, str]:
        """Create a time and a mutual currency with huge limits and admit every account."""
        steward = Keypair(nacl.utils.random(32))
        time_code, mutual_code = f"T{tag}", f"M{tag}"
        ops: list[list[Operation]] = [
            [
                CreateCurrency(time_code, CurrencyKind.TIME, 2, (steward.public_key,), 1, 10**9),
                CreateCurrency(mutual_code, CurrencyKind.MUTUAL, 2, (steward.public_key,), 1, 10**9),
            ]
        ]
        admits: list[Operation] = [
            AdmitMember(code, a.public_key, None) for a in accounts for code in (time_code, mutual_code)
        ]
        ops += [admits[i : i + ADMITS_PER_TX] for i in range(0, len(admits), ADMITS_PER_TX)]
        seq = 1
        setup_ledger = 0
        for start in range(0, len(ops), 10):  # a new account may have 16 pending (node.mempool)
            chunk = []
            for operations in ops[start : start + 10]:
                body = TransactionBody(steward.public_key, seq, 10**6, b"bench setup", tuple(operations))
                chunk.append(build_transaction(self.network, body, (steward,)))
                seq += 1
            results = await self.submit(self.apis[0], chunk, wait=60)
            bad = [r for r in results if r["status"] != "applied"]
            if bad:
                raise SystemExit(f"bench setup failed: {bad[0]}")
            setup_ledger = max([setup_ledger, *(r["ledger"] for r in results)])
        # Payments go to every node, and a node that has not closed the ledger admitting an
        # account yet refuses its payment (a stranger paying in a members' currency): on a loaded
        # machine or a lab with delays, the first payments used to race the setup's last ledger.
        await self.wait_for_ledger(setup_ledger, SETUP_SPREAD_TIMEOUT_S)
        return time_code, mutual_code

    async def wait_for_ledger(self, seq: int, timeout_s: float) -> None:
        """Until every node has closed ledger ``seq``; SystemExit after ``timeout_s``."""
        with trio.move_on_after(timeout_s):
            for api in self.apis:
                while await self._node_seq(api) < seq:  # noqa: ASYNC110 (polls a node over HTTP)
                    await trio.sleep(POLL_INTERVAL_S)
            return
        raise SystemExit(f"bench setup: not every node closed ledger {seq} within {timeout_s:g} s")

    def presign(
        self, accounts: list[Keypair], codes: tuple[str, str], total: int, seed: int
    ) -> list[list[Transaction]]:
        """Per account, its payments in sequence order (the generator's whole workload)."""
        rng = random.Random(seed)
        per_account = -(-total // len(accounts))
        queues: list[list[Transaction]] = []
        for index, account in enumerate(accounts):
            queue = []
            for seq in range(1, per_account + 1):
                other = accounts[(index + 1 + rng.randrange(len(accounts) - 1)) % len(accounts)]
                op = Payment(other.public_key, codes[seq % 2], 1)
                body = TransactionBody(account.public_key, seq, 10**6, b"", (op,))
                queue.append(build_transaction(self.network, body, (account,)))
            queues.append(queue)
        return queues

    # -- the run ---------------------------------------------------------------------------------

    async def offer(self, run: Run, queues: list[list[Transaction]]) -> None:
        """Open loop: every 100 ms send what the target rate owes, round-robin over accounts.

        A payment refused as ``overloaded`` is offered again once its ``Retry-After`` passed, as
        a client would, and its account sends nothing else meanwhile (its later payments would
        only leave a gap); nor while its last payment is unanswered. Every attempt counts as
        offered."""
        order = [(i, q) for i, q in enumerate(queues)]
        cursor = [0] * len(queues)
        self._account_of = {q[0].body.source: i for i, q in enumerate(queues) if q}
        self._retry = {}
        total = run.rate * run.duration
        started = trio.current_time()
        account = 0
        async with trio.open_nursery() as nursery:
            while run.offered < total:
                elapsed = trio.current_time() - started
                if elapsed >= run.duration:
                    break
                due = min(int(run.rate * (elapsed + BATCH_INTERVAL_S)), int(total)) - run.offered
                per_node: dict[int, list[Transaction]] = {}
                now = time.monotonic()
                for _ in range(max(due, 0)):
                    for _ in range(len(order)):
                        index, queue = order[account % len(order)]
                        account += 1
                        if index in self._in_flight:
                            continue
                        retry = self._retry.get(index)
                        if retry is not None:
                            if retry[0] > now:
                                continue
                            del self._retry[index]
                            per_node.setdefault(index % len(self.apis), []).append(retry[1])
                            self._in_flight.add(index)
                            break
                        if cursor[index] < len(queue):
                            tx = queue[cursor[index]]
                            cursor[index] += 1
                            per_node.setdefault(index % len(self.apis), []).append(tx)
                            self._in_flight.add(index)  # its next payment waits for this answer
                            break
                    else:
                        break  # every account waits (for an answer, a retry time) or is done
                    run.offered += 1
                now = time.monotonic()
                for node_index, txs in per_node.items():
                    for tx in txs:
                        run.submitted_at[tx.hash] = now
                    nursery.start_soon(self._send, run, self.apis[node_index], txs)
                await trio.sleep_until(started + elapsed + BATCH_INTERVAL_S)
        run.window = (started, trio.current_time())

    async def _send(self, run: Run, api: str, txs: list[Transaction]) -> None:
        accounts = {self._account_of.get(tx.body.source, -1) for tx in txs}  # in flight (offer)
        try:
            results = await self.submit(api, txs)
        except httpx.HTTPError as exc:
            run.rejected[type(exc).__name__] = run.rejected.get(type(exc).__name__, 0) + len(txs)
            return
        finally:
            self._in_flight -= accounts
        for tx, result in zip(txs, results, strict=True):
            if result["status"] in ("pending", "applied"):
                run.accepted.add(tx.hash)
            else:
                code = result.get("code") or result["status"]
                run.rejected[code] = run.rejected.get(code, 0) + 1
                if code == "overloaded":
                    retry_s = float(result.get("figures", {}).get("retry_after_s", 1))
                    self._retry[self._account_of[tx.body.source]] = (time.monotonic() + retry_s, tx)

    async def watch_ledgers(self, run: Run, first_seq: int, stop: trio.Event) -> None:
        """Record every ledger from ``first_seq`` on as node 0 closes it, until ``stop``.

        Node 0's event stream (``GET /events?ledgers=1``) says when a ledger closed; its
        transactions are then read from ``GET /ledgers/{seq}``. Polling ``GET /node`` every 50 ms
        instead cost node 0 twenty requests a second (its HTTP stage 52 against the others' 32 µs
        per payment at 1,000 tx/s) and added up to 50 ms to every latency measured. One task
        follows the stream and stamps each event as it arrives, another reads the ledgers: read
        in turn with the stream, a ledger's event waited for the read of the one before."""
        closes, closed = trio.open_memory_channel[tuple[int, float]](MAX_UNREAD_LEDGERS)
        async with trio.open_nursery() as nursery:

            async def cancel_on_stop() -> None:
                await stop.wait()
                nursery.cancel_scope.cancel()

            nursery.start_soon(cancel_on_stop)
            nursery.start_soon(self._follow_closes, first_seq, closes)
            seq = first_seq
            async for last, seen_at in closed:
                while seq <= last:
                    try:
                        await self._record_ledger(run, seq, seen_at)
                    except (httpx.HTTPError, KeyError, ValueError):
                        await trio.sleep(POLL_INTERVAL_S)  # node 0 restarting (chaos): ask again
                        continue
                    seq += 1

    async def _follow_closes(self, first_seq: int, closes: trio.MemorySendChannel[tuple[int, float]]) -> None:
        """Send the seq of each ledger node 0 closes from ``first_seq`` on, and when it was seen."""
        resume = f"{first_seq - 1}"  # an event id: "after everything in ledger first_seq - 1"
        while True:  # a stream ends by itself every minute or so: resume where it stopped
            try:
                async for last, seen_at in self._closed_ledgers(resume):
                    resume = str(last)
                    await closes.send((last, seen_at))
            except (httpx.HTTPError, KeyError, ValueError):
                await trio.sleep(POLL_INTERVAL_S)  # node 0 restarting (chaos): ask again shortly

    async def _closed_ledgers(self, resume: str) -> AsyncIterator[tuple[int, float]]:
        """The seq of every ledger node 0 closes after event id ``resume``, as it closes, from its
        event stream's ``id:`` lines (keep-alives and the stream's last line carry one too), with
        the moment the line arrived (``time.monotonic``)."""
        params = {"ledgers": "1", "last_event_id": resume}
        async with self.http.stream(
            "GET", f"{self.apis[0]}/events", params=params, timeout=STREAM_TIMEOUT
        ) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if line.startswith("id:") and line[3:].strip():
                    yield int(line[3:].strip().partition(".")[0]), time.monotonic()

    async def _record_ledger(self, run: Run, seq: int, seen_at: float) -> None:
        """Read ledger ``seq``'s transactions; those the bench submitted were applied at
        ``seen_at``, when node 0's event said the ledger closed. Stamped after this read instead,
        each latency also counted the read itself: 29 ms at the median and 172 ms at the p99 at
        1,875 tx/s offered, when node 0 is busiest (one run, 2026-12-01)."""
        ledger = (await self.http.get(f"{self.apis[0]}/ledgers/{seq}")).json()
        run.close_times_ms.append(ledger["close_time_ms"])
        for item in ledger["transactions"]:
            tx_hash = bytes.fromhex(item["hash"])
            run.seen_count[tx_hash] = run.seen_count.get(tx_hash, 0) + 1
            if tx_hash in run.submitted_at and tx_hash not in run.applied_at:
                run.applied_at[tx_hash] = seen_at

    async def _closed_seq(self, api: str) -> int:
        """The last ledger ``api``'s node closed, from ``GET /node``: ``/ledgers/latest`` answers
        with that ledger's whole transaction list, and polling it every 50 ms cost the node ~10 %
        of its CPU at 600 tx/s (py-spy), a load the bench put on what it measured."""
        seq: int = (await self.http.get(f"{api}/node")).json()["ledger"]["seq"]
        return seq

    async def _node_seq(self, api: str) -> int:
        """``_closed_seq``, or -1 while the node does not answer (restarting)."""
        try:
            return await self._closed_seq(api)
        except (httpx.HTTPError, KeyError, ValueError):
            return -1

    async def latest_seq(self) -> int:
        """The first node's last closed ledger."""
        return await self._closed_seq(self.apis[0])

    async def state_hashes_agree(self) -> bool:
        seqs = [(await self.http.get(f"{api}/ledgers/latest")).json()["seq"] for api in self.apis]
        common = min(seqs)
        hashes = {(await self.http.get(f"{api}/ledgers/{common}")).json()["state_hash"] for api in self.apis}
        return len(hashes) == 1

    async def measure(
        self,
        rate: float,
        duration: float,
        accounts: int,
        seed: int,
        alongside: Callable[[float], Awaitable[dict[str, Any]]] | None = None,
    ) -> dict[str, Any]:
        """One open-loop run; ``alongside(duration)`` (the spam flood) runs over the same window
        and its report lands under ``alongside``."""
        keys = [Keypair(nacl.utils.random(32)) for _ in range(accounts)]
        codes = await self.community(keys, f"{seed % 10000}")
        total = int(rate * duration)
        console.print(f"pre-signing {total} payments for {accounts} accounts …")
        queues = self.presign(keys, codes, total, seed)
        run = Run(rate, duration)
        stop = trio.Event()
        processes = {name: psutil.Process(pid) for name, pid in self.pids.items()}
        cpu_before = {name: p.cpu_times() for name, p in processes.items()}
        generator_before = time.process_time()  # this process: the load generator (and the watcher)
        counters_before = await scrape(self.http, self.named_apis)
        console.print(f"offering {rate:g} tx/s for {duration:g} s to {len(self.apis)} nodes …")
        beside: dict[str, Any] = {}

        async def run_alongside(task: Callable[[float], Awaitable[dict[str, Any]]]) -> None:
            beside.update(await task(duration))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.watch_ledgers, run, await self.latest_seq() + 1, stop)
            if alongside is not None:
                nursery.start_soon(run_alongside, alongside)
            wall_start = time.monotonic()
            await self.offer(run, queues)
            wall_window = time.monotonic() - wall_start
            cpu_after = {name: p.cpu_times() for name, p in processes.items()}
            generator_cpu_s = time.process_time() - generator_before
            rss = {name: p.memory_info().rss / 2**20 for name, p in processes.items()}
            window_end = time.monotonic()
            applied_in_window = sum(1 for t in run.applied_at.values() if t <= window_end)
            with trio.move_on_after(DRAIN_TIMEOUT_S):
                while len(run.applied_at) < len(run.accepted):  # noqa: ASYNC110 (polled by watch_ledgers)
                    await trio.sleep(0.2)
            stop.set()
        counters_after = await scrape(self.http, self.named_apis)
        await trio.sleep(1.0)
        agree = await self.state_hashes_agree()
        console.print("measuring the protocol floor (scripts/bench-protocol's pipeline) …")
        cost = cost_report(counters_before, counters_after, protocol_floor())
        latencies = [(run.applied_at[h] - run.submitted_at[h]) * 1000 for h in run.applied_at]
        closes = sorted(run.close_times_ms)
        intervals = [float(b - a) for a, b in itertools.pairwise(closes)]
        cpu = {
            name: round(
                100
                * (
                    (cpu_after[name].user + cpu_after[name].system)
                    - (cpu_before[name].user + cpu_before[name].system)
                )
                / wall_window,
                1,
            )
            for name in processes
        }
        return {
            "offered_tx_per_s": round(run.offered / wall_window, 1),
            "applied_tx_per_s": round(applied_in_window / wall_window, 1),
            "offered": run.offered,
            "accepted": len(run.accepted),
            "applied": len(run.applied_at),
            "applied_in_window": applied_in_window,
            "rejected": run.rejected,
            "lost": len(run.accepted - set(run.applied_at)),
            "duplicates": sum(1 for c in run.seen_count.values() if c > 1),
            "ledgers": len(closes),
            "close_interval_ms_p50": percentile(intervals, 0.5),
            "close_interval_ms_p99": percentile(intervals, 0.99),
            "latency_ms_p50": _round(percentile(latencies, 0.5)),
            "latency_ms_p99": _round(percentile(latencies, 0.99)),
            "state_hashes_agree": agree,
            "nodes": {name: {"cpu_percent": cpu[name], "rss_mb": round(rss[name], 1)} for name in processes},
            # the generator shares the cores: what it spends is not available to the validators
            "generator_cpu_percent": round(100 * generator_cpu_s / wall_window, 1),
            "duration_s": round(wall_window, 2),
            "cost": cost,
            "accounts": accounts,
            "currencies": list(codes),
        } | ({"alongside": beside} if alongside is not None else {})


async def idle_usage(pids: dict[str, int], duration: float) -> dict[str, Any]:
    """CPU and memory of validators with nothing to do (heartbeat ledgers only)."""
    console.print(f"measuring idle validators for {duration:g} s …")
    processes = {name: psutil.Process(pid) for name, pid in pids.items()}
    before = {name: p.cpu_times() for name, p in processes.items()}
    await trio.sleep(duration)
    nodes = {}
    for name, process in processes.items():
        after = process.cpu_times()
        used = (after.user + after.system) - (before[name].user + before[name].system)
        nodes[name] = {
            "cpu_percent": round(100 * used / duration, 2),
            "rss_mb": round(process.memory_info().rss / 2**20, 1),
        }
    return {"idle_s": duration, "nodes": nodes}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    owned = args.dir is None
    folder = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="tally-bench-"))
    if owned:
        console.print(f"starting {args.validators} validators in {folder} …")
        net = tn.create(
            folder,
            validators=args.validators,
            watchers=0,
            threshold=None,
            heartbeat_interval_ms=60_000 if args.idle else 10_000,
            cpu_by_stage=args.cpu_stages and not args.idle,
        )
        tn.start(net)
    else:
        net = tn.Testnet.load(folder)
    try:
        tn.wait_ready(net)
        apis = [n.api for n in net.nodes]
        pids = {n.name: n.pid for n in net.nodes if n.pid is not None}
        bench = Bench(apis, pids, network_id(tn.PASSPHRASE), [n.name for n in net.nodes])
        accounts = args.accounts or max(50, min(2000, int(args.rate)))
        result: dict[str, Any] = {
            "validators": len(net.nodes),
            "machine": machine(),
            "load_average_before": [round(x, 2) for x in os.getloadavg()],
        }
        if args.idle:
            result |= await idle_usage(pids, args.duration)
            return result
        if args.spam:
            result |= await spam_comparison(
                bench.measure,
                apis,
                pids,
                bench.network,
                rate=args.rate,
                duration=args.duration,
                accounts=accounts,
                seed=args.seed,
                spam_rate=args.spam_rate,
                sources=args.spam_sources,
                cost_window_s=args.spam_cost_window,
                rounds=args.spam_rounds,
                console=console,
            )
            result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
            return result
        if not args.find_max:
            result |= await bench.measure(args.rate, args.duration, accounts, args.seed)
            return result
        result |= await find_max(
            bench.measure,
            rate=args.rate,
            step_factor=args.step,
            duration=args.duration,
            seed=args.seed,
            p99_limit_ms=args.p99_ms,
            curve=args.curve,
            console=console,
        )
        return result
    finally:
        if owned:
            tn.stop(net)
            if args.keep:
                console.print(f"the testnet's folder (logs, ledgers) is kept: {folder}")
            else:  # each run's folder holds four ledgers and logs: they piled up by the hundred
                shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--rate", type=float, default=200.0, help="offered payments per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of offered load")
    parser.add_argument("--accounts", type=int, default=0, help="paying accounts (default: about the rate)")
    parser.add_argument("--dir", help="use the running testnet in this folder instead of starting one")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the testnet folder it started (removed after the run by default)",
    )
    parser.add_argument("--find-max", action="store_true", help="step the rate up until it is not sustained")
    parser.add_argument("--step", type=float, default=1.25, help="--find-max: factor between rates")
    parser.add_argument(
        "--p99-ms", type=float, default=2000.0, help="--find-max: the p99 latency a sustained rate keeps"
    )
    parser.add_argument(
        "--curve",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="--find-max: then offer 2x and 3x the maximum (applied against offered past it)",
    )
    parser.add_argument(
        "--idle",
        action="store_true",
        help="measure idle validators' CPU and memory for --duration seconds instead",
    )
    parser.add_argument(
        "--cpu-stages",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="count validators' CPU by stage for the cost report ([metrics] cpu_by_stage; it adds about "
        "4 µs per event-loop step, so --no-cpu-stages measures throughput as a production node runs)",
    )
    parser.add_argument(
        "--spam",
        action="store_true",
        help="run the member load alone, then beside a flood of attacks (bench_spam.py), and compare",
    )
    parser.add_argument("--spam-rate", type=float, default=2000.0, help="--spam: attack tx/s offered")
    parser.add_argument(
        "--spam-sources", type=int, default=64, help="--spam: attacker source addresses in 127.66.0.0/16"
    )
    parser.add_argument(
        "--spam-cost-window",
        type=float,
        default=10.0,
        help="--spam: seconds of the validators idle, then under the flood alone (its CPU cost)",
    )
    parser.add_argument(
        "--spam-rounds", type=int, default=1, help="--spam: member runs alone and beside the flood, in turn"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = trio.run(main_async, args)
    if args.json:
        print(json.dumps(result))
    elif args.spam:
        print(human_report(result))
    else:
        console.print_json(json.dumps(result))
    sys.exit(0 if result.get("state_hashes_agree", True) else 1)


if __name__ == "__main__":
    main()
