"""Test-only faults exist only where a node's config explicitly enables them.

A node made by ``tally node init`` (whose default passphrase, "Tally local network", used to count
as a test network) refuses every test-only admin action with 403; a ``tally testnet`` node has
them. The wrappers themselves: the peer filter drops frames, requests and gossip both ways and
never blames a blocked peer; the byzantine transport lies about this validator's own statements
only; the failing disk fails a write batch half way.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

import httpx
import nacl.utils
import pytest
from typer.testing import CliRunner

from consensus import Ballot, Nominate, Prepare, QuorumSet, Statement, decode_statement, encode_statement
from node import testnet as tn
from node import wire
from node.api.app import create_app
from node.assembly import AssembledNode, assemble_node
from node.cli.app import app as tally
from node.config import Misbehaviour, load_config
from node.errors import ConfigError, NetError, NodeError
from node.facade import TEST_ONLY_ADMIN_ACTIONS
from node.faults import NodeFaults
from node.faults.byzantine import ByzantineHandlers, ByzantineTransport
from node.faults.peer_filter import FilteredHandlers, FilteredTransport, PeerFilter
from node.keyfile import read_admin_token, read_key_file
from node.metrics import NodeMetrics
from node.net import GossipVerdict
from node.peer_requests import QSET, SCP_STATE
from node.setup import CONFIG_NAME
from node.storage.store import LedgerStore
from protocol.hashing import network_id
from protocol.keys import Keypair
from protocol.ledger import CloseValue, decode_close_value

NETWORK = network_id("Tally faults test network")
VALID_PARAMS: dict[str, dict[str, Any]] = {"peer-filter": {"block": []}, "disk-fault": {"fail": False}}


class Wire:
    """A transport that records what leaves (frames per peer, broadcasts, requests, penalties)."""

    def __init__(self, peers: list[str]) -> None:
        self.peers = peers
        self.broadcasts: list[tuple[bytes, frozenset[str]]] = []
        self.sent: list[tuple[str, bytes]] = []
        self.requests: list[str] = []
        self.penalties: list[tuple[str, str]] = []

    def publish(self, data: bytes) -> None: ...

    def publish_board(self, data: bytes) -> None: ...

    def broadcast(self, frame: bytes, *, exclude: Collection[str] = ()) -> None:
        self.broadcasts.append((frame, frozenset(exclude)))

    def send(self, peer: str, frame: bytes) -> None:
        self.sent.append((peer, frame))

    async def request(
        self, peer: str, name: str, payload: bytes, *, max_response: int, timeout_s: float = 10.0
    ) -> bytes:
        self.requests.append(peer)
        return b"answer"

    def connected_peers(self) -> list[str]:
        return list(self.peers)

    def peers_info(self) -> list[dict[str, Any]]:
        return [{"peer_id": p, "allowed": True} for p in self.peers]

    def penalize(self, peer: str, reason: str) -> None:
        self.penalties.append((peer, reason))


class Ear:
    """Handlers that record what reaches them."""

    def __init__(self, answer: bytes = b"answer") -> None:
        self.heard: list[tuple[str, str]] = []
        self.answer = answer

    async def on_tx_batch(self, data: bytes, peer: str) -> GossipVerdict:
        self.heard.append(("gossip", peer))
        return GossipVerdict.ACCEPT

    async def on_board_batch(self, data: bytes, peer: str) -> GossipVerdict:
        self.heard.append(("board", peer))
        return GossipVerdict.ACCEPT

    async def on_frame(self, data: bytes, peer: str) -> None:
        self.heard.append(("frame", peer))

    async def on_request(self, name: str, payload: bytes, peer: str) -> bytes:
        self.heard.append(("request", peer))
        return self.answer


# -- which nodes have test faults at all ------------------------------------------------------------


def _init_node(folder: Path) -> Path:
    result = CliRunner().invoke(tally, ["node", "init", "--dir", str(folder), "--validator", "--json"])
    assert result.exit_code == 0, result.output
    return Path(json.loads(result.output)["config"])


async def _admin(config_path: Path, action: str, body: dict[str, Any]) -> httpx.Response:
    config = load_config(config_path)
    assert config.admin_token_file is not None
    node = assemble_node(
        config=config, keypair=read_key_file(config.key_file), transport=Wire([]), metrics=NodeMetrics()
    )
    try:
        api = create_app(node.api, admin_token=read_admin_token(config.admin_token_file))
        token = read_admin_token(config.admin_token_file)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=api), base_url="http://node"
        ) as client:
            return await client.post(
                f"/admin/{action}", json=body, headers={"Authorization": f"Bearer {token}"}
            )
    finally:
        node.store.close()


@pytest.mark.parametrize("action", TEST_ONLY_ADMIN_ACTIONS)
async def test_a_default_node_init_node_refuses_every_test_only_admin_action(
    tmp_path: Path, action: str
) -> None:
    config_path = _init_node(tmp_path / "n")
    assert "[testing]" not in config_path.read_text()
    config = load_config(config_path)
    assert config.network_passphrase == "Tally local network"  # the old "test network" by substring
    assert not config.test_faults
    response = await _admin(config_path, action, VALID_PARAMS[action])
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "forbidden"
    assert "enable_test_faults" in body["message"]


@pytest.mark.parametrize("action", TEST_ONLY_ADMIN_ACTIONS)
async def test_a_testnet_node_has_the_test_only_admin_actions(tmp_path: Path, action: str) -> None:
    net = tn.create(tmp_path / "net", validators=1, watchers=0, threshold=None)
    config_path = Path(net.nodes[0].folder) / CONFIG_NAME
    assert load_config(config_path).test_faults
    response = await _admin(config_path, action, VALID_PARAMS[action])
    assert response.status_code == 200, response.text
    assert response.json()["ok"] is True
    bad = await _admin(config_path, action, {"block": "everyone", "fail": "yes"})
    assert bad.status_code == 400


async def test_an_unknown_admin_action_is_still_a_bad_request(tmp_path: Path) -> None:
    response = await _admin(_init_node(tmp_path / "n"), "self-destruct", {})
    assert response.status_code == 400
    assert "unknown admin action" in response.json()["message"]


def test_the_fault_actions_are_exactly_the_test_only_ones(tmp_path: Path) -> None:
    net = tn.create(tmp_path / "net", validators=1, watchers=0, threshold=None)
    config = load_config(Path(net.nodes[0].folder) / CONFIG_NAME)
    faults = NodeFaults(config, read_key_file(config.key_file))
    assert set(faults.admin_actions()) == set(TEST_ONLY_ADMIN_ACTIONS)


def test_misbehave_needs_enable_test_faults_whatever_the_passphrase(tmp_path: Path) -> None:
    config_path = _init_node(tmp_path / "n")
    config_path.write_text(config_path.read_text() + '\n[testing]\nmisbehave = "silent"\n')
    with pytest.raises(ConfigError, match="enable_test_faults"):
        load_config(config_path)
    config_path.write_text(
        config_path.read_text().replace("[testing]\n", "[testing]\nenable_test_faults = true\n")
    )
    loaded = load_config(config_path)
    assert loaded.test_faults
    assert loaded.misbehave is Misbehaviour.SILENT
    config_path.write_text(
        config_path.read_text().replace("enable_test_faults = true", "enable_test_faults = 1")
    )
    with pytest.raises(ConfigError, match="enable_test_faults: expected true or false"):
        load_config(config_path)


# -- the peer filter --------------------------------------------------------------------------------


async def test_the_peer_filter_cuts_a_peer_off_both_ways_and_heals() -> None:
    cut = PeerFilter()
    inner, ear = Wire(["a", "b", "c"]), Ear()
    transport, handlers = FilteredTransport(inner, cut), FilteredHandlers(ear, cut)
    cut.blocked = frozenset({"b"})
    assert transport.connected_peers() == ["a", "c"]
    assert {p["peer_id"]: p["allowed"] for p in transport.peers_info()} == {"a": True, "b": False, "c": True}
    transport.broadcast(b"frame", exclude=("c",))
    assert inner.broadcasts == [(b"frame", frozenset({"b", "c"}))]
    transport.send("b", b"frame")
    assert inner.sent == []
    with pytest.raises(NetError) as refused:
        await transport.request("b", "latest", b"", max_response=256)
    assert refused.value.reason == "filtered"
    assert inner.requests == []
    # incoming: a blocked peer's gossip is ignored (not rejected: no penalty), frames and requests dropped
    assert await handlers.on_tx_batch(b"batch", "b") is GossipVerdict.IGNORE
    await handlers.on_frame(b"frame", "b")
    with pytest.raises(NodeError, match="cut off"):
        await handlers.on_request("latest", b"", "b")
    assert ear.heard == []
    assert inner.penalties == []
    assert await handlers.on_tx_batch(b"batch", "a") is GossipVerdict.ACCEPT
    # heal
    cut.blocked = frozenset()
    transport.send("b", b"again")
    await handlers.on_frame(b"frame", "b")
    assert await transport.request("b", "latest", b"", max_response=256) == b"answer"
    assert inner.sent == [("b", b"again")]
    assert ear.heard == [("gossip", "a"), ("frame", "b")]


# -- the byzantine transport ------------------------------------------------------------------------


def _byzantine(tmp_path: Path, mode: Misbehaviour) -> tuple[ByzantineTransport, Wire, Keypair, LedgerStore]:
    keypair = Keypair(nacl.utils.random(32))
    store = LedgerStore(tmp_path / "db", NETWORK)
    inner = Wire(["p1", "p2", "p3"])
    transport = ByzantineTransport(
        inner,
        mode,
        network=NETWORK,
        keypair=keypair,
        quorum_set=QuorumSet(1, (keypair.public_key,)),
        store=store,
        libp2p=None,
    )
    return transport, inner, keypair, store


def _envelope_frame(keypair: Keypair, slot: int, nominate: bool = True) -> bytes:
    value = CloseValue(b"\x05" * 32, 1_000_000, ()).encode()
    pledge = Nominate((value,), ()) if nominate else Prepare(Ballot(1, value))
    statement = Statement(keypair.public_key, slot, b"\x06" * 32, pledge)
    return wire.encode_envelope_frame(wire.sign_envelope(NETWORK, encode_statement(statement), keypair))


def _statement(frame: bytes) -> Statement:
    envelope = wire.decode_frame(frame)
    assert isinstance(envelope, wire.SignedEnvelope)
    assert wire.envelope_signature_valid(NETWORK, decode_statement(envelope.statement).node_id, envelope)
    return decode_statement(envelope.statement)


def test_a_silent_validator_sends_none_of_its_statements_but_relays_the_rest(tmp_path: Path) -> None:
    transport, inner, keypair, store = _byzantine(tmp_path, Misbehaviour.SILENT)
    other = Keypair(nacl.utils.random(32))
    closed = wire.encode_ledger_closed_frame(5, b"\x01" * 32)
    transport.broadcast(_envelope_frame(keypair, 5))
    transport.send("p1", _envelope_frame(keypair, 5, nominate=False))
    transport.broadcast(_envelope_frame(other, 5))
    transport.broadcast(closed)
    assert [frame for frame, _ in inner.broadcasts] == [_envelope_frame(other, 5), closed]
    assert inner.sent == []
    store.close()


async def test_a_silent_validator_leaves_its_statements_out_of_scp_state_answers(tmp_path: Path) -> None:
    transport, _, keypair, store = _byzantine(tmp_path, Misbehaviour.SILENT)
    other = Keypair(nacl.utils.random(32))
    mine, theirs = (wire.decode_frame(_envelope_frame(k, 5)) for k in (keypair, other))
    assert isinstance(mine, wire.SignedEnvelope)
    assert isinstance(theirs, wire.SignedEnvelope)
    handlers = ByzantineHandlers(Ear(SCP_STATE.encode_answer((mine, theirs))), transport)
    answer = await handlers.on_request(SCP_STATE.name, SCP_STATE.encode_query(5), "p1")
    assert SCP_STATE.decode_answer(answer, NETWORK) == (theirs,)
    store.close()


def test_an_equivocating_validator_tells_each_peer_another_nomination(tmp_path: Path) -> None:
    transport, inner, keypair, store = _byzantine(tmp_path, Misbehaviour.EQUIVOCATE)
    transport.broadcast(_envelope_frame(keypair, 5), exclude=("p3",))
    assert inner.broadcasts == []
    assert [peer for peer, _ in inner.sent] == ["p1", "p2"]
    votes = [_statement(frame).pledge for _, frame in inner.sent]
    assert all(isinstance(v, Nominate) for v in votes)
    close_times = {decode_close_value(v.votes[0]).close_time_ms for v in votes}  # type: ignore[union-attr]
    assert len(close_times) == 2
    assert 1_000_000 not in close_times
    transport.broadcast(_envelope_frame(keypair, 5, nominate=False))  # ballots go out honestly
    assert [frame for frame, _ in inner.broadcasts] == [_envelope_frame(keypair, 5, nominate=False)]
    store.close()


async def test_a_validator_lying_about_its_quorum_set_names_a_hash_and_answers_another(
    tmp_path: Path,
) -> None:
    transport, inner, keypair, store = _byzantine(tmp_path, Misbehaviour.LIE_QSET)
    transport.broadcast(_envelope_frame(keypair, 5))
    ((frame, _),) = inner.broadcasts
    named = _statement(frame).qset_hash
    assert named == transport.fake_qset_hash
    handlers = ByzantineHandlers(Ear(b"honest answer"), transport)
    lie = await handlers.on_request(QSET.name, QSET.encode_query(named), "p1")
    assert QSET.check(named, QSET.decode_answer(lie, NETWORK)) is not None  # the hash does not match
    honest = await handlers.on_request(QSET.name, QSET.encode_query(b"\x01" * 32), "p1")
    assert honest == b"honest answer"
    store.close()


def test_a_replaying_validator_remembers_what_it_sent(tmp_path: Path) -> None:
    transport, inner, keypair, store = _byzantine(tmp_path, Misbehaviour.REPLAY)
    frame = _envelope_frame(keypair, 5)
    transport.broadcast(frame)
    assert [f for f, _ in inner.broadcasts] == [frame]
    assert [slot for slot, _ in transport._sent] == [5]
    store.close()


async def test_the_assembly_wires_faults_only_when_enabled(tmp_path: Path) -> None:
    net = tn.create(tmp_path / "net", validators=1, watchers=0, threshold=None)
    config = load_config(Path(net.nodes[0].folder) / CONFIG_NAME)
    keypair = read_key_file(config.key_file)
    with_faults = assemble_node(config=config, keypair=keypair, transport=Wire([]), metrics=NodeMetrics())
    with_faults.store.close()
    assert isinstance(with_faults.handlers, FilteredHandlers)
    assert isinstance(with_faults.herder.transport, FilteredTransport)
    plain = _plain(tmp_path / "plain")
    assert plain.handlers is plain.peers
    assert isinstance(plain.herder.transport, Wire)


def _plain(folder: Path) -> AssembledNode:
    config = load_config(_init_node(folder))
    node = assemble_node(
        config=config, keypair=read_key_file(config.key_file), transport=Wire([]), metrics=NodeMetrics()
    )
    node.store.close()
    return node
