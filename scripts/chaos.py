"""Chaos under load: real validator processes, open-loop payments, SIGKILL and restart.

  scripts/chaos --validators 4 --rate 300 --duration 60 --kill-every 10 --json

Method: start a testnet, set up the benchmark community and pre-sign the payments (reusing
``scripts/bench_load.Bench``), then offer them at ``--rate`` for ``--duration`` seconds. Every
payment batch is submitted with ``?wait=`` so the API answers once its transactions are in a
ledger: a transaction the API reported ``applied`` is *acknowledged*. Every ``--kill-every``
seconds one random validator gets SIGKILL (never so many that the rest lack a quorum, unless
``--allow-quorum-loss``) and is restarted ``--restart-after`` seconds later; its catch-up time is
from the restart to having the network's latest ledger. A batch aimed at a node that is down
goes to another running node instead. An account whose payment was lost with a killed node's
mempool would have every later payment refused (a gap in its sequence numbers), so such
accounts get their next payments re-signed in sequence (``resyncs``), and the load stays on.

At the end the load stops, every node must drain and catch up, and then:

* every acknowledged transaction is in every node's ledgers exactly once (``lost``,
  ``duplicated``), found by walking ``/ledgers/{seq}`` on every node;
* every node has the same header hash for every seq, with no gap (``divergent_ledgers``), and
  the same state hash at the last ledger (``state_hashes_agree``);
* no process died except the ones killed (``unexpected_deaths``);
* after a clean ``down`` every node's database reopens (``databases_reopen``).

The exit status is 0 only when all of these hold.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import itertools
import json
import os
import random
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nacl.utils
import trio

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_load import Bench, Run, console
from machine_info import machine

from node import testnet as tn
from node.config import load_config
from node.errors import NodeError
from node.setup import CONFIG_NAME
from node.storage.store import LedgerStore
from protocol.addresses import encode_account
from protocol.hashing import network_id
from protocol.keys import Keypair
from protocol.transactions import Transaction, build_transaction

SUBMIT_WAIT_S = 10.0
DRAIN_TIMEOUT_S = 120.0
CATCHUP_TIMEOUT_S = 120.0
POLL_S = 0.25
RESYNC_S = 2.0  # how often accounts whose payments were refused are put back in sequence
RESIGN_AHEAD = 40  # payments re-signed per resync (bounded work; the rest is redone when reached)


@dataclass
class Chaos:
    kills: int = 0
    restarts: int = 0
    acknowledged: set[bytes] = field(default_factory=set)
    catchup_s: list[float] = field(default_factory=list)
    down: set[int] = field(default_factory=set)  # node indexes killed and not yet restarted
    recovering: set[int] = field(default_factory=set)  # killed and not yet caught up (no vote yet)
    killed_pids: set[int] = field(default_factory=set)
    unexpected_deaths: list[str] = field(default_factory=list)
    submit_errors: int = 0
    resyncs: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)


class ChaosBench(Bench):
    """The load benchmark's generator, submitting with ``?wait=`` and around nodes that are down."""

    def __init__(self, apis: list[str], pids: dict[str, int], network: bytes, chaos: Chaos) -> None:
        super().__init__(apis, pids, network)
        self.chaos = chaos
        # Submissions hold their connection until their ledger closes (``?wait=``); the control
        # tasks (kill, catch-up, audit) use ``control`` so they never queue behind them.
        self.http = httpx.AsyncClient(timeout=30.0, limits=httpx.Limits(max_connections=512))
        self.control = httpx.AsyncClient(timeout=5.0)
        self.accounts: dict[bytes, tuple[int, Keypair]] = {}
        self.queues: list[list[Transaction]] = []
        self.dirty: set[int] = set()

    def workload(self, keys: list[Keypair], queues: list[list[Transaction]]) -> None:
        self.accounts = {k.public_key: (i, k) for i, k in enumerate(keys)}
        self.queues = queues

    async def resync(self, run: Run, stop: trio.Event) -> None:
        """A payment lost with a killed node's mempool (or refused) leaves a gap in its account's
        sequence numbers, and every later payment of that account would be refused: the load
        would fade with every kill. So every few seconds such accounts get their next payments
        re-signed from the sequence number the network holds for them."""
        while not stop.is_set():
            with trio.move_on_after(RESYNC_S):
                await stop.wait()
            dirty, self.dirty = self.dirty, set()
            for index in dirty:
                up = [api for i, api in enumerate(self.apis) if i not in self.chaos.down]
                queue = self.queues[index]
                start = next((p for p, tx in enumerate(queue) if tx.hash not in run.submitted_at), None)
                if not up or start is None:
                    continue
                keypair = self.accounts[queue[0].body.source][1]
                try:
                    info = (
                        await self.control.get(f"{up[0]}/accounts/{encode_account(keypair.public_key)}")
                    ).json()
                    next_seq = int(info["pending_sequence"]) + 1
                except (httpx.HTTPError, ValueError, KeyError):
                    self.dirty.add(index)
                    continue
                start = next((p for p, tx in enumerate(queue) if tx.hash not in run.submitted_at), None)
                if start is None:
                    continue
                for offset, position in enumerate(range(start, min(len(queue), start + RESIGN_AHEAD))):
                    body = dataclasses.replace(queue[position].body, seq=next_seq + offset)
                    queue[position] = build_transaction(self.network, body, (keypair,))
                self.chaos.resyncs += 1

    async def _send(self, run: Run, api: str, txs: list[Transaction]) -> None:
        first = self.apis.index(api)
        order = [first] + [i for i in range(len(self.apis)) if i != first]
        for index in order:
            if index in self.chaos.down:
                continue
            try:
                response = await self.http.post(
                    f"{self.apis[index]}/tx",
                    params={"wait": SUBMIT_WAIT_S},
                    json={"txs": [base64.b64encode(t.encode()).decode() for t in txs]},
                    timeout=SUBMIT_WAIT_S + 15,
                )
                response.raise_for_status()
                results: list[dict[str, Any]] = response.json()["results"]
            except (httpx.HTTPError, ValueError, KeyError):
                # Killed mid-request: the node may have admitted some of these; they may still
                # be applied (they are in the ledgers then) but they are not acknowledged.
                self.chaos.submit_errors += 1
                if any(tx.hash in run.accepted for tx in txs):
                    return
                continue
            for tx, result in zip(txs, results, strict=True):
                if result["status"] in ("pending", "applied"):
                    run.accepted.add(tx.hash)
                if result["status"] == "applied":
                    self.chaos.acknowledged.add(tx.hash)
                elif result["status"] not in ("pending",):
                    code = result.get("code") or result["status"]
                    run.rejected[code] = run.rejected.get(code, 0) + 1
                    if code != "duplicate" and tx.body.source in self.accounts:
                        self.dirty.add(self.accounts[tx.body.source][0])
            return
        run.rejected["no_node_up"] = run.rejected.get("no_node_up", 0) + len(txs)


