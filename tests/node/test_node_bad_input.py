"""Bad input from a peer, against real validators on libp2p: a P2PNetwork we control connects to
them and sends malformed, oversize, wrongly signed, replayed and wrong-network SCP envelopes and
tx batches. Each is dropped with a ``tally_invalid_messages{reason}`` sample and a log line, the
peer that keeps at it is banned and disconnected, and the validators keep closing ledgers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import nacl.utils
import pytest
import trio
from libp2p.peer.id import ID
from realnet import InProcessNet, tx, until_async

from consensus import decode_statement
from node import testnet as tn
from node import wire
from node.errors import NodeError
from node.keyfile import read_key_file
from node.metrics import NodeMetrics
from node.net import FRAME_PROTOCOL, GossipVerdict, NetConfig, P2PNetwork
from node.net.framing import LENGTH
from node.runtime import topic_for
from node.setup import KEY_NAME
from protocol import codec
from protocol.hashing import network_id
from protocol.keys import Keypair
from protocol.operations import CreateCurrency, CurrencyKind

pytestmark = pytest.mark.slow  # real validators and an attacker on libp2p

if TYPE_CHECKING:
    from trio_typing import TaskStatus

LIMIT_S = 60


class Attacker:
    """NetHandlers of the misbehaving peer: records what it hears (to replay it)."""

    def __init__(self) -> None:
        self.frames: list[tuple[bytes, str]] = []

    async def on_tx_batch(self, data: bytes, peer: str) -> GossipVerdict:
        return GossipVerdict.ACCEPT

    async def on_board_batch(self, data: bytes, peer: str) -> GossipVerdict:
        return GossipVerdict.IGNORE

    async def on_frame(self, data: bytes, peer: str) -> None:
        self.frames.append((data, peer))

    async def on_request(self, name: str, payload: bytes, peer: str) -> bytes:
        raise NodeError("not answering")  # a refusal is no offence: the victim is not provoked


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def reasons(self) -> set[str]:
        return {str(getattr(r, "fields", {}).get("reason")) for r in self.records}


@pytest.fixture
def records() -> Iterator[Records]:
    handler = Records()
    tally = logging.getLogger("tally")
    old_level = tally.level
    tally.addHandler(handler)
    tally.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        tally.removeHandler(handler)
        tally.setLevel(old_level)


async def test_bad_input_is_dropped_counted_logged_and_the_sender_banned(
    tmp_path: Path, records: Records
) -> None:
    testnet = tn.create(
        tmp_path / "net",
        validators=4,
        watchers=0,
        threshold=3,
        close_interval_ms=200,
        heartbeat_interval_ms=60_000,
    )
    with trio.fail_after(LIMIT_S):
        async with httpx.AsyncClient(timeout=10) as client, trio.open_nursery() as nursery:
            net = InProcessNet(nursery, testnet, client)
            await net.start_all()
            v0, v1 = net.validators[:2]
            network = network_id(tn.PASSPHRASE)
            # Two misbehaving peers: one sends junk frames (and is then banned), the other junk
            # gossip, so neither is banned before every kind of bad input was seen.
            handlers = Attacker()
            attacker = await _start_peer(nursery, handlers, (v0.multiaddr, v1.multiaddr), network)
            gossiper = await _start_peer(nursery, Attacker(), (v0.multiaddr,), network)
            await attacker.wait_ready([v0.peer_id, v1.peer_id], timeout_s=LIMIT_S)
            await gossiper.wait_ready([v0.peer_id], timeout_s=LIMIT_S)

            # A ledger closes meanwhile; the attacker hears v1's SCP envelopes (to replay them).
            steward = Keypair(nacl.utils.random(32))
            create = tx(
                network,
                steward,
                1,
                CreateCurrency("HOUR", CurrencyKind.TIME, 2, (steward.public_key,), 1, 10),
            )
            assert (await net.submit(v0, [create], wait_s=LIMIT_S))[0]["status"] == "applied"
            await until_async(lambda: _async(_envelopes_from(handlers, v1.peer_id)))
            v1_envelope = _envelopes_from(handlers, v1.peer_id)[0]
            v1_key = read_key_file(Path(v1.folder) / KEY_NAME)

            async def expect(reason: str, message: str = "") -> None:
                """Counted under ``reason`` and logged (with that reason, or as ``message``)."""
                await until_async(lambda: _reason_counted(net, v0, reason))
                assert reason in records.reasons() or message in {r.getMessage() for r in records.records}

            # malformed frame
            attacker.send(v0.peer_id, b"\xc1 not msgpack")
            await expect("bad_frame", "invalid frame")
            # a frame well within the stream cap but over the envelope size limit
            statement = v1_envelope.statement
            big = codec.pack(
                (wire.FRAME_ENVELOPE, (wire.ENVELOPE_V1, b"x" * (wire.MAX_ENVELOPE_BYTES + 10), b"s" * 64))
            )
            before = await net.metric(v0, "tally_invalid_messages_total", {"reason": "bad_frame"})
            attacker.send(v0.peer_id, big)
            await until_async(lambda: _above(net, v0, "bad_frame", before))
            # wrongly signed: v1's statement with a signature that is not v1's
            forged = wire.SignedEnvelope(statement, bytes(64))
            attacker.send(v0.peer_id, wire.encode_envelope_frame(forged))
            await expect("bad_signature")
            # wrong network: v1 really signed it, but for another network
            other = wire.sign_envelope(network_id("Another test network"), statement, v1_key)
            before = await net.metric(v0, "tally_invalid_messages_total", {"reason": "bad_signature"})
            attacker.send(v0.peer_id, wire.encode_envelope_frame(other))
            await until_async(lambda: _above(net, v0, "bad_signature", before))
            # replayed: v1's genuine envelope of a slot long closed (a few more ledgers first)
            for seq in range(2, 6):
                filler = tx(
                    network,
                    steward,
                    seq,
                    CreateCurrency(f"F{seq}", CurrencyKind.TIME, 2, (steward.public_key,), 1, 10),
                )
                assert (await net.submit(v0, [filler], wait_s=LIMIT_S))[0]["status"] == "applied"
            assert decode_statement(v1_envelope.statement).slot < await net.seq(v0) - 3
            attacker.send(v0.peer_id, wire.encode_envelope_frame(v1_envelope))
            await expect("replay")
            # malformed tx batch on gossip
            gossiper.publish(b"\x92\x01\xc1 junk batch")
            await expect("bad_tx_batch", "invalid tx batch")
            # oversize tx batch: over the batch limit, though under the stream's frame cap
            before = await net.metric(v0, "tally_invalid_messages_total", {"reason": "bad_tx_batch"})
            gossiper.publish(codec.pack((1, tuple(bytes([i]) * 30_000 for i in range(150)))))
            await until_async(lambda: _above(net, v0, "bad_tx_batch", before))
            # a batch with a wrong-network transaction (its signature cannot verify here)
            stranger = Keypair(nacl.utils.random(32))
            foreign = tx(
                network_id("Another test network"),
                stranger,
                1,
                CreateCurrency("EVIL", CurrencyKind.TIME, 2, (stranger.public_key,), 1, 10),
            )
            gossiper.publish(wire.encode_tx_batch([foreign.encode()]))
            await expect("bad_tx_signature")
            status = (await client.get(f"{v0.api}/tx/{foreign.hash.hex()}")).json()["status"]
            assert status != "pending"

            # Oversize at the framing level (length prefix above the cap), then it keeps going
            # with junk until v0 bans it.
            try:
                stream = await attacker.host.new_stream(ID.from_base58(v0.peer_id), [FRAME_PROTOCOL])
                await stream.write(LENGTH.pack(64 * 1024 * 1024) + b"junk")
                await stream.close()
            except Exception:
                pass  # already disconnected
            await expect("frame_oversize")

            async def banned() -> bool:
                peers = {p["peer_id"]: p for p in (await net.get(v0, "/peers"))["peers"]}
                entry = peers.get(attacker.peer_id)
                if entry is not None and entry["banned_for_s"] > 0 and not entry["connected"]:
                    return True
                attacker.send(v0.peer_id, b"\xc1 still junk")
                return False

            await until_async(banned)
            assert await net.metric(v0, "tally_peer_bans_total") >= 1
            assert any(r.getMessage() == "peer banned" for r in records.records)

            # The validators were never disturbed: a payment-free ledger still closes everywhere.
            more = tx(
                network,
                steward,
                6,
                CreateCurrency("LETS", CurrencyKind.MUTUAL, 2, (steward.public_key,), 1, 10),
            )
            result = (await net.submit(v0, [more], wait_s=LIMIT_S))[0]
            assert result["status"] == "applied", result
            await net.until_all_reach(net.validators, result["ledger"])
            await net.agree_at(net.validators, result["ledger"])
            # v1 did not take a replayed copy of its own envelope as its fault
            assert await net.metric(v1, "tally_peer_bans_total") == 0
            nursery.cancel_scope.cancel()


async def _start_peer(
    nursery: trio.Nursery, handlers: Attacker, bootstrap: tuple[str, ...], network: bytes
) -> P2PNetwork:
    peer = P2PNetwork(
        NetConfig(seed=nacl.utils.random(32), bootstrap=bootstrap, topic=topic_for(network)),
        NodeMetrics(),
    )

    async def run(task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await peer.serve(handlers, task_status=task_status)

    await nursery.start(run)
    return peer


async def _async(value: object) -> bool:
    return bool(value)


def _envelopes_from(handlers: Attacker, peer: str) -> list[wire.SignedEnvelope]:
    found = []
    for data, sender in handlers.frames:
        if sender != peer:
            continue
        frame = wire.decode_frame(data)
        if isinstance(frame, wire.SignedEnvelope):
            decode_statement(frame.statement)
            found.append(frame)
    return found


async def _reason_counted(net: InProcessNet, entry: tn.NodeEntry, reason: str) -> bool:
    return await net.metric(entry, "tally_invalid_messages_total", {"reason": reason}) >= 1


async def _above(net: InProcessNet, entry: tn.NodeEntry, reason: str, before: float) -> bool:
    return await net.metric(entry, "tally_invalid_messages_total", {"reason": reason}) > before


class Liar(Attacker):
    """Claims a ledger far ahead and never answers a request for it."""

    async def on_request(self, name: str, payload: bytes, peer: str) -> bytes:
        await trio.sleep_forever()
        raise AssertionError("unreachable")


async def test_a_peer_lying_about_its_ledger_does_not_stall_catch_up(tmp_path: Path) -> None:
    testnet = tn.create(
        tmp_path / "net",
        validators=4,
        watchers=0,
        threshold=3,
        close_interval_ms=200,
        heartbeat_interval_ms=60_000,
    )
    with trio.fail_after(LIMIT_S):
        async with httpx.AsyncClient(timeout=10) as client, trio.open_nursery() as nursery:
            net = InProcessNet(nursery, testnet, client)
            await net.start_all()
            v0, v3 = net.validators[0], net.validators[3]
            network = network_id(tn.PASSPHRASE)
            await net.stop(v3.name)
            steward = Keypair(nacl.utils.random(32))
            for seq in range(1, 4):
                made = tx(
                    network,
                    steward,
                    seq,
                    CreateCurrency(f"C{seq}", CurrencyKind.TIME, 2, (steward.public_key,), 1, 10),
                )
                assert (await net.submit(v0, [made], wait_s=LIMIT_S))[0]["status"] == "applied"
            top = await net.seq(v0)
            liar = await _start_peer(nursery, Liar(), (v3.multiaddr,), network)
            claim = wire.encode_ledger_closed_frame(10**6, bytes(32))

            async def keep_claiming() -> None:
                while True:
                    liar.broadcast(claim)
                    await trio.sleep(0.1)

            nursery.start_soon(keep_claiming)
            await net.start(v3.name)
            # A catch-up request to the liar would hang for its whole timeout (20 s): the
            # restarted node must fetch from its quorum's validators first.
            with trio.fail_after(10):
                await net.until_all_reach([v3], top)
            await net.agree_at([v0, v3], top)
            nursery.cancel_scope.cancel()
