"""The board's own gossip on three real validators over the in-memory network, with A and C cut off
from each other so that everything C gets came through B: a member's listing and its withdrawal
travel A → B → C; a listing from a non-member, an expired one, a forged one, an oversized batch and
listings over the rate limit are refused by B and never reach C."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from pathlib import Path
from typing import Any

import nacl.utils
import pytest
import trio
from memnet import MemoryHub, TestNode, make_validators, start, until
from trio.testing import MockClock

from node.assembly import AssembledNode
from node.board.board import BoardQuery
from node.board.sync import BoardSync
from node.clock import wall_ms
from node.metrics import NodeMetrics
from node.net import GossipVerdict
from node.peer_requests import BadAnswerError, PeerRequests
from protocol.keys import Keypair
from protocol.listings import (
    MAX_BATCH_BYTES,
    Category,
    Listing,
    ListingBody,
    ListingKind,
    build_listing,
    build_withdrawal,
    encode_board_batch,
)
from protocol.operations import AdmitMember, CreateCurrency, CurrencyKind
from protocol.transactions import TransactionBody, build_transaction

TIMEOUT_S = 60
DAY = 86_400_000


async def _members(node: AssembledNode, validators: list[TestNode]) -> tuple[Keypair, Keypair]:
    steward, alice, bob = (Keypair(nacl.utils.random(32)) for _ in range(3))
    ops = (
        CreateCurrency("HOUR", CurrencyKind.TIME, 2, (steward.public_key,), 1, 1000),
        AdmitMember("HOUR", alice.public_key, None),
        AdmitMember("HOUR", bob.public_key, None),
    )
    tx = build_transaction(
        node.api.network_id, TransactionBody(steward.public_key, 1, 10_000, b"", ops), (steward,)
    )
    assert node.api.submit([tx])[0].accepted
    await node.api.wait_for([tx.hash], TIMEOUT_S)
    target = node.chain.last.seq
    await until(
        lambda: all(v.node is not None and v.node.chain.last.seq >= target for v in validators),
        "every validator has the members",
    )
    return alice, bob


def _listing(node: AssembledNode, author: Keypair, now: int, **changes: int) -> Listing:
    body = ListingBody(
        ListingKind.REQUEST, author.public_key, "HOUR", Category.TRANSPORT, "lift", "A lift to the clinic",
        "Tuesday morning, back by noon.", 200, changes.get("created_ms", now),
        changes.get("expires_ms", now + 7 * DAY),
    )  # fmt: skip
    return build_listing(node.api.network_id, body, author)


async def test_board_gossip_relays_members_listings_and_nothing_else(
    tmp_path: Path, virtual_clock: MockClock
) -> None:
    async with trio.open_nursery() as nursery:
        hub = MemoryHub(nursery)
        validators = make_validators(tmp_path, 3)
        for v in validators:
            await start(hub, v)
        a, b, c = (v.node for v in validators)
        assert a is not None
        assert b is not None
        assert c is not None
        ids = [v.peer_id for v in validators]
        alice, bob = await _members(a, validators)
        hub.partition([ids[0]], [ids[2]])  # A and C hear each other only through B
        now = wall_ms()

        good = _listing(a, alice, now)
        assert a.board.submit(good.encode()).verdict.accepted
        await until(lambda: c.board.board.get(good.id) is not None, "C has the listing")
        assert (ids[0], ids[1], GossipVerdict.ACCEPT) in hub.board_verdicts
        assert (ids[1], ids[2], GossipVerdict.ACCEPT) in hub.board_verdicts

        stranger = Keypair(nacl.utils.random(32))
        expired = _listing(a, alice, now, created_ms=now - 10 * DAY, expires_ms=now - DAY)
        forged_item = _listing(a, bob, now - 1)
        forged = Listing(forged_item.body, forged_item.body_bytes, forged_item.id, alice.sign(forged_item.id))
        refused = {
            "not a member": (_listing(a, stranger, now), GossipVerdict.IGNORE),
            "expired": (expired, GossipVerdict.IGNORE),
            "forged": (forged, GossipVerdict.REJECT),
        }
        for item, _ in refused.values():  # straight onto the wire, as a misbehaving node would
            a.peers.transport.publish_board(encode_board_batch([item.encode()]))
        a.peers.transport.publish_board(b"\x92\x01" + b"x" * MAX_BATCH_BYTES)  # oversized
        await until(
            lambda: sum(1 for s, t, _ in hub.board_verdicts if (s, t) == (ids[0], ids[1])) >= 5,
            "B judged the five batches",
        )
        from_a = [verdict for s, t, verdict in hub.board_verdicts if (s, t) == (ids[0], ids[1])]
        assert from_a[1:] == [verdict for _, verdict in refused.values()] + [GossipVerdict.REJECT]

        # a member over the rate limit: B keeps the first ten, passes them on itself, not the rest
        limit = b.board.board.limits.posts_per_hour
        burst = [_listing(a, bob, now + n) for n in range(limit + 2)]
        a.peers.transport.publish_board(encode_board_batch([x.encode() for x in burst]))
        await until(
            lambda: all(c.board.board.get(x.id) is not None for x in burst[:limit]), "C has the burst"
        )
        assert b.board.board.get(burst[limit].id) is None
        await trio.sleep(2 * 1.0)  # virtual: two more flushes of B's board gossip, and nothing else goes out
        assert c.board.board.get(burst[limit].id) is None
        for item, _ in refused.values():
            assert b.board.board.get(item.id) is None
            assert c.board.board.get(item.id) is None
        assert all(s == ids[1] for s, t, _ in hub.board_verdicts if t == ids[2])  # C heard only B

        withdrawal = build_withdrawal(a.api.network_id, alice, good.id, wall_ms())
        assert a.board.submit(withdrawal.encode()).verdict.accepted
        await until(lambda: c.board.board.get(good.id) is None, "C dropped the withdrawn listing")
        assert c.board.board.is_withdrawn(good.id)
        nursery.cancel_scope.cancel()


async def test_a_node_that_was_away_fetches_the_board_from_a_peer(
    tmp_path: Path, virtual_clock: MockClock
) -> None:
    async with trio.open_nursery() as nursery:
        hub = MemoryHub(nursery)
        validators = make_validators(tmp_path, 3, threshold=2)
        for v in validators[:2]:
            await start(hub, v)
        a = validators[0].node
        assert a is not None
        alice, bob = await _members(a, validators[:2])
        now = wall_ms()
        posted = [_listing(a, alice, now - n) for n in range(3)] + [
            _listing(a, bob, now - 10 - n) for n in range(70)
        ]
        a.board.board.limits = dataclasses.replace(a.board.board.limits, per_member=100)
        for item in posted:
            assert a.board.board.submit(item.encode(), now, rate_limited=False).verdict.accepted
        late = validators[2]
        await start(hub, late)  # it was not listening when the listings were gossiped
        assert late.node is not None
        late.node.board.board.limits = dataclasses.replace(late.node.board.board.limits, per_member=100)
        with trio.fail_after(TIMEOUT_S):
            await late.node.board.sync.done.wait()
        held = late.node.board.board
        assert len(held) == len(posted)  # two pages, every listing
        assert all(held.get(item.id) is not None for item in posted)
        nursery.cancel_scope.cancel()


class _Pages:
    """A peer's transport answering board queries with scripted pages."""

    def __init__(self, pages: list[list[bytes]]) -> None:
        self.pages = pages
        self.penalties: list[tuple[str, str]] = []

    async def request(
        self, peer: str, name: str, payload: bytes, *, max_response: int, timeout_s: float = 10.0
    ) -> bytes:
        assert name == "board"
        return encode_board_batch(self.pages.pop(0)) if self.pages else encode_board_batch([])

    def penalize(self, peer: str, reason: str) -> None:
        self.penalties.append((peer, reason))

    def publish(self, data: bytes) -> None: ...
    def publish_board(self, data: bytes) -> None: ...
    def broadcast(self, frame: bytes, *, exclude: Collection[str] = ()) -> None: ...
    def send(self, peer: str, frame: bytes) -> None: ...
    def connected_peers(self) -> list[str]:
        return ["liar"]

    def peers_info(self) -> list[dict[str, Any]]:
        return []


async def test_a_peer_serving_a_forged_or_disordered_board_is_penalised(
    tmp_path: Path, virtual_clock: MockClock
) -> None:
    async with trio.open_nursery() as nursery:
        hub = MemoryHub(nursery)
        (v,) = make_validators(tmp_path, 1)
        node = await start(hub, v)
        alice, bob = await _members(node, [v])
        now = wall_ms()
        good = _listing(node, alice, now)
        older = _listing(node, alice, now - 5)
        forged = Listing(older.body, older.body_bytes, older.id, bob.sign(older.id))
        board = node.board.board
        for pages, admitted in (
            ([[good.encode(), forged.encode()]], [good]),  # a forged signature
            ([[older.encode(), good.encode()]], [good, older]),  # newer after older: out of order
        ):
            transport = _Pages(pages)
            sync = BoardSync(board, transport, PeerRequests(transport, node.api.network_id, NodeMetrics()))
            with pytest.raises(BadAnswerError):
                await sync.fetch("liar")
            assert transport.penalties == [("liar", "bad_board")]
            assert {x.id for x in board.query(BoardQuery())} == {x.id for x in admitted}
        nursery.cancel_scope.cancel()
