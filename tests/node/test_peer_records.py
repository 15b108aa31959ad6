"""Signed peer records: what a node says about where it is, checked so that nobody can poison
another node's table of addresses (forged, altered, foreign, stale or malformed records are
refused), and the peer table that keeps them (``node.discovery.PeerDirectory``)."""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from consensus import QuorumSet
from node.discovery import MAX_KNOWN, TARGET_CONNECTIONS, PeerDirectory
from node.errors import NetError
from node.metrics import NodeMetrics
from node.peer_records import (
    MAX_CLOCK_AHEAD_MS,
    MAX_RECORD_AGE_MS,
    MAX_RECORDS_PER_ANSWER,
    PeerRecord,
    RecordError,
    check_fresh,
    decode_record,
    decode_records,
    encode_records,
    sign_record,
)
from node.peer_requests import PeerRequests
from node.storage.store import LedgerStore
from protocol import codec
from protocol.hashing import network_id
from protocol.keys import Keypair

NETWORK = network_id("Tally peer record test network")
OTHER_NETWORK = network_id("Some other network")
ADDRESS = "/ip4/203.0.113.7/tcp/4100"


def _now() -> int:
    return int(time.time() * 1000)


def _key(i: int) -> Keypair:
    return Keypair(i.to_bytes(2, "big") * 16)


def test_a_record_survives_its_encoding_and_names_its_node() -> None:
    keypair = _key(1)
    record = sign_record(keypair, NETWORK, _now(), [ADDRESS, "/dns4/v1.example.org/tcp/4100"])
    assert decode_record(record.encode(), NETWORK) == record
    assert record.dial_addresses() == [
        f"{ADDRESS}/p2p/{record.peer_id}",
        f"/dns4/v1.example.org/tcp/4100/p2p/{record.peer_id}",
    ]
    assert decode_records(encode_records([record, record]), NETWORK) == (record, record)


def _tampered(record: PeerRecord, **changes: Any) -> bytes:
    return dataclasses.replace(record, **changes).encode()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"addresses": ("/ip4/198.51.100.66/tcp/4100",)}, "bad_signature"),  # a relay swapped the address
        ({"seq": 1}, "bad_signature"),
        ({"node_key": _key(9).public_key}, "bad_signature"),  # someone else's key on it
        ({"signature": bytes(64)}, "bad_signature"),
        ({"network": OTHER_NETWORK}, "other_network"),
        ({"addresses": ("/ip4/0.0.0.0/tcp/4100",)}, "malformed"),
        (
            {"addresses": (f"{ADDRESS}/p2p/12D3KooWQ6mXHK9P4dTx3fvLtZ9yAjtxm3uhZTtD2AD2RMLA8Bja",)},
            "malformed",
        ),
        ({"addresses": tuple(f"/ip4/203.0.113.{i}/tcp/4100" for i in range(5))}, "malformed"),
        ({"addresses": (ADDRESS, ADDRESS)}, "malformed"),
    ],
)
def test_forged_or_altered_records_are_refused(change: dict[str, Any], reason: str) -> None:
    record = sign_record(_key(1), NETWORK, _now(), [ADDRESS])
    with pytest.raises(RecordError) as refused:
        decode_record(_tampered(record, **change), NETWORK)
    assert refused.value.reason == reason


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\xc1",
        codec.pack((2, b"k" * 32, NETWORK, 1, (), b"s" * 64)),
        codec.pack((1, b"k" * 31, NETWORK, 1, (), b"s" * 64)),
        codec.pack((1, b"k" * 32, NETWORK, -1, (), b"s" * 64)),
        codec.pack((1, b"k" * 32, NETWORK, 1, (7,), b"s" * 64)),
        codec.pack((1, b"k" * 32, NETWORK, 1, (), b"s" * 64, b"extra")),
        codec.pack((1, b"k" * 32, NETWORK, 1, ("x" * 2000,), b"s" * 64)),
    ],
)
def test_malformed_records_are_refused(raw: bytes) -> None:
    with pytest.raises(RecordError) as refused:
        decode_record(raw, NETWORK)
    assert refused.value.reason == "malformed"


