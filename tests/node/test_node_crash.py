"""Kill -9 a validator process while payments stream in, restart it: no ledger it had closed is
lost or changed, and it ends with the same state hash as its peers. Real node processes
(``node.testnet``), real libp2p, real LevelDB."""

from __future__ import annotations

import functools
import os
import signal
from pathlib import Path

import httpx
import nacl.utils
import pytest
import trio
from realnet import InProcessNet, tx, until_async

from node import testnet as tn
from protocol.keys import Keypair
from protocol.operations import AdmitMember, CreateCurrency, CurrencyKind, Payment

pytestmark = pytest.mark.slow

LIMIT_S = 120
BATCH = 20


async def test_kill_9_under_load_loses_no_closed_ledger(tmp_path: Path) -> None:
    testnet = tn.create(
        tmp_path / "net",
        validators=4,
        watchers=0,
        threshold=3,
        close_interval_ms=200,
        heartbeat_interval_ms=60_000,
    )
    try:
        with trio.fail_after(LIMIT_S):
            tn.start(testnet)
            await trio.to_thread.run_sync(tn.wait_ready, testnet, 60.0)
            async with httpx.AsyncClient(timeout=10) as client, trio.open_nursery() as nursery:
                net = InProcessNet(nursery, testnet, client)  # used for its HTTP helpers only
                v0, v1, v2, v3 = net.validators
                network = bytes.fromhex((await net.get(v0, "/node"))["network_id"])
                steward, alice, bob, carol = (Keypair(nacl.utils.random(32)) for _ in range(4))
                setup = [
                    tx(
                        network,
                        steward,
                        1,
                        CreateCurrency("HOUR", CurrencyKind.TIME, 2, (steward.public_key,), 1, 1_000_000),
                    ),
                    tx(
                        network,
                        steward,
                        2,
                        *(AdmitMember("HOUR", k.public_key, None) for k in (alice, bob, carol)),
                    ),
                ]
                results = await net.submit(v0, setup, wait_s=60)
                assert [r["status"] for r in results] == ["applied"] * 2, results

                last_accepted: dict[bytes, bytes] = {}  # payer -> hash of its last accepted payment
                stop_load = trio.Event()

                async def load(payer: Keypair, payee: Keypair, target: tn.NodeEntry) -> None:
                    """A batch of payments every 50 ms from one payer, always to the same validator
                    (one that stays up), so its sequence numbers never race between mempools.

                    Each batch starts at the first sequence number not yet held: a payment the
                    validator refused (its mempool full, say) is sent again, the same bytes, with
                    the ones after it, so no accepted payment waits forever behind a gap; those
                    already held answer ``duplicate``. Every payment up to ``last_accepted`` is
                    then applied in the end."""
                    first = 1
                    while not stop_load.is_set():
                        batch = [
                            tx(network, payer, seq, Payment(payee.public_key, "HOUR", 1))
                            for seq in range(first, first + BATCH)
                        ]
                        for answer in await net.submit(target, batch):
                            if answer["status"] == "rejected" and answer["code"] != "duplicate":
                                break
                            last_accepted[payer.public_key] = bytes.fromhex(answer["hash"])
                            first += 1
                        await trio.sleep(0.05)

                async with trio.open_nursery() as loaders:
                    for payer, payee, target in ((alice, bob, v0), (bob, carol, v1), (carol, alice, v2)):
                        loaders.start_soon(load, payer, payee, target)
                    # v3 closes ledgers under load, then dies without warning.
                    start_seq = await net.seq(v3)
                    await until_async(lambda: _reached(net, v3, start_seq + 5))
                    closed_before = await net.seq(v3)
                    assert v3.pid is not None
                    os.kill(v3.pid, signal.SIGKILL)
                    await until_async(lambda: _dead(v3.pid))
                    # The others keep closing meanwhile.
                    others_at = await net.seq(v0)
                    await until_async(lambda: _reached(net, v0, others_at + 3))

                    tn.start(testnet)  # restarts only the dead one
                    await until_async(lambda: _answers(net, v3))
                    assert await net.seq(v3) >= closed_before, "a closed ledger was lost"
                    started = trio.current_time()
                    await until_async(lambda: _reached(net, v3, others_at + 3))
                    catch_up_s = trio.current_time() - started

                    stop_load.set()  # the loaders end with their current batch
                # Every payment accepted is applied in the end; wait for the network to settle.
                for tx_hash in last_accepted.values():
                    await until_async(functools.partial(_applied, net, v0, tx_hash))
                top = await net.seq(v0)
                await net.until_all_reach(net.validators, top)
                await net.agree_at(net.validators, top)
                for seq in range(2, closed_before + 1):  # what v3 had before the kill is unchanged
                    await net.agree_at([v0, v3], seq)
                print(
                    f"v3 killed at ledger {closed_before}, network at {top}, "
                    f"restarted node caught up in {catch_up_s:.2f} s"
                )
                nursery.cancel_scope.cancel()
    finally:
        tn.stop(testnet, timeout_s=15)


async def _reached(net: InProcessNet, entry: tn.NodeEntry, seq: int) -> bool:
    return await net.seq(entry) >= seq


async def _dead(pid: int | None) -> bool:
    return pid is None or not tn.pid_alive(pid)


async def _answers(net: InProcessNet, entry: tn.NodeEntry) -> bool:
    return (await net.client.get(entry.api + "/health")).status_code == 200


async def _applied(net: InProcessNet, entry: tn.NodeEntry, tx_hash: bytes) -> bool:
    status = (await net.client.get(f"{entry.api}/tx/{tx_hash.hex()}")).json()["status"]
    return status not in ("pending", "unknown")
