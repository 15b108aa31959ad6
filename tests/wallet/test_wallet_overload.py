"""A network at its capacity refuses new work at once (``overloaded``, issue 18): the wallet
submits the same transaction again after the node's ``retry_after_s`` (at most 5 s, 3 times), so
a member's payment rides out a busy moment; past that the refusal is the member's to see."""

from __future__ import annotations

import json

import httpx
import nacl.utils

from protocol.keys import Keypair
from protocol.operations import Payment
from protocol.transactions import Transaction, TransactionBody, build_transaction
from wallet.client import MAX_RETRY_AFTER_S, OVERLOAD_RETRIES, NodeClient


def _result(code: str | None, retry_after_s: int = 1) -> dict[str, object]:
    refused = code is not None
    return {
        "hash": "ab" * 32,
        "status": "rejected" if refused else "pending",
        "code": code,
        "explanation": "the network is closing as many transactions as it can" if refused else None,
        "ledger": None,
        "op_index": None,
        "figures": {"retry_after_s": retry_after_s} if refused else {},
    }


def _client(answers: list[dict[str, object]], slept: list[float]) -> tuple[NodeClient, list[bytes]]:
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return httpx.Response(200, json={"results": [answers[min(len(bodies), len(answers)) - 1]]})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    return NodeClient("http://node.test", http=http, sleep=slept.append), bodies


def _payment() -> Transaction:
    alice, bob = (Keypair(nacl.utils.random(32)) for _ in range(2))
    body = TransactionBody(alice.public_key, 1, 100, b"", (Payment(bob.public_key, "HOUR", 150),))
    return build_transaction(b"n" * 32, body, (alice,))


def test_an_overloaded_refusal_is_submitted_again_after_retry_after() -> None:
    slept: list[float] = []
    client, bodies = _client([_result("overloaded", 2), _result(None)], slept)
    result = client.submit(_payment())
    assert result.status == "pending"
    assert slept == [2.0]
    assert len(bodies) == 2
    assert bodies[0] == bodies[1], "the same transaction, not a new one"
    assert json.loads(bodies[0])["tx"]


def test_it_gives_up_after_a_few_attempts_and_never_waits_long() -> None:
    slept: list[float] = []
    client, bodies = _client([_result("overloaded", 3600)], slept)
    result = client.submit(_payment())
    assert result.code == "overloaded"
    assert result.figures.retry_after_s == 3600
    assert len(bodies) == OVERLOAD_RETRIES + 1
    assert slept == [MAX_RETRY_AFTER_S] * OVERLOAD_RETRIES


def test_other_refusals_are_not_retried() -> None:
    slept: list[float] = []
    client, bodies = _client([_result("over_credit_limit")], slept)
    assert client.submit(_payment()).code == "over_credit_limit"
    assert len(bodies) == 1
    assert slept == []