def test_one_forged_record_spoils_a_whole_answer_and_answers_are_capped() -> None:
    good = sign_record(_key(1), NETWORK, _now(), [ADDRESS])
    forged = _tampered(sign_record(_key(2), NETWORK, _now(), [ADDRESS]), seq=5)
    with pytest.raises(RecordError):
        decode_records(codec.pack((1, (good.encode(), forged))), NETWORK)
    many = [sign_record(_key(i), NETWORK, _now(), [ADDRESS]) for i in range(MAX_RECORDS_PER_ANSWER + 5)]
    assert len(decode_records(encode_records(many), NETWORK)) == MAX_RECORDS_PER_ANSWER
    with pytest.raises(RecordError):
        decode_records(codec.pack((1, tuple(r.encode() for r in many))), NETWORK)


def test_stale_and_future_records_are_refused_by_time() -> None:
    now = _now()
    check_fresh(sign_record(_key(1), NETWORK, now - MAX_RECORD_AGE_MS + 1000, [ADDRESS]), now)
    with pytest.raises(RecordError, match="ago") as stale:
        check_fresh(sign_record(_key(1), NETWORK, now - MAX_RECORD_AGE_MS - 1, [ADDRESS]), now)
    assert stale.value.reason == "stale"
    with pytest.raises(RecordError) as future:
        check_fresh(sign_record(_key(1), NETWORK, now + MAX_CLOCK_AHEAD_MS + 1, [ADDRESS]), now)
    assert future.value.reason == "future"


# -- the peer table ------------------------------------------------------------------------------


class _Net:
    """A transport and dialer with a fixed set of connected peers, recording dials."""

    def __init__(self, connected: Collection[str] = (), fail: Collection[str] = ()) -> None:
        self.connected = set(connected)
        self.fail = set(fail)
        self.dialled: list[str] = []
        self.penalties: list[tuple[str, str]] = []

    def publish(self, data: bytes) -> None: ...
    def publish_board(self, data: bytes) -> None: ...
    def broadcast(self, frame: bytes, *, exclude: Collection[str] = ()) -> None: ...
    def send(self, peer: str, frame: bytes) -> None: ...

    async def request(
        self, peer: str, name: str, payload: bytes, *, max_response: int, timeout_s: float = 10.0
    ) -> bytes:
        raise NetError(peer, "unreachable")

    def connected_peers(self) -> list[str]:
        return sorted(self.connected)

    def peers_info(self) -> list[dict[str, Any]]:
        return []

    def penalize(self, peer: str, reason: str) -> None:
        self.penalties.append((peer, reason))

    def announced(self) -> list[str]:
        return [ADDRESS]

    def skip_relays_when(self, hears_directly: Callable[[str, str], bool]) -> None:
        pass

    async def dial(self, peer: str, addresses: Sequence[str]) -> None:
        self.dialled.append(peer)
        if peer in self.fail:
            raise NetError(peer, "unreachable", "connection refused")
        self.connected.add(peer)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LedgerStore]:
    opened = LedgerStore(tmp_path / "data", NETWORK)
    yield opened
    opened.close()


def _directory(store: LedgerStore, net: _Net, quorum: Sequence[Keypair] = ()) -> PeerDirectory:
    own = _key(0)
    qset = QuorumSet(1, tuple(k.public_key for k in (own, *quorum)))
    return PeerDirectory(
        keypair=own,
        network=NETWORK,
        quorum_set=qset,
        transport=net,
        dialer=net,
        requests=PeerRequests(net, NETWORK, NodeMetrics()),
        area=store.peers,
        metrics=NodeMetrics(),
        rng=random.Random(1),
    )


def test_the_table_keeps_the_newest_fresh_record_per_node_and_persists_it(store: LedgerStore) -> None:
    directory = _directory(store, _Net())
    now = _now()
    old = sign_record(_key(1), NETWORK, now - 10_000, ["/ip4/203.0.113.1/tcp/4100"])
    new = sign_record(_key(1), NETWORK, now, ["/ip4/203.0.113.2/tcp/4100"])
    stale = sign_record(_key(2), NETWORK, now - MAX_RECORD_AGE_MS - 1, [ADDRESS])
    nowhere = sign_record(_key(3), NETWORK, now, [])
    mine = sign_record(_key(0), NETWORK, now, [ADDRESS])
    assert directory.learn([new, old, stale, nowhere, mine]) == 1
    assert directory.records == {new.peer_id: new}
    assert directory.learn([old]) == 0, "an older record never replaces a newer one"
    again = _directory(store, _Net())  # a restart: the table comes back from the store
    assert again.load() == 1
    assert again.records == {new.peer_id: new}


