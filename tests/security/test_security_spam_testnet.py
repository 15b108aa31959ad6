"""The issue's attack on a real 4-validator testnet (issue 12): throwaway keys with no account,
20 future sequence numbers each, sent through one node's API from many loopback addresses until
the old 50,000-transaction cap would be full. Before the fix every node's mempool filled for good
and alice's payment to bob was refused with ``mempool_full``; now the throwaway transactions are
refused (a key with nothing on the ledger is never queued ahead) and the payment applies.

Real validator processes (``node.testnet``), real HTTP; the attack is signed by
``scripts/bench_spam.py``, the same generator ``scripts/bench --spam`` floods with.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import nacl.utils
import pytest
import trio

from node import testnet as tn
from protocol.hashing import network_id
from protocol.keys import Keypair
from protocol.operations import AdmitMember, CreateCurrency, CurrencyKind, Operation, Payment
from protocol.transactions import TransactionBody, build_transaction

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
from bench_spam import SOURCE_NET, future_attack  # noqa: E402 (after the path is set)

pytestmark = pytest.mark.slow

OLD_CAP = 50_000
PER_REQUEST = 2_000  # the API's maximum
WAIT_S = 60


def _tx(network: bytes, source: Keypair, seq: int, *ops: Operation, memo: bytes = b"") -> str:
    body = TransactionBody(source.public_key, seq, 100_000, memo, ops)
    return base64.b64encode(build_transaction(network, body, (source,)).encode()).decode()


async def _post(
    client: httpx.AsyncClient, url: str, txs: list[str], wait_s: float = 0
) -> list[dict[str, str]]:
    response = await client.post(f"{url}/tx", json={"txs": txs}, params={"wait": wait_s} if wait_s else None)
    assert response.status_code == 200, response.text
    results: list[dict[str, str]] = response.json()["results"]
    return results


async def test_throwaway_keys_queued_ahead_cannot_lock_out_alices_payment(tmp_path: Path) -> None:
    testnet = tn.create(tmp_path / "net", validators=4, watchers=0, threshold=3, close_interval_ms=500)
    tn.start(testnet)
    try:
        await trio.to_thread.run_sync(tn.wait_ready, testnet)
        apis = [n.api for n in testnet.nodes]
        network = network_id(tn.PASSPHRASE)
        steward, alice, bob = (Keypair(nacl.utils.random(32)) for _ in range(3))
        async with httpx.AsyncClient(timeout=WAIT_S + 30) as client:
            community = [
                _tx(
                    network,
                    steward,
                    1,
                    CreateCurrency("HOUR", CurrencyKind.TIME, 2, (steward.public_key,), 1, 1000),
                ),
                _tx(network, steward, 2, *(AdmitMember("HOUR", m.public_key, None) for m in (alice, bob))),
            ]
            assert [r["status"] for r in await _post(client, apis[1], community, WAIT_S)] == ["applied"] * 2

            attack = future_attack(network, OLD_CAP)
            answers: Counter[str] = Counter()
            for index in range(0, OLD_CAP, PER_REQUEST):  # each request from another address
                source = f"{SOURCE_NET}.0.{index // PER_REQUEST + 1}"
                async with httpx.AsyncClient(
                    transport=httpx.AsyncHTTPTransport(local_address=source), timeout=60
                ) as attacker:
                    results = await _post(attacker, apis[0], attack[index : index + PER_REQUEST])
                answers.update(r["code"] or r["status"] for r in results)
            assert answers == {"bad_seq": OLD_CAP}
            mempools = [(await client.get(f"{api}/node")).json()["mempool"] for api in apis]
            assert max(mempools) < 10, mempools

            payment = _tx(network, alice, 1, Payment(bob.public_key, "HOUR", 150), memo=b"gardening")
            (result,) = await _post(client, apis[0], [payment], WAIT_S)
            assert result["status"] == "applied", result
    finally:
        tn.stop(testnet)


def test_the_spam_benchmark_reports_every_figure(tmp_path: Path) -> None:
    """Keeps ``scripts/bench --spam`` working; the figures themselves are never asserted."""
    completed = subprocess.run(
        [
            str(REPO / "scripts" / "bench"),
            *("--spam", "--validators", "3", "--rate", "20", "--duration", "3"),
            *("--spam-rate", "200", "--spam-sources", "4", "--spam-cost-window", "2", "--json"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=os.environ | {"TALLY_HOME": str(tmp_path / "home")},
        check=True,
    )
    spam = json.loads(completed.stdout)["spam"]
    for side in ("members_alone", "members_under_spam"):
        assert set(spam[side]) >= {
            "latency_ms_p50",
            "latency_ms_p99",
            "applied_share",
            "applied_share_in_window",
        }
    assert set(spam["attack"]) >= {"offered", "answers", "http_statuses", "mempool_max", "sources"}
    assert set(spam["attack"]["offered"]) == {"future", "failing", "memo", "batch"}
    assert set(spam["attack_cost"]) >= {"extra_cpu_percent_per_node_median", "cpu_us_per_attack_tx"}