async def _seq(client: httpx.AsyncClient, api: str) -> int | None:
    try:
        response = await client.get(f"{api}/ledgers/latest", timeout=2.0)
        seq: int = response.json()["seq"]
        return seq
    except (httpx.HTTPError, ValueError, KeyError):
        return None


async def _network_seq(client: httpx.AsyncClient, net: tn.Testnet, skip: set[int]) -> int:
    seqs = [await _seq(client, n.api) for i, n in enumerate(net.nodes) if i not in skip]
    return max((s for s in seqs if s is not None), default=0)


async def killer(
    net: tn.Testnet,
    chaos: Chaos,
    args: argparse.Namespace,
    stop: trio.Event,
    client: httpx.AsyncClient,
    rng: random.Random,
) -> None:
    validators = [i for i, n in enumerate(net.nodes) if n.role == "validator"]
    async with trio.open_nursery() as nursery:
        while True:
            with trio.move_on_after(args.kill_every):
                await stop.wait()
            if stop.is_set():
                break
            # a validator still catching up does not vote yet: it does not count towards a quorum
            alive = [i for i in validators if i not in chaos.down and i not in chaos.recovering]
            if not args.allow_quorum_loss and len(alive) - 1 < net.threshold:
                console.print("kill skipped: the rest would lack a quorum")
                continue
            victim = rng.choice(alive)
            entry = net.nodes[victim]
            assert entry.pid is not None
            chaos.down.add(victim)
            chaos.recovering.add(victim)
            chaos.killed_pids.add(entry.pid)
            os.kill(entry.pid, signal.SIGKILL)
            chaos.kills += 1
            chaos.events.append({"t": round(time.monotonic(), 2), "kill": entry.name})
            console.print(f"SIGKILL {entry.name} (pid {entry.pid})")
            nursery.start_soon(restart_later, net, chaos, victim, args.restart_after, client)
    # restarts still pending finish inside the nursery before we return