def test_an_exchange_learns_the_askers_record_and_answers_quorum_validators_first(store: LedgerStore) -> None:
    validator = _key(1)
    directory = _directory(
        store, _Net(connected=["12D3KooWQ6mXHK9P4dTx3fvLtZ9yAjtxm3uhZTtD2AD2RMLA8Bja"]), quorum=[validator]
    )
    directory.refresh_own()
    now = _now()
    others = [sign_record(_key(i), NETWORK, now - i, [ADDRESS]) for i in range(10, 50)]
    in_quorum = sign_record(validator, NETWORK, now - 10_000, [ADDRESS])
    directory.learn([*others, in_quorum])
    asker = sign_record(_key(99), NETWORK, now, [ADDRESS])
    answer = directory.answer(asker.encode())
    assert directory.records[asker.peer_id] == asker
    records = answer.records
    assert records[0] == directory.own, "its own record first"
    assert records[1] == in_quorum
    assert len(records) == MAX_RECORDS_PER_ANSWER
    assert asker not in records, "nobody is told about itself"
    assert answer.neighbours == ("12D3KooWQ6mXHK9P4dTx3fvLtZ9yAjtxm3uhZTtD2AD2RMLA8Bja",), (
        "and whom it is connected to"
    )
    forged = _tampered(sign_record(_key(98), NETWORK, now, [ADDRESS]), seq=1)
    directory.answer(forged)
    assert sign_record(_key(98), NETWORK, now, [ADDRESS]).peer_id not in directory.records


def test_quorum_validators_are_dialled_first_then_others_up_to_the_target(store: LedgerStore) -> None:
    validators = [_key(1), _key(2)]
    net = _Net()
    directory = _directory(store, net, quorum=validators)
    now = _now()
    directory.learn([sign_record(k, NETWORK, now, [ADDRESS]) for k in validators])
    directory.learn([sign_record(_key(i), NETWORK, now, [ADDRESS]) for i in range(10, 30)])
    chosen = directory.to_dial(set(), 0.0)
    assert [r.peer_id for r in chosen[:2]] == sorted(directory.quorum_peers)
    connected = {r.peer_id for r in directory.records.values() if r.peer_id not in directory.quorum_peers}
    connected = set(sorted(connected)[:TARGET_CONNECTIONS])
    assert [r.peer_id for r in directory.to_dial(connected, 0.0)] == sorted(directory.quorum_peers), (
        "at the target only quorum validators are still dialled"
    )


async def test_a_failed_dial_backs_off(store: LedgerStore) -> None:
    validator = _key(1)
    record = sign_record(validator, NETWORK, _now(), [ADDRESS])
    net = _Net(fail={record.peer_id})
    directory = _directory(store, net, quorum=[validator])
    directory.learn([record])
    await directory._dial(record)
    assert net.dialled == [record.peer_id]
    assert directory.to_dial(set(), 0.0) == [], "not again right away"


def test_the_table_is_capped_and_keeps_quorum_validators(store: LedgerStore) -> None:
    validator = _key(1)
    directory = _directory(store, _Net(), quorum=[validator])
    now = _now()
    directory.learn([sign_record(validator, NETWORK, now - 60_000, [ADDRESS])])
    for start in range(2, MAX_KNOWN + 200, 400):
        directory.learn([sign_record(_key(i), NETWORK, now, [ADDRESS]) for i in range(start, start + 400)])
    assert len(directory.records) == MAX_KNOWN
    assert sign_record(validator, NETWORK, now, [ADDRESS]).peer_id in directory.records
    assert len(store.peers.records(10 * MAX_KNOWN)) == MAX_KNOWN
