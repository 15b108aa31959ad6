"""Four validators (threshold 3) and a watcher on real libp2p networking (loopback), each run by
``node.runtime.run_node`` in this process: payments in all three currency kinds, identical state
everywhere, a validator stopped (the other three keep closing) and restarted (it catches up),
the watcher follows, and the HTTP API answers what the wallet needs."""

from __future__ import annotations

from pathlib import Path

import httpx
import nacl.utils
import pytest
import trio
from realnet import InProcessNet, tx

from node import testnet as tn
from node.catchup import POLL_INTERVAL_S
from protocol.addresses import encode_account
from protocol.keys import Keypair
from protocol.operations import AdmitMember, CreateCurrency, CurrencyKind, Mint, Payment

pytestmark = pytest.mark.slow  # real libp2p hosts

LIMIT_S = 60


def _key() -> Keypair:
    return Keypair(nacl.utils.random(32))


async def test_four_validators_and_a_watcher_on_libp2p(tmp_path: Path) -> None:
    testnet = tn.create(
        tmp_path / "net",
        validators=4,
        watchers=1,
        threshold=3,
        close_interval_ms=200,
        heartbeat_interval_ms=60_000,
    )
    with trio.fail_after(LIMIT_S):
        async with httpx.AsyncClient(timeout=10) as client, trio.open_nursery() as nursery:
            net = InProcessNet(nursery, testnet, client)
            await net.start_all()
            v0, v1, v2, v3 = net.validators
            watcher = net.by_name["w0"]
            info = await net.get(v0, "/node")
            network = bytes.fromhex(info["network_id"])
            assert info["role"] == "validator"
            assert info["network_passphrase"] == tn.PASSPHRASE
            assert (await net.get(watcher, "/node"))["role"] == "watcher"
            assert (await net.get(v0, "/health"))["status"] == "ok"

            steward, issuer, alice, bob = (_key() for _ in range(4))
            members = (alice.public_key, bob.public_key)
            setup = [
                tx(
                    network,
                    steward,
                    1,
                    CreateCurrency("HOUR", CurrencyKind.TIME, 2, (steward.public_key,), 1, 1000),
                    CreateCurrency("LETS", CurrencyKind.MUTUAL, 2, (steward.public_key,), 1, 10_000),
                ),
                tx(
                    network, steward, 2, *(AdmitMember(c, m, None) for c in ("HOUR", "LETS") for m in members)
                ),
                tx(
                    network,
                    issuer,
                    1,
                    CreateCurrency("BRX", CurrencyKind.ISSUED, 2, (issuer.public_key,), 1, 0),
                ),
                tx(network, issuer, 2, *(Mint("BRX", m, 5000) for m in members)),
            ]
            # Submitted to different validators: transactions gossip to whoever nominates.
            for index, setup_tx in enumerate(setup):
                results = await net.submit(net.validators[index], [setup_tx], wait_s=LIMIT_S)
                assert results[0]["status"] == "applied", results
            payments = [
                tx(network, alice, 1, Payment(bob.public_key, "HOUR", 150)),
                tx(network, alice, 2, Payment(bob.public_key, "LETS", 2500)),
                tx(network, bob, 1, Payment(alice.public_key, "BRX", 1200)),
            ]
            results = await net.submit(v1, payments, wait_s=LIMIT_S)
            assert [r["status"] for r in results] == ["applied"] * 3, results
            top = max(r["ledger"] for r in results)
            await net.until_all_reach([*net.validators, watcher], top)
            agreed = await net.agree_at([*net.validators, watcher], top)

            # What the wallet reads: account, currencies, tx status, ledgers.
            account = await net.get(watcher, f"/accounts/{encode_account(bob.public_key)}")
            assert account["sequence"] == 1
            assert {b["currency"]: b["balance"] for b in account["balances"]} == {
                "HOUR": 150,
                "LETS": 2500,
                "BRX": 3800,
            }
            kinds = {b["currency"]: b["kind"] for b in account["balances"]}
            assert kinds == {"HOUR": "time", "LETS": "mutual", "BRX": "issued"}
            brx = await net.get(v3, "/currencies/BRX")
            assert brx["kind"] == "issued"
            assert brx["supply"] == 10_000
            assert (await net.get(v2, "/currencies/HOUR"))["members"] == 2
            status = await net.get(v3, f"/tx/{payments[2].hash.hex()}")
            assert status["status"] == "applied"
            assert status["ledger"] == results[2]["ledger"]
            ledger = await net.get(watcher, f"/ledgers/{results[2]['ledger']}")
            assert payments[2].hash.hex() in [t["hash"] for t in ledger["transactions"]]
            latest = await net.get(v0, "/ledgers/latest")
            assert latest["seq"] >= top
            history = await net.get(v2, f"/accounts/{encode_account(alice.public_key)}/history")
            assert {item["hash"] for item in history["items"]} >= {p.hash.hex() for p in payments}
            missing = await client.get(v0.api + "/tx/" + "00" * 32)
            assert missing.status_code == 404
            assert missing.json()["status"] == "unknown"
            assert agreed["state_hash"]

            # One validator stops: the other three (a quorum) keep closing.
            await net.stop(v3.name)
            more = [tx(network, alice, 3 + i, Payment(bob.public_key, "HOUR", 10)) for i in range(3)]
            results = await net.submit(v0, more, wait_s=LIMIT_S)
            assert [r["status"] for r in results] == ["applied"] * 3, results
            top = max(r["ledger"] for r in results)
            live = [v0, v1, v2, watcher]
            await net.until_all_reach(live, top)
            await net.agree_at(live, top)

            # It comes back from its database and catches up to the same state.
            await net.start(v3.name)
            started = trio.current_time()
            await net.until_all_reach([v3], top)
            catch_up_s = trio.current_time() - started
            # The network is idle (no announcements): it asked a peer at once, not after a
            # whole poll interval.
            assert catch_up_s < POLL_INTERVAL_S, catch_up_s
            await net.agree_at([*net.validators, watcher], top)
            # ... and takes part again: a ledger closes with all four.
            last = tx(network, bob, 2, Payment(alice.public_key, "LETS", 1))
            results = await net.submit(v3, [last], wait_s=LIMIT_S)
            assert results[0]["status"] == "applied", results
            await net.until_all_reach([*net.validators, watcher], results[0]["ledger"])
            await net.agree_at([*net.validators, watcher], results[0]["ledger"])
            print(f"restarted validator caught up in {catch_up_s:.2f} s")
            nursery.cancel_scope.cancel()
