"""Benchmark of the protocol pipeline a validator runs for every transaction, on one core:
decode (strict canonical msgpack) → signature check (Ed25519, libsodium) → apply (rules + state
overlay, with the ledger's change list and incremental state hash every ``--ledger-size`` txs,
by default the protocol's default maximum tx set size, i.e. a node closing full ledgers).

A stream of ``-n`` payments is pre-signed once (half in a mutual-credit currency, half in a time
currency, between ``--accounts`` members), then replayed ``-r`` times from the same starting
state. Usage:

    scripts/bench-protocol                 # human output
    scripts/bench-protocol --json -n 20000 -r 5
    scripts/bench-protocol --profile       # cProfile of one run, top functions by own time
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import statistics
import sys
import time
from dataclasses import dataclass

from machine_info import machine

from protocol.apply import apply_transaction
from protocol.hashing import blake2b256, network_id
from protocol.keys import Keypair
from protocol.ledger import DEFAULT_MAX_TX_SET_SIZE
from protocol.operations import AdmitMember, CreateCurrency, CurrencyKind, Operation, Payment
from protocol.results import ResultCode
from protocol.state import MemoryState, StateAccumulator, StateOverlay
from protocol.transactions import TransactionBody, build_transaction, decode_transaction

NETWORK = network_id("Tally protocol benchmark")
CREDIT_LIMIT = 10**12


@dataclass
class Workload:
    state: dict[bytes, bytes]
    accumulator: StateAccumulator
    stream: list[bytes]


@dataclass
class Run:
    seconds: float
    decode: float
    verify: float
    apply: float
    failed: int
    cpu_seconds: float


def build_workload(n: int, accounts: int, seed: int) -> Workload:
    """Two currencies with ``accounts`` members each, and ``n`` signed payments between them."""
    rng = random.Random(seed)
    keys = [Keypair(blake2b256(b"bench account %d" % i)) for i in range(accounts)]
    steward = Keypair(blake2b256(b"bench steward"))
    state = MemoryState()
    accumulator = StateAccumulator()
    seqs: dict[bytes, int] = {}

    def setup(source: Keypair, ops: list[Operation]) -> None:
        nonlocal accumulator
        seqs[source.public_key] = seqs.get(source.public_key, 0) + 1
        body = TransactionBody(source.public_key, seqs[source.public_key], 2**32 - 1, b"", tuple(ops))
        tx = build_transaction(NETWORK, body, [source])
        overlay = StateOverlay(state)
        result = apply_transaction(overlay, tx, ledger_seq=2, signers=tx.signers())
        if not result.ok:
            raise SystemExit(f"benchmark set-up failed: {result.code.value}")
        changes = overlay.changes()
        state.apply(changes)
        accumulator = accumulator.updated(changes)

    currencies = ("LETS", "HOURS")
    setup(
        steward,
        [
            CreateCurrency("LETS", CurrencyKind.MUTUAL, 0, (steward.public_key,), 1, CREDIT_LIMIT),
            CreateCurrency("HOURS", CurrencyKind.TIME, 2, (steward.public_key,), 1, CREDIT_LIMIT),
        ],
    )
    for code in currencies:
        for start in range(0, accounts, 100):
            setup(steward, [AdmitMember(code, k.public_key) for k in keys[start : start + 100]])

    stream = []
    for i in range(n):
        payer, payee = rng.sample(keys, 2)
        seqs[payer.public_key] = seqs.get(payer.public_key, 0) + 1
        payment = Payment(payee.public_key, currencies[i % 2], rng.randint(1, 500))
        body = TransactionBody(payer.public_key, seqs[payer.public_key], 2**32 - 1, b"", (payment,))
        stream.append(build_transaction(NETWORK, body, [payer]).encode())
    return Workload(dict(state.entries), accumulator, stream)


def run_once(work: Workload, ledger_size: int) -> Run:
    """Decode, verify and apply the whole stream once, from the workload's starting state."""
    state = MemoryState()
    state.entries = dict(work.state)
    accumulator = work.accumulator
    clock = time.perf_counter
    t_decode = t_verify = t_apply = 0.0
    failed = 0
    ledger_seq = 3
    overlay = StateOverlay(state)
    pending = 0
    cpu_start = time.process_time()
    start = clock()
    for data in work.stream:
        t0 = clock()
        tx = decode_transaction(data, NETWORK)
        t1 = clock()
        signers = tx.signers()
        t2 = clock()
        result = apply_transaction(overlay, tx, ledger_seq=ledger_seq, signers=signers)
        pending += 1
        if pending == ledger_size:
            changes = overlay.changes()
            state.apply(changes)
            accumulator = accumulator.updated(changes)
            overlay = StateOverlay(state)
            ledger_seq += 1
            pending = 0
        t3 = clock()
        t_decode += t1 - t0
        t_verify += t2 - t1
        t_apply += t3 - t2
        if result.code is not ResultCode.OK:
            failed += 1
    t0 = clock()
    changes = overlay.changes()
    state.apply(changes)
    accumulator.updated(changes)
    end = clock()
    cpu_seconds = time.process_time() - cpu_start
    t_apply += end - t0
    return Run(end - start, t_decode, t_verify, t_apply, failed, cpu_seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--transactions", type=int, default=20_000, help="payments per run (20000)")
    parser.add_argument("-r", "--repeats", type=int, default=5, help="runs; the median is reported (5)")
    parser.add_argument("--accounts", type=int, default=2_000, help="member accounts (2000)")
    parser.add_argument(
        "--ledger-size",
        type=int,
        default=DEFAULT_MAX_TX_SET_SIZE,
        help=f"transactions per ledger (the default max tx set size, {DEFAULT_MAX_TX_SET_SIZE})",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--profile", action="store_true", help="profile one run with cProfile")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the process to one CPU")
    args = parser.parse_args(argv)
    if args.transactions < 1 or args.repeats < 1 or args.accounts < 2 or args.ledger_size < 1:
        parser.error("-n, -r and --ledger-size must be at least 1, --accounts at least 2")

    pinned = None
    if not args.no_pin and hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        pinned = cpu

    if not args.json:
        print(
            f"building {args.transactions} signed payments between {args.accounts} accounts…", file=sys.stderr
        )
    work = build_workload(args.transactions, args.accounts, args.seed)

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        run_once(work, args.ledger_size)
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)

    run_once(work, args.ledger_size)  # warm-up (caches, allocator)
    runs = [run_once(work, args.ledger_size) for _ in range(args.repeats)]
    n = args.transactions
    rates = [n / r.seconds for r in runs]
    report = {
        "tx_per_s": round(statistics.median(rates), 1),
        # CPU time of the process: less sensitive than wall time to other load on the machine
        "cpu_tx_per_s": round(statistics.median(n / r.cpu_seconds for r in runs), 1),
        "runs": [
            {
                "tx_per_s": round(n / r.seconds, 1),
                "seconds": round(r.seconds, 4),
                "cpu_seconds": round(r.cpu_seconds, 4),
                "decode_us": round(r.decode / n * 1e6, 2),
                "verify_us": round(r.verify / n * 1e6, 2),
                "apply_us": round(r.apply / n * 1e6, 2),
                "failed": r.failed,
            }
            for r in runs
        ],
        "decode_us": round(statistics.median(r.decode for r in runs) / n * 1e6, 2),
        "verify_us": round(statistics.median(r.verify for r in runs) / n * 1e6, 2),
        "apply_us": round(statistics.median(r.apply for r in runs) / n * 1e6, 2),
        "transactions": n,
        "repeats": args.repeats,
        "accounts": args.accounts,
        "ledger_size": args.ledger_size,
        "pinned_cpu": pinned,
        "machine": machine(),
    }
    if any(r.failed for r in runs):
        print(f"warning: {runs[0].failed} transactions did not apply OK", file=sys.stderr)
    if args.json:
        print(json.dumps(report))
        return 0
    m = report["machine"]
    assert isinstance(m, dict)
    print(f"protocol pipeline, one core ({m['cpu_model']}, {m['cores']} cores, Python {m['python']})")
    print(f"  {n} payments × {args.repeats} runs, {args.accounts} accounts, ledgers of {args.ledger_size}")
    print(f"  median  {report['tx_per_s']:>10,.0f} tx/s   (target ≥ 8,000)")
    print(
        f"  runs    {', '.join(f'{rate:,.0f}' for rate in rates)} tx/s "
        f"(by CPU time: median {report['cpu_tx_per_s']:,.0f} tx/s)"
    )
    print(
        f"  per tx  decode {report['decode_us']} µs · verify {report['verify_us']} µs · "
        f"apply {report['apply_us']} µs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
