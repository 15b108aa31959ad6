"""The board's own gossip on three real validators over the in-memory network, with A and C cut off
from each other so that everything C gets came through B: a member's listing and its withdrawal
travel A → B → C; a listing from a non-member, an expired one, a forged one, an oversized batch and
listings over the rate limit are refused by B and never reach C."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import nacl.utils
import trio
from memnet import MemoryHub, TestNode, make_validators, start

from node.assembly import AssembledNode
from node.clock import wall_ms
from node.net import GossipVerdict
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


async def _until(predicate: Callable[[], bool]) -> None:
    with trio.fail_after(TIMEOUT_S):
        while not predicate():  # noqa: ASYNC110 - node state has no single event to wait on
            await trio.sleep(0.02)


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
    await _until(lambda: all(v.node is not None and v.node.chain.last.seq >= target for v in validators))
    return alice, bob


def _listing(node: AssembledNode, author: Keypair, now: int, **changes: int) -> Listing:
    body = ListingBody(
        ListingKind.REQUEST, author.public_key, "HOUR", Category.TRANSPORT, "lift", "A lift to the clinic",
        "Tuesday morning, back by noon.", 200, changes.get("created_ms", now),
        changes.get("expires_ms", now + 7 * DAY),
    )  # fmt: skip
    return build_listing(node.api.network_id, body, author)


async def test_board_gossip_relays_members_listings_and_nothing_else(tmp_path: Path) -> None:
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
        await _until(lambda: c.board.board.get(good.id) is not None)
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
        await _until(lambda: sum(1 for s, t, _ in hub.board_verdicts if (s, t) == (ids[0], ids[1])) >= 5)
        from_a = [verdict for s, t, verdict in hub.board_verdicts if (s, t) == (ids[0], ids[1])]
        assert from_a[1:] == [verdict for _, verdict in refused.values()] + [GossipVerdict.REJECT]

        # a member over the rate limit: B keeps the first ten, passes them on itself, not the rest
        limit = b.board.board.limits.posts_per_hour
        burst = [_listing(a, bob, now + n) for n in range(limit + 2)]
        a.peers.transport.publish_board(encode_board_batch([x.encode() for x in burst]))
        await _until(lambda: all(c.board.board.get(x.id) is not None for x in burst[:limit]))
        assert b.board.board.get(burst[limit].id) is None
        await trio.sleep(2 * 1.0)  # two more flushes of B's board gossip: nothing else goes out
        assert c.board.board.get(burst[limit].id) is None
        for item, _ in refused.values():
            assert b.board.board.get(item.id) is None
            assert c.board.board.get(item.id) is None
        assert all(s == ids[1] for s, t, _ in hub.board_verdicts if t == ids[2])  # C heard only B

        withdrawal = build_withdrawal(a.api.network_id, alice, good.id, wall_ms())
        assert a.board.submit(withdrawal.encode()).verdict.accepted
        await _until(lambda: c.board.board.get(good.id) is None)
        assert c.board.board.is_withdrawn(good.id)
        nursery.cancel_scope.cancel()