async def restart_later(
    net: tn.Testnet, chaos: Chaos, index: int, delay: float, client: httpx.AsyncClient
) -> None:
    await trio.sleep(delay)
    entry = net.nodes[index]
    with trio.fail_after(10):
        while entry.pid is not None and tn.pid_alive(entry.pid):  # noqa: ASYNC110 (SIGKILL lands asynchronously)
            await trio.sleep(0.05)
    restarted_at = time.monotonic()
    await trio.to_thread.run_sync(tn.start, net)
    chaos.restarts += 1
    console.print(f"restarted {entry.name} (pid {entry.pid})")
    caught_up: list[float] = []  # a list: mypy cannot see that move_on_after may end the loop
    with trio.move_on_after(CATCHUP_TIMEOUT_S):
        while not caught_up:
            mine = await _seq(client, entry.api)
            if mine is not None:
                chaos.down.discard(index)  # its API answers: it takes submissions again
                if mine >= await _network_seq(client, net, {index}):
                    caught_up.append(time.monotonic() - restarted_at)
                    break
            await trio.sleep(POLL_S)
    chaos.down.discard(index)
    chaos.recovering.discard(index)
    if caught_up:
        console.print(f"{entry.name} caught up {caught_up[0]:.1f} s after its restart")
    else:
        console.print(f"{entry.name} did not catch up within {CATCHUP_TIMEOUT_S:.0f} s")
    chaos.catchup_s.append(caught_up[0] if caught_up else CATCHUP_TIMEOUT_S)


async def watchdog(net: tn.Testnet, chaos: Chaos, stop: trio.Event) -> None:
    """Any process that dies without having been killed by us is a finding."""
    while not stop.is_set():
        for index, entry in enumerate(net.nodes):
            if index in chaos.down or entry.pid is None or entry.pid in chaos.killed_pids:
                continue
            if not tn.pid_alive(entry.pid) and entry.name not in chaos.unexpected_deaths:
                chaos.unexpected_deaths.append(entry.name)
                console.print(f"[red]{entry.name} died on its own (pid {entry.pid})[/red]")
        with trio.move_on_after(0.5):
            await stop.wait()


async def drain(client: httpx.AsyncClient, net: tn.Testnet) -> bool:
    """Until every node is within one ledger of the others and no mempool moves any more (a
    payment whose predecessor died with a killed node's mempool can wait forever), three polls
    in a row."""
    stable = 0
    previous: list[int] = []
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while stable < 3 and time.monotonic() < deadline:
        await trio.sleep(1.0)
        infos = []
        for entry in net.nodes:
            try:
                infos.append((await client.get(f"{entry.api}/node", timeout=2.0)).json())
            except (httpx.HTTPError, ValueError):
                infos.append(None)
        if not all(infos):
            stable = 0
            continue
        seqs = [i["ledger"]["seq"] for i in infos if i]
        pools = [i["mempool"] for i in infos if i]
        settled = max(seqs) - min(seqs) <= 1 and (pools == previous or not any(pools))
        previous = pools
        stable = stable + 1 if settled else 0
    return stable >= 3


