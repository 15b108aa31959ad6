"""The governance pages on a real node's store: a currency's proposals (open first, then decided,
paged), one proposal with its count, what it needs to pass, its deadline and the ledger that
decided it; the count's live fragment; the currency page's rules of governance and commons fund;
governance operations in plain words on transaction pages; bad proposal ids."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from page_text import untranslated, visible_text
from web_node import Community, fetch_page, lone_node, seed_community

from node.api.app import create_app
from protocol.addresses import encode_account
from protocol.governance.actions import PayFromFund, SetDefaultCreditLimit, SetLevy, SetMaxBalance
from protocol.governance.fund import fund_address
from protocol.governance.operations import CastVote, Propose, VoteChoice
from protocol.governance.rules import AdmissionPolicy, GovernancePolicy, GovernanceRules
from protocol.operations import AdmitMember, CreateCurrency, CurrencyKind, Payment
from protocol.transactions import Transaction
from protocol.versions import PROTOCOL_V2

YES, ABSTAIN = VoteChoice.YES, VoteChoice.ABSTAIN
VOTING_S = 3 * 3600  # the community closes a ledger every hour: a vote spans three ledgers


@dataclass
class Town:
    c: Community
    propose: Transaction  # alice's proposal DEMOS-4, still open
    vote: Transaction  # bob's yes on DEMOS-4


async def _seed(c: Community) -> Town:
    """DEMOS, governed by its two members (votes last 3 h, quorum 50 %, majority 50 %, admission
    by two vouches): DEMOS-1 passed (a higher default limit and 2.00 from the fund to bob),
    DEMOS-2 failed (another 2.00 from the fund, which then held 0.50), DEMOS-3 rejected (nobody
    voted), DEMOS-4 open with bob's yes. HOUR's stewards raised its ceiling (HOUR-1)."""
    await c.upgrade(PROTOCOL_V2)
    rules = GovernanceRules(GovernancePolicy.MEMBERS, VOTING_S, 50, 50, AdmissionPolicy.VOUCH, 2)
    steward, alice, bob = c.steward, c.alice, c.bob
    await c.run(
        steward,
        CreateCurrency("DEMOS", CurrencyKind.MUTUAL, 2, (steward.public_key,), 1, 1000, 0, 0, rules),
    )
    await c.run(steward, *(AdmitMember("DEMOS", m.public_key) for m in (alice, bob)))
    await c.run(alice, Payment(fund_address("DEMOS"), "DEMOS", 250))
    more = Propose(
        "DEMOS", "More credit", b"\x01" * 32, (SetDefaultCreditLimit(2000), PayFromFund(bob.public_key, 200))
    )
    gardener = Propose("DEMOS", "Pay the gardener", b"", (PayFromFund(alice.public_key, 200),))
    await c.run(alice, more)
    await c.run(bob, gardener)
    await c.run_all([c.build(m, CastVote("DEMOS", 1, YES), CastVote("DEMOS", 2, YES)) for m in (alice, bob)])
    await c.run(alice, Propose("DEMOS", "A levy", b"", (SetLevy(10_000),)))  # DEMOS-1 counted
    await c.run(steward, Propose("HOUR", "A ceiling", b"", (SetMaxBalance(5000),)))  # DEMOS-2 counted
    propose = await c.run(alice, Propose("DEMOS", "<b>Bold</b> idea", b"", (SetDefaultCreditLimit(3000),)))
    vote = await c.run(bob, CastVote("DEMOS", 4, YES))  # DEMOS-3 counted first
    return Town(c, propose, vote)  # fmt: skip


@pytest.fixture
async def town(tmp_path: Path) -> AsyncIterator[Town]:
    async with lone_node(tmp_path) as node:
        yield await _seed(await seed_community(node))


async def _page(town: Town, path: str, status: int = 200) -> str:
    return await fetch_page(town.c.node, path, status)


_text = visible_text


async def test_an_open_proposal_shows_its_count_and_what_passing_needs(town: Town) -> None:
    html = await _page(town, "/web/proposals/demos-4")
    text = _text(html)
    assert "Proposal DEMOS-4" in text
    assert "&lt;b&gt;Bold&lt;/b&gt; idea" in html, "the title stays text"
    assert "Set the default credit limit to 30.00 DEMOS" in text
    assert encode_account(town.c.alice.public_key) in text
    assert "2 members" in text  # the electorate: alice and bob
    assert "1 yes, 0 no, 0 abstaining, of 2 members" in text
    assert "50 % of the members must take part (abstaining counts): 1 of 2" in text
    assert "If the votes were counted now, it would pass." in text
    assert re.search(r"Deadline 2026-03-\d\d \d\d:\d\d UTC \(\d+ d( \d+ h)? ago\)", text)
    assert 'data-live-refresh="/web/fragments/proposals/DEMOS-4"' in html
    assert 'data-events="/events?currency=DEMOS&amp;ledgers=1&amp;last_event_id=' in html
    assert 'class="votes"' in html
    assert "<title" in html
    assert "tally proposal vote DEMOS-4 yes|no|abstain" in text


async def test_decided_proposals_say_how_they_ended_and_where(town: Town) -> None:
    passed = _text(await _page(town, "/web/proposals/DEMOS-1"))
    assert "passed" in passed
    assert f"Pay 2.00 DEMOS from the commons fund to {encode_account(town.c.bob.public_key)}" in passed
    assert "It reached the quorum and the majority, and every action ran." in passed
    assert "What it did" in passed
    assert "01" * 32 in passed, "the longer text's hash"
    proposal = town.c.node.api.reads  # the ledger that counted it: the first at or after its deadline
    seq = proposal.ledger_closed_at_or_after(_deadline(town, 1))
    assert seq is not None
    header = town.c.node.chain.store.header(seq)
    previous = town.c.node.chain.store.header(seq - 1)
    assert header is not None
    assert previous is not None
    assert previous.close_time_ms < _deadline(town, 1) <= header.close_time_ms
    assert f"Counted in ledger {seq}" in passed
    failed = _text(await _page(town, "/web/proposals/DEMOS-2"))
    assert "Set the levy to 1 % of each payment" in _text(await _page(town, "/web/proposals/DEMOS-3"))
    assert "It passed, but action 1 could not run, so nothing changed:" in failed
    assert "the commons fund cannot pay this much" in failed
    rejected = _text(await _page(town, "/web/proposals/DEMOS-3"))
    assert "Too few members voted: it did not reach the quorum." in rejected
    assert "not reached" in rejected
    stewards = await _page(town, "/web/proposals/HOUR-1")
    assert "Enough stewards signed it, so its actions ran at once." in _text(stewards)
    assert "data-live-refresh" not in stewards


async def test_the_api_names_the_ledger_that_decided_a_proposal(town: Town) -> None:
    api = town.c.node.api
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(api, explorer=api)), base_url="http://node"
    ) as client:
        decided = (await client.get("/proposals/DEMOS-1")).json()
        still_open = (await client.get("/proposals/DEMOS-4")).json()
        listed = (await client.get("/proposals", params={"currency": "DEMOS"})).json()
    assert decided["decided_ledger"] == api.reads.ledger_closed_at_or_after(_deadline(town, 1))
    assert still_open["decided_ledger"] is None
    assert [item["decided_ledger"] is None for item in listed["items"]] == [True, False, False, False]


def _deadline(town: Town, number: int) -> int:
    from node.governance_reads import GovernanceReads

    found = GovernanceReads(town.c.node.store).proposal("DEMOS", number)
    assert found is not None
    return found.deadline_ms


async def test_the_proposals_page_lists_open_ones_first_then_decided_paged(
    town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    from node.web import governance_pages

    monkeypatch.setattr(governance_pages, "DECIDED_PAGE", 2)
    first = await _page(town, "/web/proposals?currency=DEMOS")
    assert first.index("DEMOS-4") < first.index("DEMOS-3") < first.index("DEMOS-2")
    assert "DEMOS-1" not in first
    assert "would pass" in _text(first)
    older = re.search(r'href="/web/proposals\?currency=DEMOS&amp;before=(\d+)"', first)
    assert older is not None
    second = await _page(town, f"/web/proposals?currency=DEMOS&before={older.group(1)}")
    assert "DEMOS-1" in second
    assert "DEMOS-4" not in second, "open proposals head the first page only"
    everywhere = _text(await _page(town, "/web/proposals"))
    assert "DEMOS-4" in everywhere
    assert "Proposals in HOUR (0 open of 1)" in everywhere


async def test_the_count_fragment_is_the_same_markup_as_the_page(town: Town) -> None:
    fragment = await _page(town, "/web/fragments/proposals/DEMOS-4")
    page = await _page(town, "/web/proposals/DEMOS-4")
    assert fragment.strip().startswith('<p class="outcome open">')
    assert fragment.strip() in page


async def test_a_vote_changes_the_fragment(town: Town) -> None:
    before = _text(await _page(town, "/web/fragments/proposals/DEMOS-4"))
    await town.c.run(town.c.alice, CastVote("DEMOS", 4, ABSTAIN))
    after = _text(await _page(town, "/web/fragments/proposals/DEMOS-4"))
    assert "1 yes, 0 no, 0 abstaining" in before
    assert "1 yes, 0 no, 1 abstaining" in after


async def test_the_currency_page_shows_who_decides_and_the_fund(town: Town) -> None:
    text = _text(await _page(town, "/web/currencies/DEMOS"))
    assert "The members decide by vote, one member one vote: a vote lasts 3 h" in text
    assert "a newcomer joins when 2 members vouch for them" in text
    assert "holds 0.50 DEMOS; it may owe up to 0.00 DEMOS" in text
    assert encode_account(fund_address("DEMOS")) in text
    assert "Levy none" in text  # DEMOS-3 was rejected
    assert "1 open of 4" in text
    hour = _text(await _page(town, "/web/currencies/HOUR"))
    assert "1 of 1 stewards must sign" in hour
    assert "the stewards admit newcomers" in hour
    assert "0 open of 1" in hour


async def test_governance_operations_read_in_plain_words(town: Town) -> None:
    propose = _text(await _page(town, f"/web/tx/{town.propose.hash.hex()}"))
    assert "Proposed to DEMOS:" in propose
    assert "Set the default credit limit to 30.00 DEMOS" in propose
    vote = await _page(town, f"/web/tx/{town.vote.hash.hex()}")
    assert "Voted yes on proposal DEMOS-4" in _text(vote)
    assert 'href="/web/proposals/DEMOS-4"' in vote
    arabic = _text(await _page(town, f"/web/tx/{town.vote.hash.hex()}?lang=ar"))
    assert "صوّت بنعم على المقترح DEMOS-4" in arabic
    for raw in ("propose", "vote", "cast_vote"):
        assert f" {raw} " not in propose + _text(vote)


async def test_governance_pages_in_arabic_show_no_english(town: Town) -> None:
    paths = [
        "/web/proposals",
        "/web/proposals?currency=DEMOS",
        *(f"/web/proposals/DEMOS-{n}" for n in range(1, 5)),
        "/web/proposals/HOUR-1",
        "/web/currencies/DEMOS",
        f"/web/tx/{town.propose.hash.hex()}",
        f"/web/tx/{town.vote.hash.hex()}",
    ]
    for path in paths:
        html = await _page(town, path + ("&" if "?" in path else "?") + "lang=ar")
        assert untranslated(html) == [], path
    assert untranslated(await _page(town, "/web/proposals/DEMOS-99?lang=ar", 404)) == []


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/web/proposals/DEMOS", 400, "like HOUR-3"),
        ("/web/proposals/" + "A" * 300 + "-1", 400, "like HOUR-3"),
        ("/web/proposals/DEMOS-0", 400, "like HOUR-3"),
        ("/web/proposals/DEMOS-99", 404, "There is no proposal DEMOS-99"),
        ("/web/proposals?currency=NOPE", 404, "There is no currency NOPE"),
        ("/web/proposals?currency=DEMOS&before=x", 400, "This page link is not valid."),
        ("/web/fragments/proposals/NOPE-1", 404, "There is no proposal NOPE-1"),
    ],
)
async def test_bad_proposal_links_get_an_error_page(town: Town, path: str, status: int, words: str) -> None:
    assert words in _text(await _page(town, path, status))
