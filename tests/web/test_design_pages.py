"""The pages of the currency designs on a real node's store (``seed_designs``): a spend-locally
currency's businesses, guaranteed credits with the guarantor's and an organisation's report, the
exchange agreements with who owes whom and a community's net, an account's guardians and the key
recovery under way; the currency page's summary; design operations on transaction pages; Arabic;
bad links."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from page_text import untranslated, visible_text
from web_node import DesignTown, fetch_page, lone_node, seed_community, seed_designs

from protocol.addresses import encode_account
from protocol.designs.clearing import clearing_address
from protocol.keys import Keypair


@pytest.fixture
async def town(tmp_path: Path) -> AsyncIterator[DesignTown]:
    async with lone_node(tmp_path) as node:
        yield await seed_designs(await seed_community(node))


async def _page(town: DesignTown, path: str, status: int = 200) -> str:
    return await fetch_page(town.c.node, path, status)


_text = visible_text


def _address(key: Keypair) -> str:
    return encode_account(key.public_key)


async def test_a_spend_locally_currency_lists_its_businesses(town: DesignTown) -> None:
    text = _text(await _page(town, "/web/currencies/PND/businesses"))
    for words in (
        "Corner Shop",
        "groceries",
        "5 % off",
        _address(town.shop),
        "Bakery",
        _address(town.bakery),
    ):
        assert words in text
    currency = _text(await _page(town, "/web/currencies/PND"))
    assert "only registered businesses (2 now)" in currency
    assert "The registered businesses" in currency
    assert "There is no" not in _text(await _page(town, "/web/currencies/pnd/businesses"))
    await _page(town, "/web/currencies/HOUR/businesses", 404)


async def test_guaranteed_credits_show_the_guarantor_liability_and_organisations(town: DesignTown) -> None:
    text = _text(await _page(town, "/web/currencies/CARE/credits"))
    assert _address(town.city) in text
    assert "Outstanding credits 3.00 h" in text
    assert _address(town.org) in text
    for figure in ("100.00 h", "97.00 h", "1.00 h", "accredited"):  # quota, left, redeemed
        assert figure in text
    org = _text(await _page(town, f"/web/currencies/CARE/credits/{_address(town.org)}"))
    assert "visiting Mrs. M" in org
    assert _address(town.c.alice) in org
    currency = _text(await _page(town, "/web/currencies/CARE"))
    assert f"{_address(town.city)} guarantees these time credits" in currency
    assert "Outstanding credits, its liability: 3.00 h, from 1 accredited organisations" in currency
    assert "only accredited care providers" in currency
    await _page(town, "/web/currencies/HOUR/credits", 404)
    await _page(town, f"/web/currencies/CARE/credits/{_address(town.c.bob)}", 404)


async def test_exchange_agreements_say_who_owes_whom_and_the_net(town: DesignTown) -> None:
    text = _text(await _page(town, "/web/currencies/HOUR/exchange"))
    assert "1.00 h is worth 10.00 LETS" in text
    assert "in force" in text
    assert (
        "The community of HOUR owes the community of LETS: the clearing account of HOUR holds 1.00 h "
        "its members paid in, and that of LETS paid out 10.00 LETS to its members."
    ) in text
    assert "In all, the community of HOUR owes its partners 1.00 h" in text
    assert encode_account(clearing_address("HOUR", "LETS")) in text
    assert "5.00 h" in text  # HOUR's limit
    lets = _text(await _page(town, "/web/currencies/LETS/exchange"))
    assert "In all, its partners owe the community of LETS 10.00 LETS" in lets
    everything = _text(await _page(town, "/web/exchange"))
    assert "1.00 h is worth 10.00 LETS" in everything
    assert "In all" not in everything
    hour = _text(await _page(town, "/web/currencies/HOUR"))
    assert "1 agreement." in hour
    assert "Rates, limits and who owes whom" in hour


async def test_an_account_shows_its_guardians_and_the_recovery_under_way(town: DesignTown) -> None:
    alice = _text(await _page(town, f"/web/accounts/{_address(town.c.alice)}"))
    assert "2 of these 2 guardians can replace this account's key, 3 d after they agree" in alice
    assert _address(town.c.bob) in alice
    assert f"the new key {_address(town.new_key)} may take over from 2026-03-" in alice
    assert "unless this account's present key cancels it first" in alice
    bob = _text(await _page(town, f"/web/accounts/{_address(town.c.bob)}"))
    assert "This account names no guardians" in bob


async def test_design_operations_read_in_plain_words(town: DesignTown) -> None:
    history = _text(await _page(town, f"/web/accounts/{_address(town.org)}"))
    assert "Credited 3.00 h for visiting Mrs. M" in history
    alice = _text(await _page(town, f"/web/accounts/{_address(town.c.alice)}"))
    assert "Exchange payment of 10.00 LETS, paying at most 1.00 h" in alice
    assert "Named guardians: 2 of these 2 may replace the account's key, 3 d after they agree" in alice
    shop = _text(await _page(town, f"/web/accounts/{_address(town.shop)}"))
    assert f"Registered {_address(town.shop)} in PND as Corner Shop, groceries; offer: 5 % off" in shop
    steward = _text(await _page(town, f"/web/accounts/{_address(town.c.steward)}"))
    assert "Agree to exchange with LETS at this rate: 1.00 h is worth 10.00 LETS" in steward
    assert "Agree to exchange with HOUR at this rate: 1.00 LETS is worth 0.10 h" in steward
    assert "credit_hours" not in history + alice + shop


async def test_design_pages_in_arabic_show_no_english(town: DesignTown) -> None:
    paths = [
        "/web/currencies/PND/businesses",
        "/web/currencies/PND",
        "/web/currencies/CARE/credits",
        f"/web/currencies/CARE/credits/{_address(town.org)}",
        "/web/currencies/CARE",
        "/web/currencies/HOUR/exchange",
        "/web/currencies/LETS/exchange",
        "/web/exchange",
        f"/web/accounts/{_address(town.c.alice)}",
        f"/web/accounts/{_address(town.org)}",
        f"/web/accounts/{_address(town.shop)}",
    ]
    for path in paths:
        assert untranslated(await _page(town, path + "?lang=ar")) == [], path
    assert untranslated(await _page(town, "/web/currencies/HOUR/credits?lang=ar", 404)) == []