async def audit(client: httpx.AsyncClient, net: tn.Testnet, acknowledged: set[bytes]) -> dict[str, Any]:
    """Walk every node's ledgers: lost and duplicated transactions, divergent or missing ledgers."""
    latest = [await _seq(client, n.api) or 0 for n in net.nodes]
    top = min(latest)  # drained: the others are at most one ledger ahead
    hashes: dict[int, set[str | None]] = {}
    state_at_top: set[str | None] = set()
    lost: set[bytes] = set()
    duplicated: set[bytes] = set()
    close_times: dict[int, int] = {}
    for entry in net.nodes:
        counts: dict[bytes, int] = {}
        for seq in range(1, top + 1):
            response = await client.get(f"{entry.api}/ledgers/{seq}", timeout=10.0)
            if response.status_code != 200:
                hashes.setdefault(seq, set()).add(None)
                continue
            ledger = response.json()
            hashes.setdefault(seq, set()).add(ledger["hash"])
            close_times.setdefault(seq, ledger["close_time_ms"])
            if seq == top:
                state_at_top.add(ledger["state_hash"])
            for item in ledger["transactions"]:
                tx_hash = bytes.fromhex(item["hash"])
                counts[tx_hash] = counts.get(tx_hash, 0) + 1
        lost |= {h for h in acknowledged if h not in counts}
        duplicated |= {h for h, c in counts.items() if c > 1}
    divergent = sorted(seq for seq, found in hashes.items() if len(found) != 1 or None in found)
    closes = [close_times[seq] for seq in sorted(close_times) if seq > 2]  # after the setup ledgers
    closes.append(int(time.time() * 1000))  # a network stalled at the end shows here too
    gaps = [(b - a) / 1000 for a, b in itertools.pairwise(closes)]
    return {
        "ledgers": top,
        "lost": len(lost),
        "duplicated": len(duplicated),
        "divergent_ledgers": len(divergent),
        "divergent_seqs": divergent[:20],
        "state_hashes_agree": len(state_at_top) == 1 and None not in state_at_top,
        "final_seqs": latest,
        "max_close_gap_s": round(max(gaps), 1) if gaps else None,
    }


async def invalid_messages(client: httpx.AsyncClient, net: tn.Testnet) -> dict[str, float]:
    """Invalid messages by reason and peer bans, summed over the nodes (counters restart with a
    node). An honest network under crashes should show none: anything here is worth a look."""
    totals: dict[str, float] = {}
    for entry in net.nodes:
        try:
            text = (await client.get(f"{entry.api}/metrics")).text
        except httpx.HTTPError:
            continue
        for line in text.splitlines():
            if line.startswith(("tally_invalid_messages_total{", "tally_peer_bans_total ")):
                key, _, value = line.rpartition(" ")
                name = key.split('reason="', 1)[1].rstrip('"}') if "reason=" in key else "peer_bans"
                totals[name] = totals.get(name, 0.0) + float(value)
    return {k: v for k, v in totals.items() if v}


