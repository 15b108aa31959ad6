"""Regression (found by scripts/chaos): a restarted validator, behind its peers, re-sent its own
statements for its stale slot every 4 s while catching up; peers had seen them long ago and
scored each copy as a replay, pushing an honest validator towards a ban. Behind (peers vote on
later slots), the stuck-slot timer no longer re-sends our stale votes; level, it still does."""

from __future__ import annotations

from pathlib import Path

import nacl.utils
import trio
from peerless_transport import PeerlessTransport, lone_validator_config

from consensus import Nominate, QuorumSet, Statement, encode_statement
from node.assembly import assemble_node
from node.metrics import NodeMetrics
from node.wire import SignedEnvelope, decode_frame, encode_envelope_frame, sign_envelope
from protocol.keys import Keypair
from protocol.ledger import CloseValue, make_tx_set


async def test_stale_own_votes_are_not_resent_while_behind(tmp_path: Path) -> None:
    keys = [Keypair(nacl.utils.random(32)) for _ in range(4)]
    qset = QuorumSet(3, tuple(k.public_key for k in keys))
    config = lone_validator_config(tmp_path, qset, close_interval_ms=100, heartbeat_interval_ms=60_000)
    transport = PeerlessTransport()
    node = assemble_node(config=config, keypair=keys[0], transport=transport, metrics=NodeMetrics())
    herder = node.herder
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            await nursery.start(node.serve)
            slot = herder.slot
            tx_set = make_tx_set(node.chain.last.hash, [])
            node.chain.tx_sets.add(tx_set)
            value = CloseValue(tx_set.hash, node.chain.last.close_time_ms + 1, ()).encode()
            own = Statement(keys[0].public_key, slot, qset.hash, Nominate((value,), ()))
            envelope = sign_envelope(config.network_id, encode_statement(own), keys[0])
            herder.scp.restore([own])  # as after a restart
            herder._signed.setdefault(slot, {})[envelope.statement] = envelope
            herder._nominating = True
            own_frame = encode_envelope_frame(envelope)

            transport.frames.clear()
            herder._stuck(slot)
            assert own_frame in transport.frames  # level with the network: re-sent

            ahead = Statement(keys[1].public_key, slot + 10, qset.hash, Nominate((value,), ()))
            frame = encode_envelope_frame(sign_envelope(config.network_id, encode_statement(ahead), keys[1]))
            parsed = decode_frame(frame)
            assert isinstance(parsed, SignedEnvelope)
            herder.receive_envelope(parsed, "peer")
            transport.frames.clear()
            herder._stuck(slot)
            assert own_frame not in transport.frames  # behind: our stale votes stay home
            nursery.cancel_scope.cancel()
    node.store.close()
