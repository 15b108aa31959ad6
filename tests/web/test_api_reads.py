"""The read endpoints on a real node: a transaction's full contents by hash, recent ledgers with
paging, a currency's members with a stable cursor, the indexes behind them, and CORS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import plyvel
import pytest
from typer.testing import CliRunner
from web_node import Community, community_fixture, lone_node, seed_community

from node.api.app import create_app
from node.cli.app import app
from node.config import load_config
from node.errors import ConfigError
from node.storage.store import LedgerStore
from protocol.addresses import encode_account
from protocol.operations import AdmitMember, Payment

community = community_fixture()


def _client(community: Community, **options: Any) -> httpx.AsyncClient:
    api = community.node.api
    app = create_app(api, explorer=api, **options)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://node")


async def test_tx_by_hash_gives_the_decoded_transaction_beside_the_status_keys(community: Community) -> None:
    async with _client(community) as client:
        answer = await client.get(f"/tx/{community.gardening.hash.hex()}")
    body = answer.json()
    assert answer.status_code == 200
    assert {k: body[k] for k in ("hash", "status", "code", "op_index")} == {
        "hash": community.gardening.hash.hex(),
        "status": "applied",
        "code": "ok",
        "op_index": None,
    }
    assert body["explanation"] == "applied"
    assert body["source"] == encode_account(community.alice.public_key)
    assert body["seq"] == 1
    assert body["memo"] == "gardening"
    assert body["signature_count"] == 1
    assert body["operations"] == [
        {
            "type": "payment",
            "from": encode_account(community.alice.public_key),
            "to": encode_account(community.bob.public_key),
            "currency": "HOUR",
            "amount": 150,
        }
    ]
    header = community.node.chain.store.header(body["ledger"])
    assert header is not None
    assert body["close_time_ms"] == header.close_time_ms


async def test_tx_by_hash_failed_transaction_names_the_failing_operation(community: Community) -> None:
    over = await community.run(community.carol, Payment(community.bob.public_key, "HOUR", 5000))
    async with _client(community) as client:
        body = (await client.get(f"/tx/{over.hash.hex()}")).json()
    assert (body["status"], body["code"], body["op_index"]) == ("failed", "over_credit_limit", 0)
    assert "credit limit" in body["explanation"]
    assert body["operations"][0]["amount"] == 5000


async def test_tx_by_hash_unknown_and_malformed(community: Community) -> None:
    async with _client(community) as client:
        unknown = await client.get("/tx/" + "ab" * 32)
        malformed = await client.get("/tx/xyz")
    assert (unknown.status_code, unknown.json()["status"]) == (404, "unknown")
    assert "source" not in unknown.json()
    assert (malformed.status_code, malformed.json()["error"]) == (400, "bad_request")


async def test_ledgers_page_newest_first_with_a_cursor(community: Community) -> None:
    last = community.node.chain.last.seq
    async with _client(community) as client:
        first = (await client.get("/ledgers?limit=2")).json()
        second = (await client.get(f"/ledgers?limit=2&before={first['next']}")).json()
        everything = (await client.get("/ledgers?limit=100")).json()
    assert [i["seq"] for i in first["items"]] == [last, last - 1]
    assert [i["seq"] for i in second["items"]] == [last - 2, last - 3]
    assert [i["seq"] for i in everything["items"]] == list(range(last, 0, -1))
    assert everything["next"] is None
    assert sum(i["tx_count"] for i in everything["items"]) == 5
    assert {"hash", "previous_hash", "close_time_ms", "state_hash"} <= set(first["items"][0])


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "before=1", "before=-3", "before=²"])
async def test_ledgers_bad_query(community: Community, query: str) -> None:
    async with _client(community) as client:
        answer = await client.get(f"/ledgers?{query}")
    assert (answer.status_code, answer.json()["error"]) == (400, "bad_request")


async def test_members_directory_pages_with_a_stable_cursor(community: Community) -> None:
    people = {encode_account(k.public_key) for k in (community.alice, community.bob, community.carol)}
    async with _client(community) as client:
        first = (await client.get("/currencies/HOUR/members?limit=2")).json()
        dave = bytes(32)  # the lowest account key: joins "behind" the cursor
        await community.run(community.steward, AdmitMember("HOUR", dave, None))
        second = (await client.get(f"/currencies/HOUR/members?limit=2&after={first['next']}")).json()
    seen = [m["address"] for m in first["items"] + second["items"]]
    assert sorted(seen) == sorted(people), "a member joining meanwhile must not shift the pages"
    assert second["next"] is None
    assert first["code"] == "HOUR"
    by_address = {m["address"]: m for m in first["items"] + second["items"]}
    alice = by_address[encode_account(community.alice.public_key)]
    assert (alice["balance"], alice["credit_limit"], alice["available"]) == (-150, 1000, 850)
    assert alice["member"] is True
    assert alice["last_activity"]["ledger"] == community.node.api.tx_status(community.gardening.hash).ledger
    carol = by_address[encode_account(community.carol.public_key)]
    assert carol["last_activity"]["ledger"] < alice["last_activity"]["ledger"]  # admitted, never paid


async def test_members_bad_input(community: Community) -> None:
    async with _client(community) as client:
        unknown = await client.get("/currencies/NOPE/members")
        malformed = await client.get("/currencies/ho_ur/members")
        bad_cursor = await client.get("/currencies/HOUR/members?after=tly1nope")
        bad_limit = await client.get("/currencies/HOUR/members?limit=201")
    assert (unknown.status_code, unknown.json()["error"]) == (404, "not_found")
    assert (malformed.status_code, malformed.json()["error"]) == (400, "bad_currency_code")
    assert (bad_cursor.status_code, bad_cursor.json()["error"]) == (400, "bad_address")
    assert bad_limit.status_code == 400


async def test_currency_activity_per_month(community: Community) -> None:
    await community.run(community.bob, Payment(community.carol.public_key, "HOUR", 25))
    reads = community.node.api.reads
    (month,) = reads.activity("HOUR")
    assert (month.volume, month.payments, month.active_members) == (175, 2, 3)
    assert reads.activity("LETS") == []
    assert sorted(reads.balances("HOUR").values) == [-150, 25, 125]


async def test_indexes_are_rebuilt_for_a_database_written_without_them(tmp_path: Path) -> None:
    async with lone_node(tmp_path) as node:
        community = await seed_community(node)
        await community.run(community.bob, Payment(community.carol.public_key, "LETS", 300), memo=b"soup")
        before = _index_answers(node.chain.store)
        network = node.api.network_id
    db = plyvel.DB(str(tmp_path / "data"))
    with db.write_batch() as batch:
        for key in db.iterator(include_value=False):
            if key.startswith((b"ic:", b"ix:", b"il:", b"im:", b"ia:", b"m:indexes")):
                batch.delete(key)
    db.close()
    store = LedgerStore(tmp_path / "data", network)
    try:
        assert _index_answers(store) == before
        assert before[0] == ["BRX", "HOUR", "LETS"]
    finally:
        store.close()


def _index_answers(store: LedgerStore) -> tuple[Any, ...]:
    indexes = store.indexes
    codes = indexes.currency_codes()
    return (
        codes,
        {c: indexes.holders(c, limit=100) for c in codes},
        {c: indexes.history(c, limit=100) for c in codes},
        {c: indexes.months(c, limit=12) for c in codes},
        {c: [indexes.last_activity(c, a) for a in indexes.holders(c, limit=100)] for c in codes},
    )


async def test_cors_is_off_by_default_and_allows_configured_origins(community: Community) -> None:
    preflight = {"origin": "https://bank.example", "access-control-request-method": "GET"}
    async with _client(community) as client:
        plain = await client.get("/ledgers", headers={"origin": "https://bank.example"})
    assert "access-control-allow-origin" not in plain.headers
    async with _client(community, cors_origins=["https://bank.example"]) as client:
        allowed = await client.get("/ledgers", headers={"origin": "https://bank.example"})
        other = await client.get("/ledgers", headers={"origin": "https://evil.example"})
        options = await client.options("/events", headers=preflight)
    assert allowed.headers["access-control-allow-origin"] == "https://bank.example"
    assert "access-control-allow-origin" not in other.headers
    assert options.status_code == 200


def test_config_cors_origins(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["node", "init", "--dir", str(tmp_path), "--validator", "--json"])
    assert result.exit_code == 0, result.output
    path = Path(json.loads(result.output)["config"])
    assert load_config(path).cors_origins == (), "CORS is off unless configured"
    text = path.read_text()
    path.write_text(
        text.replace("[api]", '[api]\ncors_origins = ["https://bank.example", "http://127.0.0.1:5173"]')
    )
    assert load_config(path).cors_origins == ("https://bank.example", "http://127.0.0.1:5173")
    for bad in ('"bank.example"', '"https://bank.example/path"', "7"):
        path.write_text(text.replace("[api]", f"[api]\ncors_origins = [{bad}]"))
        with pytest.raises(ConfigError, match=r"\[api\] cors_origins"):
            load_config(path)
