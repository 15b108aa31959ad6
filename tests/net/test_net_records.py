"""node.net.compat.records: the signed peer record GossipSub sends and checks with every RPC is
built and verified once, not per RPC, and never accepted without a full check the first time.

No host is started: real libp2p hosts are only constructed (their keys and addresses), and the
records are real signed envelopes."""

from __future__ import annotations

import hashlib
import os

from libp2p.abc import IHost
from libp2p.peer.id import ID
from libp2p.peer.peerstore import env_to_send_in_RPC
from libp2p.pubsub import gossipsub as gossipsub_module
from libp2p.pubsub import pubsub as pubsub_module
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.utils import maybe_consume_signed_record

from node.net import compat
from node.net.compat import records


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _host(name: bytes) -> IHost:
    return compat.new_tally_host(hashlib.sha256(name).digest())


def _rpc_from(host: IHost, envelope: bytes | None = None) -> rpc_pb2.RPC:
    rpc = rpc_pb2.RPC()
    rpc.senderRecord = envelope if envelope is not None else env_to_send_in_RPC(host)[0]
    return rpc


def test_our_record_is_built_once_per_interval() -> None:
    clock, builds = _Clock(), []

    def build(host: IHost) -> tuple[bytes, bool]:
        builds.append(host)
        return b"record %d" % len(builds), True

    cache = records.OwnRecordCache(build, clock)
    host = _host(b"a")
    assert cache(host) == (b"record 1", True)
    assert cache(host) == (b"record 1", False)
    clock.now += records.OWN_RECORD_TTL_S
    assert cache(host) == (b"record 2", True)
    assert cache(_host(b"b")) == (b"record 3", True)  # per host
    assert len(builds) == 3


def test_a_peers_record_is_checked_in_full_the_first_time_and_when_it_changes() -> None:
    clock, checks = _Clock(), []

    def consume(rpc: rpc_pb2.RPC, host: IHost, peer_id: ID) -> bool:
        checks.append(rpc.senderRecord)
        return maybe_consume_signed_record(rpc, host, peer_id)

    memo = records.PeerRecordMemo(consume, clock)
    us, sender, other = _host(b"us"), _host(b"sender"), _host(b"other")
    rpc = _rpc_from(sender)
    assert memo(rpc, us, sender.get_id())
    assert memo(rpc, us, sender.get_id())
    assert len(checks) == 1  # the same bytes from the same peer: not verified again
    assert not memo(rpc, us, other.get_id())  # someone else's record: refused by the full check
    assert not memo(rpc, us, other.get_id())  # and refusals are never remembered
    assert len(checks) == 3
    forged = _rpc_from(sender, rpc.senderRecord[:-1] + bytes([rpc.senderRecord[-1] ^ 1]))
    assert not memo(forged, us, sender.get_id())  # a changed byte: checked, and the signature fails
    clock.now += records.PEER_RECORD_REFRESH_S
    assert memo(rpc, us, sender.get_id())  # checked and stored again after the refresh interval
    assert len(checks) == 5
    assert memo(rpc_pb2.RPC(), us, sender.get_id())  # no record: nothing to check, as before
    assert len(checks) == 5


def test_installed_in_py_libp2p_with_batched_window_updates() -> None:
    compat.new_gossip(_host(b"gossip"), "t", 1 << 20, _never_valid)  # installs, once per process
    for module in (pubsub_module, gossipsub_module):
        assert isinstance(vars(module)["env_to_send_in_RPC"], records.OwnRecordCache)
        assert isinstance(vars(module)["maybe_consume_signed_record"], records.PeerRecordMemo)
    assert os.environ[records.YAMUX_RELEASE_ON_READ] == "0"
    records.install()  # idempotent: the wrappers are not wrapped again
    assert vars(pubsub_module)["maybe_consume_signed_record"]._consume is maybe_consume_signed_record


async def _never_valid(peer: ID, msg: rpc_pb2.Message) -> bool:
    return False


def test_gossip_floods_our_batches_and_relays_none_to_peers_that_hear_the_origin() -> None:
    """Our own batches go to every peer on the topic (not only the mesh); a relayed batch skips
    the peers that told discovery they are connected to its origin, and banned peers."""
    host = _host(b"relay")
    pubsub, router = compat.new_gossip(host, "tx", 1 << 20, _never_valid)
    own = host.get_id()
    origin, forwarder, meshed, direct, outside, banned = (_host(bytes([i])).get_id() for i in range(6))
    pubsub.peer_topics["tx"] = {origin, forwarder, meshed, direct, outside, banned}
    router.mesh["tx"] = {origin, forwarder, meshed, direct, banned}
    neighbours = {direct.to_base58(): {origin.to_base58()}}
    compat.gate_gossip_peers(
        pubsub,
        router,
        own,
        lambda peer: peer != banned.to_base58(),
        lambda: None,
        lambda peer, source: source in neighbours.get(peer, ()),
    )
    send_to = router._get_peers_to_send
    assert set(send_to(["tx"], msg_forwarder=own, origin=own)) == {origin, forwarder, meshed, direct, outside}
    relayed = set(send_to(["tx"], msg_forwarder=forwarder, origin=origin))
    assert relayed == {meshed}  # not back, not to the origin, not to `direct`, not outside the mesh
