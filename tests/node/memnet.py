"""An in-memory network for node tests: real nodes (LevelDB, herder, SCP, catch-up) wired by
ordered in-process links instead of libp2p, with a partition switch.

Each (sender, receiver) pair has its own ordered queue, like a direct stream. By default every node
is connected to every other; ``MemoryHub.edges`` (``chain``, ``connect``) makes a partial mesh
instead, where only linked nodes talk and SCP statements reach non-neighbours only if the nodes
relay them. Gossip (transaction and board batches) is relayed like GossipSub does: a node that
ACCEPTs a batch passes it on to its other neighbours, and no node is handed the same batch twice.
``MemoryHub.latency_s`` delays every message by as much (validators far apart).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nacl.utils
import trio
from quorum_in_process import check_quorums_in_process

from consensus import QuorumSet
from node.assembly import AssembledNode, assemble_node
from node.config import NodeConfig
from node.errors import NetError, NodeError
from node.metrics import NodeMetrics
from node.net import GossipVerdict, NetHandlers
from node.peer_ids import peer_id_for
from node.storage.store import LedgerStore
from protocol.keys import Keypair
from protocol.operations import AdmitMember, CreateCurrency, CurrencyKind
from protocol.transactions import Transaction, TransactionBody, build_transaction

PASSPHRASE = "Tally memnet test network"
GOSSIP_KINDS = ("tx", "board")  # the gossip topics; anything else is a direct frame


@dataclass
class MemoryHub:
    nursery: trio.Nursery
    nodes: dict[str, NetHandlers] = field(default_factory=dict)  # peer id -> its handlers
    links: dict[tuple[str, str], trio.MemorySendChannel[tuple[str, bytes, float]]] = field(
        default_factory=dict
    )
    blocked: set[frozenset[str]] = field(default_factory=set)
    edges: set[frozenset[str]] | None = None  # None: a full mesh; else the pairs connected now
    bootstrap: set[frozenset[str]] = field(default_factory=set)  # linked whenever both nodes run
    unreachable: set[str] = field(default_factory=set)  # nodes others cannot dial (behind NAT)
    gossip_seen: set[tuple[str, str, bytes]] = field(default_factory=set)  # (node, kind, batch digest)
    board_verdicts: list[tuple[str, str, GossipVerdict]] = field(default_factory=list)  # from, to, verdict
    latency_s: float = 0.0  # every message arrives this long after it was sent (in order, per link)

    def allowed(self, a: str, b: str) -> bool:
        pair = frozenset((a, b))
        linked = self.edges is None or pair in self.edges or pair in self.bootstrap
        return linked and a in self.nodes and b in self.nodes and pair not in self.blocked

    def connect(self, a: str, b: str) -> None:
        """Link ``a`` and ``b`` (turns a full mesh into a partial one with just this link)."""
        if self.edges is None:
            self.edges = set()
        self.edges.add(frozenset((a, b)))

    def chain(self, peers: Sequence[str]) -> None:
        """Each node bootstraps from the one before it: peers[0] - peers[1] - …; more links come
        only from discovery (``MemoryTransport.dial``)."""
        self.edges = set()
        self.bootstrap = {frozenset(pair) for pair in itertools.pairwise(peers)}

    def address(self, peer: str) -> str:
        """The made-up address a node of this hub announces (a dial must name it)."""
        return f"/dns4/{peer[-16:].lower()}.memnet/tcp/4100"

    def drop_connections(self, peer: str) -> None:
        """``peer`` went down: its dialled connections are gone (bootstrap links come back)."""
        if self.edges is not None:
            self.edges = {pair for pair in self.edges if peer not in pair}

    def neighbours(self, peer: str) -> list[str]:
        return [p for p in self.nodes if p != peer and self.allowed(peer, p)]

    def partition(self, *groups: Collection[str]) -> None:
        self.blocked = {
            frozenset((a, b)) for g1 in groups for g2 in groups if g1 is not g2 for a in g1 for b in g2
        }

    def heal(self) -> None:
        self.blocked = set()

    def first_sight(self, peer: str, kind: str, data: bytes) -> bool:
        """Whether ``peer`` gets this gossip batch for the first time (and remember that it has)."""
        seen = (peer, kind, hashlib.sha256(data).digest())
        if seen in self.gossip_seen:
            return False
        self.gossip_seen.add(seen)
        return True

    def deliver(self, source: str, target: str, kind: str, data: bytes) -> None:
        if not self.allowed(source, target):
            return
        if kind in GOSSIP_KINDS and not self.first_sight(target, kind, data):
            return
        link = self.links.get((source, target))
        if link is None:
            send, receive = trio.open_memory_channel[tuple[str, bytes, float]](10_000)
            self.links[(source, target)] = link = send
            self.nursery.start_soon(self._pump, source, target, receive)
        link.send_nowait((kind, data, trio.current_time() + self.latency_s))

    async def _pump(
        self, source: str, target: str, receive: trio.MemoryReceiveChannel[tuple[str, bytes, float]]
    ) -> None:
        async for kind, data, arrives in receive:
            if arrives > trio.current_time():
                await trio.sleep_until(arrives)
            node = self.nodes.get(target)
            if node is None or not self.allowed(source, target):
                continue
            if kind == "tx":
                verdict = await node.on_tx_batch(data, source)
            elif kind == "board":
                verdict = await node.on_board_batch(data, source)
                self.board_verdicts.append((source, target, verdict))
            else:
                await node.on_frame(data, source)
                continue
            if verdict.relay:
                for neighbour in self.neighbours(target):
                    if neighbour != source:
                        self.deliver(target, neighbour, kind, data)


class MemoryTransport:
    def __init__(self, hub: MemoryHub, peer_id: str) -> None:
        self.hub = hub
        self.peer_id = peer_id
        self.penalties: list[tuple[str, str]] = []

    def publish(self, data: bytes) -> None:
        self._gossip("tx", data)

    def publish_board(self, data: bytes) -> None:
        self._gossip("board", data)

    def _gossip(self, kind: str, data: bytes) -> None:
        self.hub.first_sight(self.peer_id, kind, data)
        for peer in self.connected_peers():
            self.hub.deliver(self.peer_id, peer, kind, data)

    def broadcast(self, frame: bytes, *, exclude: Collection[str] = ()) -> None:
        for peer in self.connected_peers():
            if peer not in exclude:
                self.hub.deliver(self.peer_id, peer, "frame", frame)

    def send(self, peer: str, frame: bytes) -> None:
        self.hub.deliver(self.peer_id, peer, "frame", frame)

    async def request(
        self, peer: str, name: str, payload: bytes, *, max_response: int, timeout_s: float = 10.0
    ) -> bytes:
        if not self.hub.allowed(self.peer_id, peer):
            raise NetError(peer, "unreachable")
        await trio.lowlevel.checkpoint()
        node = self.hub.nodes.get(peer)
        if node is None:  # stopped meanwhile
            raise NetError(peer, "unreachable")
        try:
            with trio.fail_after(timeout_s):
                answer = await node.on_request(name, payload, self.peer_id)
        except trio.TooSlowError:
            raise NetError(peer, "timeout", f"{name}: no answer in {timeout_s} s") from None
        except NodeError as exc:
            raise NetError(peer, "remote", str(exc)) from None
        if len(answer) > max_response:
            raise NetError(peer, "oversize")
        return answer

    def connected_peers(self) -> list[str]:
        return [p for p in self.hub.nodes if p != self.peer_id and self.hub.allowed(self.peer_id, p)]

    def announced(self) -> list[str]:
        return [self.hub.address(self.peer_id)]

    def skip_relays_when(self, hears_directly: Callable[[str, str], bool]) -> None:
        """The hub never hands a node the same batch twice: there is no duplicate to skip."""

    async def dial(self, peer: str, addresses: Sequence[str]) -> None:
        await trio.lowlevel.checkpoint()
        if (
            f"{self.hub.address(peer)}/p2p/{peer}" not in addresses
            or peer not in self.hub.nodes
            or peer in self.hub.unreachable
        ):
            raise NetError(peer, "unreachable", "no node answers at those addresses")
        if peer == self.peer_id:
            raise NetError(peer, "self")
        if frozenset((self.peer_id, peer)) in self.hub.blocked:
            raise NetError(peer, "unreachable", "partitioned")
        if self.hub.edges is not None:  # a full mesh is connected already
            self.hub.connect(self.peer_id, peer)

    def peers_info(self) -> list[dict[str, Any]]:
        return [{"peer_id": p} for p in self.connected_peers()]

    def penalize(self, peer: str, reason: str) -> None:
        self.penalties.append((peer, reason))


@dataclass
class TestNode:
    __test__ = False  # a helper, not a test class

    keypair: Keypair
    folder: Path
    config: NodeConfig
    node: AssembledNode | None = None
    store: LedgerStore | None = None
    scope: trio.CancelScope | None = None
    stopped: trio.Event = field(default_factory=trio.Event)

    @property
    def peer_id(self) -> str:
        return peer_id_for(self.keypair.public_key)


def make_validators(
    root: Path,
    count: int,
    threshold: int | None = None,
    *,
    close_interval_ms: int = 100,
    heartbeat_interval_ms: int = 60_000,
) -> list[TestNode]:
    keys = [Keypair(nacl.utils.random(32)) for _ in range(count)]
    qset = QuorumSet(threshold or (2 * count) // 3 + 1, tuple(k.public_key for k in keys))
    nodes = []
    for index, keypair in enumerate(keys):
        folder = root / f"v{index}"
        config = NodeConfig(
            path=folder / "node.toml",
            role="validator",
            network_passphrase=PASSPHRASE,
            data_dir=folder / "data",
            key_file=folder / "node.key",
            quorum_set=qset,
            close_interval_ms=close_interval_ms,
            heartbeat_interval_ms=heartbeat_interval_ms,
        )
        nodes.append(TestNode(keypair, folder, config))
    return nodes


async def start(hub: MemoryHub, test_node: TestNode) -> AssembledNode:
    """Open the node's database and run it inside the hub's nursery (until ``stop``)."""
    transport = MemoryTransport(hub, test_node.peer_id)
    node = assemble_node(
        config=test_node.config,
        keypair=test_node.keypair,
        transport=transport,
        metrics=NodeMetrics(),
        dialer=transport,
    )
    check_quorums_in_process(node)
    test_node.node, test_node.store = node, node.store
    hub.nodes[test_node.peer_id] = node.handlers
    scope = trio.CancelScope()
    test_node.scope = scope
    stopped = test_node.stopped = trio.Event()

    async def run() -> None:
        try:
            with scope:
                await node.serve()
        finally:
            stopped.set()

    hub.nursery.start_soon(run)
    await trio.lowlevel.checkpoint()
    return node


async def start_validators(hub: MemoryHub, root: Path, count: int, **settings: int) -> list[TestNode]:
    """``count`` validators (``make_validators`` with ``settings``), all started."""
    validators = make_validators(root, count, **settings)
    for v in validators:
        await start(hub, v)
    return validators


async def start_chain(hub: MemoryHub, root: Path, count: int, *, dials: bool = True) -> list[TestNode]:
    """``count`` validators, each bootstrapping from the one before it, all started. Without
    ``dials`` no node can open a connection (discovery still swaps records): the chain stays."""
    validators = make_validators(root, count)
    hub.chain([v.peer_id for v in validators])
    if not dials:
        hub.unreachable = {v.peer_id for v in validators}
    for v in validators:
        await start(hub, v)
    return validators


async def stop(hub: MemoryHub, test_node: TestNode) -> None:
    """Simulate a crash: the node vanishes from the network and its tasks end; its database is
    closed once a ledger write in progress (a worker thread) has finished, as on a real stop."""
    hub.nodes.pop(test_node.peer_id, None)
    hub.drop_connections(test_node.peer_id)
    for key in [k for k in hub.links if test_node.peer_id in k]:
        hub.links.pop(key).close()
    if test_node.scope is not None:
        test_node.scope.cancel()
        await test_node.stopped.wait()
    if test_node.store is not None:
        test_node.store.close()
    test_node.node = None


# -- helpers for tests on a memnet ------------------------------------------------------------

TIMEOUT_S = 60


def signed_tx(
    node: AssembledNode, source: Keypair, seq: int, *ops: object, signers: tuple[Keypair, ...] = ()
) -> Transaction:
    body = TransactionBody(source.public_key, seq, 10_000, b"", tuple(ops))  # type: ignore[arg-type]
    return build_transaction(node.api.network_id, body, (source, *signers))


async def until(predicate: Callable[[], bool], what: str) -> None:
    """Poll ``predicate`` (node state has no single event to wait on); fail after TIMEOUT_S.

    Tests on the memnet run on trio's virtual clock (the ``virtual_clock`` fixture), where a poll
    costs no real time and the deadline is virtual seconds."""
    with trio.move_on_after(TIMEOUT_S):
        while not predicate():  # noqa: ASYNC110
            await trio.sleep(0.02)
    assert predicate(), f"not within {TIMEOUT_S} s: {what}"


def seqs(nodes: list[TestNode]) -> list[int]:
    return [n.node.chain.last.seq for n in nodes if n.node is not None]


async def community(node: AssembledNode) -> tuple[Keypair, Keypair]:
    """A time bank with two members; returns (alice, bob) who are admitted with 10 h credit."""
    steward, alice, bob = (Keypair(nacl.utils.random(32)) for _ in range(3))
    create = signed_tx(
        node, steward, 1, CreateCurrency("HOUR", CurrencyKind.TIME, 2, (steward.public_key,), 1, 1000, 0, 0)
    )
    admit = signed_tx(
        node,
        steward,
        2,
        AdmitMember("HOUR", alice.public_key, None),
        AdmitMember("HOUR", bob.public_key, None),
    )
    assert all(a.accepted for a in node.api.submit([create, admit])), node.api.submit([create, admit])
    await node.api.wait_for([create.hash, admit.hash], TIMEOUT_S)
    assert node.api.tx_status(admit.hash).status == "applied", node.api.tx_status(admit.hash)
    return alice, bob
