"""The endpoints of protocol version 3 on a real node's store: a spend-locally currency's
businesses, a guaranteed currency's reports, exchange agreements with who owes whom, an account's
guardians; and the additive keys of ``GET /currencies/{code}``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from web_node import DesignTown as Town
from web_node import lone_node, seed_community, seed_designs

from node.api.app import create_app
from protocol.addresses import encode_account
from protocol.designs.clearing import clearing_address
from protocol.keys import Keypair


@pytest.fixture
async def town(tmp_path: Path) -> AsyncIterator[Town]:
    async with lone_node(tmp_path) as node:
        yield await seed_designs(await seed_community(node))


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