def reopen_databases(net: tn.Testnet) -> dict[str, str]:
    """After a clean stop: open and close every node's LevelDB; returns the failures by node."""
    failures = {}
    for entry in net.nodes:
        config = load_config(Path(entry.folder) / CONFIG_NAME)
        try:
            store = LedgerStore(config.data_dir, config.network_id)
        except NodeError as exc:
            failures[entry.name] = str(exc)
            continue
        store.close()
    return failures


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="tally-chaos-"))
    console.print(f"starting {args.validators} validators in {folder} …")
    net = tn.create(folder, validators=args.validators, watchers=0, threshold=None)
    tn.start(net)
    chaos = Chaos()
    rng = random.Random(args.seed)
    result: dict[str, Any] = {
        "validators": args.validators,
        "threshold": net.threshold,
        "rate": args.rate,
        "duration": args.duration,
        "kill_every": args.kill_every,
        "machine": machine(),
        "folder": str(folder),
    }
    try:
        await trio.to_thread.run_sync(tn.wait_ready, net)
        apis = [n.api for n in net.nodes]
        pids = {n.name: n.pid for n in net.nodes if n.pid is not None}
        bench = ChaosBench(apis, pids, network_id(tn.PASSPHRASE), chaos)
        accounts = args.accounts or max(50, min(2000, int(args.rate)))
        keys = [Keypair(nacl.utils.random(32)) for _ in range(accounts)]
        codes = await bench.community(keys, f"{args.seed % 10000}")
        total = int(args.rate * args.duration)
        console.print(f"pre-signing {total} payments for {accounts} accounts …")
        queues = bench.presign(keys, codes, total, args.seed)
        bench.workload(keys, queues)
        run = Run(args.rate, args.duration)
        stop = trio.Event()
        console.print(
            f"offering {args.rate:g} tx/s for {args.duration:g} s, SIGKILL every {args.kill_every:g} s …"
        )
        async with trio.open_nursery() as nursery:
            nursery.start_soon(killer, net, chaos, args, stop, bench.control, rng)
            nursery.start_soon(watchdog, net, chaos, stop)
            nursery.start_soon(bench.resync, run, stop)
            started = time.monotonic()
            await bench.offer(run, queues)  # returns once every submission was answered
            window = time.monotonic() - started
            stop.set()
        console.print("load stopped; waiting for every node to drain and catch up …")
        drained = await drain(bench.control, net)
        result |= {
            "kills": chaos.kills,
            "restarts": chaos.restarts,
            "offered": run.offered,
            "accepted": len(run.accepted),
            "acknowledged": len(chaos.acknowledged),
            "rejected": run.rejected,
            "submit_errors": chaos.submit_errors,
            "resyncs": chaos.resyncs,
            "drained": drained,
        }
        result |= await audit(bench.control, net, chaos.acknowledged)
        result["invalid_messages"] = await invalid_messages(bench.control, net)
        result["max_catchup_s"] = round(max(chaos.catchup_s), 2) if chaos.catchup_s else None
        result["applied_tx_per_s"] = round(len(chaos.acknowledged) / args.duration, 1)
        result["load_and_answers_s"] = round(window, 2)
        await bench.http.aclose()
        await bench.control.aclose()
    finally:
        still_alive = {n.name for n in net.running()}
        missing = [
            n.name for n in net.nodes if n.name not in still_alive and n.name not in chaos.unexpected_deaths
        ]
        chaos.unexpected_deaths.extend(missing)
        tn.stop(net)
    result["unexpected_deaths"] = chaos.unexpected_deaths
    failures = reopen_databases(net)
    result["databases_reopen"] = not failures
    if failures:
        result["database_failures"] = failures
    return result


def passed(result: dict[str, Any], max_stall_s: float) -> bool:
    """Safety (nothing lost, duplicated or forked) and liveness (no stall over ``max_stall_s``)."""
    gap = result.get("max_close_gap_s")
    return (
        result.get("lost") == 0
        and gap is not None
        and gap <= max_stall_s
        and result.get("duplicated") == 0
        and result.get("divergent_ledgers") == 0
        and bool(result.get("state_hashes_agree"))
        and bool(result.get("databases_reopen"))
        and not result.get("unexpected_deaths")
        and bool(result.get("drained"))
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--rate", type=float, default=300.0, help="offered payments per second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of offered load")
    parser.add_argument("--kill-every", type=float, default=10.0, help="seconds between SIGKILLs")
    parser.add_argument("--restart-after", type=float, default=3.0, help="seconds a killed node stays down")
    parser.add_argument(
        "--allow-quorum-loss",
        action="store_true",
        help="kill even when the remaining validators lack a quorum",
    )
    parser.add_argument("--accounts", type=int, default=0, help="paying accounts (default: about the rate)")
    parser.add_argument("--dir", help="testnet folder (default: a new temporary folder)")
    parser.add_argument(
        "--max-stall",
        type=float,
        default=60.0,
        help="fail when two consecutive ledgers close further apart than this (s)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = trio.run(main_async, args)
    result["passed"] = passed(result, args.max_stall)
    if args.json:
        print(json.dumps(result))
    else:
        console.print_json(json.dumps(result))
    sys.exit(0 if result["passed"] else 1)


if __name__ == "__main__":
    main()
