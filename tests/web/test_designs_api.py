"""The endpoints of protocol version 3 on a real node's store: a spend-locally currency's
businesses, a guaranteed currency's reports, exchange agreements with who owes whom, an account's
guardians; and the additive keys of ``GET /currencies/{code}``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import nacl.utils
import pytest
from web_node import Community, lone_node, seed_community

from node.api.app import create_app
from protocol.addresses import encode_account
from protocol.designs.actions import AgreeExchange
from protocol.designs.clearing import clearing_address
from protocol.designs.operations import (
    Accredit,
    ApproveRecovery,
    CreditHours,
    ExchangePay,
    Hop,
    RegisterBusiness,
    SetGuardians,
)
from protocol.designs.terms import Acceptance, CurrencyTerms
from protocol.governance.operations import Propose
from protocol.keys import Keypair
from protocol.ledger import CloseValue, make_tx_set
from protocol.operations import AdmitMember, CreateCurrency, CurrencyKind, Mint, Payment
from protocol.versions import PROTOCOL_V3


class Town:
    def __init__(self, community: Community) -> None:
        self.c = community
        self.city, self.org, self.shop, self.bakery, self.new_key = (
            Keypair(nacl.utils.random(32)) for _ in range(5)
        )


async def _upgrade(community: Community) -> None:
    chain = community.node.chain
    tx_set = make_tx_set(chain.last.hash, [])
    value = CloseValue(tx_set.hash, community.clock_ms, (("protocol_version", PROTOCOL_V3),))
    assert await chain.close(tx_set, value, ()) is not None
    community.clock_ms += 1000
    assert chain.last.version == PROTOCOL_V3


async def _seed(community: Community) -> Town:
    town = Town(community)
    c, steward, issuer = community, community.steward, community.issuer
    alice, bob = c.alice, c.bob
    await _upgrade(c)
    guaranteed = CurrencyTerms(guaranteed=True, accept=Acceptance.PROVIDERS)
    await c.run(
        town.city,
        CreateCurrency("CARE", CurrencyKind.TIME, 2, (town.city.public_key,), 1, 0, 0, 0, None, guaranteed),
    )
    await c.run(
        town.city,
        Accredit("CARE", town.org.public_key, 10_000),
        AdmitMember("CARE", alice.public_key),
        AdmitMember("CARE", bob.public_key),
    )
    await c.run(town.org, CreditHours("CARE", alice.public_key, 300, "visiting Mrs. M"))
    await c.run(alice, Payment(town.org.public_key, "CARE", 100))
    registered = CurrencyTerms(accept=Acceptance.REGISTERED)
    await c.run(
        issuer,
        CreateCurrency("PND", CurrencyKind.ISSUED, 2, (issuer.public_key,), 1, 0, 0, 0, None, registered),
    )
    await c.run(
        issuer,
        RegisterBusiness("PND", town.shop.public_key, "Corner Shop", "groceries", "5 % off"),
        RegisterBusiness("PND", town.bakery.public_key, "Bakery", "food"),
        Mint("PND", alice.public_key, 5000),
    )
    agree_hour = Propose("HOUR", "LETS", b"", (AgreeExchange("LETS", 10, 1, 500, 5000),))
    agree_lets = Propose("LETS", "HOUR", b"", (AgreeExchange("HOUR", 1, 10, 5000, 500),))
    await c.run(steward, agree_hour, agree_lets)
    await c.run(alice, ExchangePay(bob.public_key, 1000, "HOUR", 100, (Hop("LETS", 1),)))
    await c.run(alice, SetGuardians((bob.public_key, c.carol.public_key), 2, 3 * 86_400))
    await c.run(bob, ApproveRecovery(alice.public_key, town.new_key.public_key))
    await c.run(c.carol, ApproveRecovery(alice.public_key, town.new_key.public_key))
    return town


@pytest.fixture
async def town(tmp_path: Path) -> AsyncIterator[Town]:
    async with lone_node(tmp_path) as node:
        yield await _seed(await seed_community(node))


def _client(town: Town) -> httpx.AsyncClient:
    api = town.c.node.api
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(api, explorer=api)), base_url="http://node"
    )


def _address(key: Keypair) -> str:
    return encode_account(key.public_key)


async def test_currencies_show_their_terms(town: Town) -> None:
    async with _client(town) as client:
        care = (await client.get("/currencies/CARE")).json()
        pnd = (await client.get("/currencies/PND")).json()
        hour = (await client.get("/currencies/HOUR")).json()
    assert care["terms"] == {"guaranteed": True, "accept": "providers"}
    assert care["guarantor"] == _address(town.city)
    assert pnd["terms"] == {"guaranteed": False, "accept": "registered"}
    assert hour["terms"] == {"guaranteed": False, "accept": "anyone"}
    assert "guarantor" not in hour


async def test_a_spend_locally_currency_lists_its_businesses(town: Town) -> None:
    async with _client(town) as client:
        answer = (await client.get("/currencies/PND/businesses")).json()
        wrong = await client.get("/currencies/HOUR/businesses")
    names = {item["name"]: item for item in answer["items"]}
    assert set(names) == {"Corner Shop", "Bakery"}
    assert names["Corner Shop"] == {
        "business": _address(town.shop),
        "name": "Corner Shop",
        "category": "groceries",
        "offer": "5 % off",
    }
    assert wrong.status_code == 404


async def test_the_guarantor_and_each_organisation_have_a_report(town: Town) -> None:
    async with _client(town) as client:
        report = (await client.get("/currencies/CARE/credits")).json()
        org = (await client.get(f"/currencies/CARE/credits/{_address(town.org)}")).json()
        stranger = await client.get(f"/currencies/CARE/credits/{_address(town.c.bob)}")
        not_guaranteed = await client.get("/currencies/HOUR/credits")
    assert (report["outstanding"], report["guarantor_balance"], report["credited"]) == (300, -300, 300)
    (only,) = report["organisations"]
    assert only["organisation"] == _address(town.org)
    assert (only["quota"], only["credited"], only["remaining"], only["redeemed"]) == (10_000, 300, 9_700, 100)
    assert org["balance"] == 100
    assert org["credits"] == [
        {
            "ledger": org["credits"][0]["ledger"],
            "close_time_ms": org["credits"][0]["close_time_ms"],
            "tx": org["credits"][0]["tx"],
            "volunteer": _address(town.c.alice),
            "amount": 300,
            "service": "visiting Mrs. M",
        }
    ]
    assert stranger.status_code == 404
    assert not_guaranteed.status_code == 404


async def test_the_exchange_view_says_who_owes_whom(town: Town) -> None:
    async with _client(town) as client:
        everything = (await client.get("/exchange")).json()
        hour = (await client.get("/exchange", params={"currency": "hour"})).json()
        one = (await client.get("/exchange/LETS/HOUR")).json()
        missing = await client.get("/exchange/HOUR/BRX")
    (agreement,) = everything["items"]
    assert agreement == one
    assert (one["a"], one["b"], one["version"], one["in_force"]) == ("HOUR", "LETS", 1, True)
    assert one["rate"] == {"num": 10, "den": 1}
    assert one["limits"] == {"HOUR": 500, "LETS": 5000}
    assert one["clearing"]["HOUR"] == {
        "address": encode_account(clearing_address("HOUR", "LETS")),
        "balance": 100,
    }
    assert one["clearing"]["LETS"]["balance"] == -1000
    assert one["owes"] == {
        "debtor": "HOUR",
        "creditor": "LETS",
        "debtor_amount": 100,
        "creditor_amount": 1000,
    }
    assert (hour["code"], hour["net"]) == ("HOUR", 100)
    assert missing.status_code == 404


async def test_an_account_shows_its_guardians_and_the_recovery_under_way(town: Town) -> None:
    async with _client(town) as client:
        alice = (await client.get(f"/accounts/{_address(town.c.alice)}/recovery")).json()
        bob = (await client.get(f"/accounts/{_address(town.c.bob)}/recovery")).json()
    assert alice["guardians"] == [_address(town.c.bob), _address(town.c.carol)]
    assert (alice["threshold"], alice["delay_s"]) == (2, 3 * 86_400)
    assert alice["recovery"]["new_key"] == _address(town.new_key)
    assert alice["recovery"]["due"] is False
    assert bob == {
        "account": _address(town.c.bob),
        "guardians": [],
        "threshold": 0,
        "delay_s": 0,
        "approvals": [],
        "recovery": None,
    }
