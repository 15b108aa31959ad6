"""The fuzzing engine shared by tests/fuzz and ``scripts/fuzz``.

Targets are every wire decoder, every peer handler of a real node (``node.assembly``) (four validators on the
in-memory network of tests/node/memnet.py, closing ledgers all along) and every HTTP endpoint of
``create_app`` on that node (driven through ``httpx.ASGITransport``).

Inputs come from Hypothesis: random bytes, and *mutated real encodings* (a corpus harvested from
the running network: transactions, tx sets, headers, results, SCP envelopes and statements,
quorum sets, close values, requests and responses) — bit flips, truncation, extension, insertion,
deletion, slice swaps, and structural mutations of the decoded msgpack tree (field swaps, type
swaps, boundary integers, re-encoded so they pass the canonical-encoding check and reach the
field checks).

A *crash* is any exception other than the target's documented typed errors (for HTTP: a 5xx
answer, or a non-JSON error answer). Hypothesis runs in a worker thread; node handlers and HTTP
requests run on the node's trio loop through ``trio.from_thread``, so the node keeps closing
ledgers while it is fuzzed.
"""

from __future__ import annotations

import base64
import collections
import importlib
import json
import os
import random
import sys
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgpack
import nacl.utils
import psutil
import trio
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from consensus import (
    Confirm,
    ConsensusError,
    Externalize,
    Prepare,
    decode_quorum_set,
    decode_statement,
)
from node import wire
from node.api.app import create_app
from node.api.events import StreamLimits
from node.assembly import AssembledNode
from node.errors import NodeError
from node.net.framing import (
    FrameError,
    FrameReader,
    decode_request,
    decode_response,
    encode_frame,
    encode_request,
    encode_response,
)
from node.net.handlers import GossipVerdict
from node.ratelimit import RateLimiter
from protocol.addresses import encode_account
from protocol.errors import DecodeError
from protocol.hashing import network_id
from protocol.keys import Keypair
from protocol.ledger import (
    CloseValue,
    decode_close_value,
    decode_header,
    decode_results,
    decode_tx_set,
)
from protocol.operations import AdmitMember, CreateCurrency, CurrencyKind, Payment
from protocol.transactions import Transaction, TransactionBody, build_transaction, decode_transaction

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "node"))

# tests/node/memnet.py (imported by name: tests/ has no packages; Any keeps mypy runs of only
# tests/fuzz happy, where tests/node is not on mypy's path)
memnet: Any = importlib.import_module("memnet")
PASSPHRASE: str = memnet.PASSPHRASE

ADMIN_TOKEN = "fuzz-admin-token"
PEER = "12D3KooWFuzzPeerNotARealPeerIdButAString"

Corpus = dict[str, list[bytes]]


# -- the network under test -------------------------------------------------------------------


@dataclass
class FuzzNetwork:
    hub: Any  # memnet.MemoryHub
    validators: list[Any]  # memnet.TestNode
    node: AssembledNode
    corpus: Corpus
    addresses: list[str]
    tx_hashes: list[str]
    client: httpx.AsyncClient
    token: trio.lowlevel.TrioToken = field(default_factory=trio.lowlevel.current_trio_token)

    def ledger_seq(self) -> int:
        return self.node.chain.last.seq


def _tx(network: bytes, source: Keypair, seq: int, *ops: object) -> Transaction:
    body = TransactionBody(source.public_key, seq, 1_000_000, b"fuzz", tuple(ops))  # type: ignore[arg-type]
    return build_transaction(network, body, (source,))


async def wait_ledgers(net: FuzzNetwork, count: int, timeout_s: float = 60.0) -> float:
    """Wait until the fuzzed node closed ``count`` more ledgers; returns the seconds it took."""
    target = net.ledger_seq() + count
    began = trio.current_time()
    with trio.fail_after(timeout_s):
        while net.ledger_seq() < target:  # noqa: ASYNC110 - no single event to wait on
            await trio.sleep(0.02)
    return trio.current_time() - began


@asynccontextmanager
async def fuzz_network(root: Path) -> AsyncIterator[FuzzNetwork]:
    """Four validators closing a ledger every few hundred ms, some payments applied, and a corpus
    of real encodings harvested from them."""
    async with trio.open_nursery() as nursery:
        hub = memnet.MemoryHub(nursery)
        validators = memnet.make_validators(root, 4, close_interval_ms=100, heartbeat_interval_ms=300)
        for v in validators:
            await memnet.start(hub, v)
        node = validators[0].node
        assert node is not None
        # the in-memory transport records every penalty; keep that record bounded over long runs
        setattr(node.herder.transport, "penalties", collections.deque(maxlen=1000))  # noqa: B010
        steward, alice, bob = (Keypair(nacl.utils.random(32)) for _ in range(3))
        nid = node.api.network_id
        txs = [
            _tx(
                nid,
                steward,
                1,
                CreateCurrency("HOUR", CurrencyKind.TIME, 2, (steward.public_key,), 1, 1000, 0, 0),
            ),
            _tx(
                nid,
                steward,
                2,
                AdmitMember("HOUR", alice.public_key, None),
                AdmitMember("HOUR", bob.public_key, None),
            ),
        ]
        txs += [_tx(nid, alice, s, Payment(bob.public_key, "HOUR", 25)) for s in range(1, 4)]
        for tx in txs:
            assert node.api.submit([tx])[0].accepted
            await node.api.wait_for([tx.hash], 60)
        await wait_ledgers_for(node, 2)
        corpus = harvest(node, txs)
        app = create_app(
            node.api,
            admin_token=ADMIN_TOKEN,
            submit_limiter=RateLimiter(rate=1e9, burst=1e9),
            request_limiter=RateLimiter(rate=1e9, burst=1e9),
            explorer=node.api,  # the read endpoints, the event stream and the web pages too
            stream_limits=StreamLimits(
                max_duration_s=0.2, keepalive_s=0.1
            ),  # streams end: ASGITransport waits
        )
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://node")
        addresses = [encode_account(k.public_key) for k in (steward, alice, bob)]
        net = FuzzNetwork(hub, validators, node, corpus, addresses, [t.hash.hex() for t in txs], client)
        try:
            yield net
        finally:
            await client.aclose()
            for v in validators:
                await memnet.stop(hub, v)
            nursery.cancel_scope.cancel()


async def wait_ledgers_for(node: AssembledNode, count: int) -> None:
    target = node.chain.last.seq + count
    with trio.fail_after(60):
        while node.chain.last.seq < target:  # noqa: ASYNC110
            await trio.sleep(0.02)


def harvest(node: AssembledNode, txs: list[Transaction]) -> Corpus:
    c: Corpus = {
        k: []
        for k in (
            "transaction",
            "tx_set",
            "header",
            "results",
            "envelope",
            "statement",
            "close_value",
            "qset",
            "frame",
            "tx_batch",
            "hash_request",
            "range_request",
            "slot_request",
            "latest",
            "envelope_list",
            "ledgers",
            "request",
            "response",
            "stream",
        )
    }
    c["transaction"] = [tx.encode() for tx in txs]
    c["tx_batch"] = [
        wire.encode_tx_batch([tx.encode() for tx in txs]),
        wire.encode_tx_batch([txs[0].encode()]),
    ]
    last = node.chain.last.seq
    for seq in range(max(1, last - 12), last + 1):
        record = node.chain.store.ledger_record(seq)
        if record is None:
            continue
        c["header"].append(record.header)
        c["results"].append(record.results)
        if len(record.tx_set) < 64 * 1024:
            c["tx_set"].append(record.tx_set)
        header = decode_header(record.header)
        c["hash_request"].append(wire.encode_hash_request(header.tx_set_hash))
        c["frame"].append(wire.encode_ledger_closed_frame(seq, header.hash))
        for raw in record.proof[:2]:
            envelope = wire.decode_envelope(raw)
            c["envelope"].append(raw)
            c["statement"].append(envelope.statement)
            c["frame"].append(wire.encode_envelope_frame(envelope))
        for raw in record.proof:
            pledge = decode_statement(wire.decode_envelope(raw).statement).pledge
            if isinstance(pledge, Externalize):
                c["close_value"].append(pledge.commit.value)
            elif isinstance(pledge, (Prepare, Confirm)):
                c["close_value"].append(pledge.ballot.value)
        c["close_value"].append(CloseValue(header.tx_set_hash, header.close_time_ms).encode())
    qset = node.herder.config.quorum_set
    c["qset"].append(qset.encode())
    c["hash_request"].append(wire.encode_hash_request(qset.hash))
    c["range_request"] = [wire.encode_range_request(1, 64), wire.encode_range_request(max(1, last - 3), 3)]
    c["slot_request"] = [wire.encode_slot_request(last), wire.encode_slot_request(last + 1)]
    c["latest"] = [wire.encode_latest(wire.LatestLedger(last, node.chain.last.hash))]
    envelopes = [wire.decode_envelope(e) for e in c["envelope"][:4]]
    c["envelope_list"] = [wire.encode_envelope_list(envelopes), wire.encode_envelope_list([])]
    c["ledgers"] = [node.peers.answer(wire.REQ_LEDGERS, wire.encode_range_request(max(1, last - 2), 2))]
    c["request"] = [
        encode_request(name, payload)
        for name, payload in (
            (wire.REQ_LEDGERS, c["range_request"][0]),
            (wire.REQ_QSET, c["hash_request"][-1]),
            (wire.REQ_LATEST, b""),
            (wire.REQ_SCP_STATE, c["slot_request"][0]),
        )
    ]
    c["response"] = [encode_response(True, c["latest"][0]), encode_response(False, "not found")]
    c["stream"] = [
        b"".join(encode_frame(x) for x in c["request"]),
        encode_frame(c["frame"][0]) * 3,
        encode_frame(c["response"][0]),
    ]
    c["close_value"] = list(dict.fromkeys(c["close_value"]))[:16]
    for key, items in c.items():
        assert items, f"corpus {key} is empty"
    return c


# -- inputs -----------------------------------------------------------------------------------

INTERESTING_INTS = (
    0,
    1,
    -1,
    2,
    127,
    128,
    255,
    256,
    65535,
    65536,
    2**31 - 1,
    2**31,
    2**32 - 1,
    2**32,
    2**63 - 1,
    -(2**63),
    2**64 - 1,
    -32,
    -33,
)


def _leaf() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(INTERESTING_INTS),
        st.integers(-(2**63), 2**64 - 1),
        st.booleans(),
        st.none(),
        st.binary(max_size=40),
        st.text(max_size=12),
        st.sampled_from([b"\x00" * 32, b"\xff" * 32, b"\x00" * 64, b"", "", ()]),
    )


def _paths(obj: Any, prefix: tuple[int, ...] = ()) -> list[tuple[int, ...]]:
    found = [prefix]
    if isinstance(obj, tuple):
        for index, item in enumerate(obj):
            found += _paths(item, (*prefix, index))
    return found


def _get(obj: Any, path: tuple[int, ...]) -> Any:
    for index in path:
        obj = obj[index]
    return obj


def _set(obj: Any, path: tuple[int, ...], value: Any) -> Any:
    if not path:
        return value
    items = list(obj)
    items[path[0]] = _set(items[path[0]], path[1:], value)
    return tuple(items)


@st.composite
def tree_mutation(draw: st.DrawFn, seed_bytes: bytes) -> bytes:
    """Decode a real encoding and change its structure: replace a field (boundary integers, other
    types), swap two fields, drop or duplicate an element, or mutate a nested encoded blob."""
    try:
        obj = msgpack.unpackb(seed_bytes, raw=False, use_list=False, strict_map_key=False)
    except Exception:
        return seed_bytes
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(obj)
        path = draw(st.sampled_from(paths))
        target = _get(obj, path)
        op = draw(st.sampled_from(("replace", "swap", "drop", "dup", "inner", "wrap")))
        if op == "replace" or (
            op in ("drop", "dup") and (not path or not isinstance(_get(obj, path[:-1]), tuple))
        ):
            obj = _set(obj, path, draw(_leaf()))
        elif op == "swap" and len(paths) > 1:
            other = draw(st.sampled_from(paths))
            if other[: len(path)] != path and path[: len(other)] != other:
                a, b = _get(obj, path), _get(obj, other)
                obj = _set(_set(obj, path, b), other, a)
        elif op in ("drop", "dup"):
            parent = list(_get(obj, path[:-1]))
            index = path[-1]
            if op == "drop":
                del parent[index]
            else:
                parent.insert(index, parent[index])
            obj = _set(obj, path[:-1], tuple(parent))
        elif op == "inner" and isinstance(target, bytes) and target:
            obj = _set(obj, path, draw(byte_mutation(target)))
        elif op == "wrap":
            obj = _set(obj, path, (target,))
    try:
        return msgpack.packb(obj, use_bin_type=True)  # type: ignore[no-any-return]
    except Exception:
        return seed_bytes


@st.composite
def byte_mutation(draw: st.DrawFn, data: bytes) -> bytes:
    """Bit flips, byte sets, truncation, extension, insertion, deletion, slice swaps."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(("flip", "set", "truncate", "extend", "insert", "delete", "swap")))
        n = len(out)
        if op == "flip" and n:
            i = draw(st.integers(0, n - 1))
            out[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and n:
            out[draw(st.integers(0, n - 1))] = draw(
                st.sampled_from(
                    (
                        0x00,
                        0xFF,
                        0x7F,
                        0x80,
                        0xC0,
                        0xC1,
                        0xCC,
                        0xCF,
                        0xD3,
                        0xDC,
                        0xDD,
                        0xC4,
                        0xC6,
                        0x90,
                        0x9F,
                        0xCA,
                        0xCB,
                        0x81,
                        0xD4,
                    )
                )
            )
        elif op == "truncate" and n:
            del out[draw(st.integers(0, n - 1)) :]
        elif op == "extend":
            out += draw(st.binary(min_size=1, max_size=64))
        elif op == "insert":
            i = draw(st.integers(0, n))
            out[i:i] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete" and n:
            i = draw(st.integers(0, n - 1))
            del out[i : i + draw(st.integers(1, 16))]
        elif op == "swap" and n > 2:
            i, j = sorted((draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))))
            k = draw(st.integers(1, max(1, min(8, j - i))))
            if i + k <= j:
                out[i : i + k], out[j : j + k] = out[j : j + k], out[i : i + k]
    return bytes(out)


def payloads(corpus: Corpus, keys: tuple[str, ...]) -> st.SearchStrategy[bytes]:
    """Random bytes (some shaped like msgpack arrays), real encodings, and mutations of them."""
    seeds = [item for key in keys for item in corpus[key]]
    pick = st.sampled_from(seeds)
    return st.one_of(
        st.binary(max_size=256),
        st.binary(max_size=64).map(lambda b: b"\x92\x01" + b),
        st.binary(max_size=64).map(lambda b: b"\x93\x01" + b),
        pick,
        pick.flatmap(byte_mutation),
        pick.flatmap(byte_mutation),
        pick.flatmap(tree_mutation),
        pick.flatmap(tree_mutation),
        pick.flatmap(tree_mutation),
    )


# -- targets ----------------------------------------------------------------------------------


@dataclass
class Crash:
    target: str
    error: str
    input: str
    trace: str


@dataclass
class Target:
    name: str
    strategy: Callable[[FuzzNetwork], st.SearchStrategy[Any]]
    run: Callable[[FuzzNetwork, Any], None]  # raises on a crash; called in the worker thread
    weight: float = 1.0
    # for the fast random engine: corpus keys of its seeds, and how mutated bytes become its input
    keys: tuple[str, ...] = ()
    prepare: Callable[[FuzzNetwork, bytes], Any] | None = None


def _decoder(
    name: str,
    fn: Callable[[bytes], object],
    allowed: tuple[type[BaseException], ...],
    keys: tuple[str, ...],
    weight: float = 1.0,
) -> Target:
    def run(net: FuzzNetwork, data: bytes) -> None:
        try:
            fn(data)
        except allowed:
            return

    return Target(name, lambda net: payloads(net.corpus, keys), run, weight, keys)


def _on_loop(net: FuzzNetwork, fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    return trio.from_thread.run(fn, *args, trio_token=net.token)


def _request_target(name: str, keys: tuple[str, ...]) -> Target:
    def run(net: FuzzNetwork, data: bytes) -> None:
        try:
            answer = _on_loop(net, net.node.peers.on_request, name, data, PEER)
        except NodeError:
            return
        assert isinstance(answer, bytes)

    return Target(f"on_request:{name}", lambda net: payloads(net.corpus, keys), run, keys=keys)


def _on_frame(net: FuzzNetwork, data: bytes) -> None:
    assert _on_loop(net, net.node.peers.on_frame, data, PEER) is None


def _signed_frames(net: FuzzNetwork) -> st.SearchStrategy[bytes]:
    """What a byzantine validator can send: mutated statements that still carry a valid signature
    (signed with validator 1's key, so they pass the signature check and reach SCP)."""
    signer = net.validators[1].keypair
    nid = net.node.api.network_id
    statements = st.sampled_from(net.corpus["statement"])
    mutated = st.one_of(
        statements.flatmap(tree_mutation),
        statements.flatmap(tree_mutation),
        statements.flatmap(byte_mutation),
    )
    return mutated.map(
        lambda s: wire.encode_envelope_frame(wire.sign_envelope(nid, _claim(s, signer.public_key), signer))
    )


def _sign_as_validator(net: FuzzNetwork, statement: bytes) -> bytes:
    signer = net.validators[1].keypair
    return wire.encode_envelope_frame(
        wire.sign_envelope(net.node.api.network_id, _claim(statement, signer.public_key), signer)
    )


def _claim(statement: bytes, node_id: bytes) -> bytes:
    """Put ``node_id`` in a (mutated) statement's node id field, if it still has one."""
    try:
        obj = msgpack.unpackb(statement, raw=False, use_list=False, strict_map_key=False)
        if isinstance(obj, tuple) and len(obj) > 1 and isinstance(obj[1], bytes):
            return msgpack.packb((*obj[:1], node_id, *obj[2:]), use_bin_type=True)  # type: ignore[no-any-return]
    except Exception:
        pass
    return statement


def _on_tx_batch(net: FuzzNetwork, data: bytes) -> None:
    assert isinstance(_on_loop(net, net.node.peers.on_tx_batch, data, PEER), GossipVerdict)


def _request_names() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(
            (wire.REQ_TX_SET, wire.REQ_QSET, wire.REQ_LEDGERS, wire.REQ_LATEST, wire.REQ_SCP_STATE)
        ),
        st.text(max_size=70),
    )


def _any_request(net: FuzzNetwork, item: tuple[str, bytes]) -> None:
    try:
        answer = _on_loop(net, net.node.peers.on_request, item[0], item[1], PEER)
    except NodeError:
        return
    assert isinstance(answer, bytes)


class _BytesStream:
    """A stream that hands out ``data`` in small pieces (never suspends)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def read(self, n: int | None = None) -> bytes:
        size = 1 + len(self.data) % 7 if n is None else min(n, 1 + len(self.data) % 7)
        chunk, self.data = self.data[:size], self.data[size:]
        return chunk


def read_frames(data: bytes) -> None:
    """Read length-prefixed frames (cap 4 KiB) until the bytes run out; raises FrameError/EOFError."""

    async def read_all() -> None:
        reader = FrameReader(_BytesStream(data))
        for _ in range(len(data) + 1):
            frame = await reader.next_frame(4096)
            assert 0 < len(frame) <= 4096
        raise AssertionError("more frames than bytes")

    coroutine = read_all()
    try:
        coroutine.send(None)
    except StopIteration:
        pass
    else:  # pragma: no cover - the fake stream never suspends
        coroutine.close()
        raise AssertionError("FrameReader suspended on an in-memory stream")


def decoder_targets() -> list[Target]:
    bad = (DecodeError,)
    nid = network_id(PASSPHRASE)

    def with_network(fn: Callable[[bytes, bytes], object]) -> Callable[[bytes], object]:
        return lambda data: fn(data, nid)

    return [
        _decoder("wire.decode_frame", wire.decode_frame, bad, ("frame", "envelope")),
        _decoder("wire.decode_envelope", wire.decode_envelope, bad, ("envelope",)),
        _decoder("wire.decode_tx_batch", wire.decode_tx_batch, bad, ("tx_batch",)),
        _decoder("wire.decode_hash_request", wire.decode_hash_request, bad, ("hash_request",)),
        _decoder("wire.decode_range_request", wire.decode_range_request, bad, ("range_request",)),
        _decoder("wire.decode_slot_request", wire.decode_slot_request, bad, ("slot_request",)),
        _decoder("wire.decode_latest", wire.decode_latest, bad, ("latest",)),
        _decoder("wire.decode_envelope_list", wire.decode_envelope_list, bad, ("envelope_list",)),
        _decoder("wire.decode_ledgers", wire.decode_ledgers, bad, ("ledgers",)),
        _decoder("consensus.decode_statement", decode_statement, bad, ("statement",)),
        _decoder("consensus.decode_quorum_set", decode_quorum_set, (DecodeError, ConsensusError), ("qset",)),
        _decoder("protocol.decode_transaction", with_network(decode_transaction), bad, ("transaction",)),
        _decoder("protocol.decode_tx_set", with_network(decode_tx_set), bad, ("tx_set",)),
        _decoder("protocol.decode_header", decode_header, bad, ("header",)),
        _decoder("protocol.decode_close_value", decode_close_value, bad, ("close_value",)),
        _decoder("protocol.decode_results", decode_results, bad, ("results",)),
        _decoder("framing.decode_request", decode_request, (FrameError,), ("request",)),
        _decoder("framing.decode_response", decode_response, (FrameError,), ("response",)),
        _decoder("framing.FrameReader", read_frames, (FrameError, EOFError), ("stream",)),
    ]


def handler_targets() -> list[Target]:
    return [
        Target(
            "on_frame",
            lambda net: payloads(net.corpus, ("frame", "envelope")),
            _on_frame,
            2.0,
            ("frame", "envelope"),
        ),
        Target("on_frame:signed", _signed_frames, _on_frame, 2.0, ("statement",), _sign_as_validator),
        Target(
            "on_tx_batch", lambda net: payloads(net.corpus, ("tx_batch",)), _on_tx_batch, keys=("tx_batch",)
        ),
        _request_target(wire.REQ_TX_SET, ("hash_request",)),
        _request_target(wire.REQ_QSET, ("hash_request",)),
        _request_target(wire.REQ_LEDGERS, ("range_request",)),
        _request_target(wire.REQ_LATEST, ("latest", "slot_request")),
        _request_target(wire.REQ_SCP_STATE, ("slot_request",)),
        Target(
            "on_request:*",
            lambda net: st.tuples(
                _request_names(), payloads(net.corpus, ("hash_request", "range_request", "slot_request"))
            ),
            _any_request,
        ),
    ]


# -- HTTP -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpCase:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None


# digits as str.isdigit() sees them (superscripts and other scripts' digits too) and separators
DIGITISH = "0123456789\u00b2\u00b3\u00b9\u0661\u0662\u06f3\u0967\uff11\u2460.-+_ e"


def _numberish() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(alphabet=DIGITISH, max_size=26),
        st.text(alphabet=DIGITISH[:-6], min_size=1, max_size=8),  # str.isdigit() is true
        st.text(alphabet=DIGITISH[:-5], min_size=3, max_size=14),  # with a dot: cursors
        st.integers(0, 2**70).map(str),
        st.tuples(st.integers(0, 2**70), st.integers(0, 2**40)).map(lambda p: f"{p[0]}.{p[1]}"),
    )


def _segment(valid: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(valid),
        _numberish(),
        st.sampled_from(valid).flatmap(
            lambda v: byte_mutation(v.encode()).map(lambda b: b.decode("utf-8", "replace"))
        ),
        st.text(max_size=80),
        st.sampled_from(
            [
                "",
                "0",
                "-1",
                "latest",
                "1e3",
                "99999999999999999999",
                "%00",
                "..",
                "%2e%2e",
                "\u0661\u0662",
                "\u00b2",
                "NaN",
                "inf",
                "a" * 5000,
            ]
        ),
    )


def _query() -> st.SearchStrategy[str]:
    names = st.sampled_from(
        ["wait", "limit", "before", "x", "after", "ledgers", "account", "currency", "last_event_id", "lang"]
    )
    values = st.one_of(
        st.sampled_from(
            [
                "0",
                "0.5",
                "1",
                "-1",
                "nan",
                "inf",
                "1e308",
                "200",
                "201",
                "1.0",
                "5.3",
                "1.2.3",
                "",
                "99999999999999999999999",
                "\u0661",
            ]
        ),
        st.text(max_size=20),
        _numberish(),
    )
    return st.lists(st.tuples(names, values), max_size=3).map(
        lambda items: ("?" + "&".join(f"{httpx.QueryParams({k: v})}" for k, v in items)) if items else ""
    )


def http_cases(net: FuzzNetwork) -> st.SearchStrategy[HttpCase]:
    txs = net.corpus["transaction"]
    tx_b64 = st.one_of(
        st.sampled_from(txs),
        st.sampled_from(txs).flatmap(byte_mutation),
        st.sampled_from(txs).flatmap(tree_mutation),
        st.binary(max_size=200),
    ).map(lambda b: base64.b64encode(b).decode())
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
        max_leaves=12,
    )
    tx_bodies = st.one_of(
        tx_b64.map(lambda t: {"tx": t}),
        st.lists(tx_b64, min_size=0, max_size=5).map(lambda ts: {"txs": ts}),
        st.fixed_dictionaries({"tx": json_values}),
        st.fixed_dictionaries({"txs": json_values}),
        json_values,
    ).map(lambda obj: json.dumps(obj).encode())
    bodies = st.one_of(
        st.none(),
        tx_bodies,
        st.binary(max_size=200),
        st.sampled_from(
            [
                b"{",
                b"null",
                b"[]",
                b"\xff\xfe",
                b'{"level": "debug"}',
                b'{"level": 5}',
                b'{"tx": "' + b"A" * 70000 + b'"}',
            ]
        ),
    )
    seg_addr = _segment(net.addresses)
    seg_hash = _segment(net.tx_hashes)
    seg_seq = _segment(["1", "2", "latest", str(net.ledger_seq())])
    seg_code = _segment(["HOUR", "X", "ABCDEFGHIJKLM"])
    seg_proposal = _segment(["HOUR-1", "hour-2", "X-0", "HOUR-99999999999"])  # the pages of issues 14, 15
    paths = st.one_of(
        st.just("/tx"),
        seg_hash.map(lambda s: f"/tx/{_quote(s)}"),
        seg_addr.map(lambda s: f"/accounts/{_quote(s)}"),
        seg_addr.map(lambda s: f"/accounts/{_quote(s)}/history"),
        seg_code.map(lambda s: f"/currencies/{_quote(s)}"),
        seg_seq.map(lambda s: f"/ledgers/{_quote(s)}"),
        seg_code.map(lambda s: f"/currencies/{_quote(s)}/members"),
        st.sampled_from(["/ledgers", "/events"]),
        seg_hash.map(lambda s: f"/web/tx/{_quote(s)}"),
        seg_addr.map(lambda s: f"/web/accounts/{_quote(s)}"),
        seg_code.map(lambda s: f"/web/currencies/{_quote(s)}"),
        seg_seq.map(lambda s: f"/web/ledgers/{_quote(s)}"),
        st.sampled_from(["/web/", "/web/fragments/ledger/2", "/web/static/style.css", "/web/nope"]),
        seg_proposal.map(lambda s: f"/web/proposals/{_quote(s)}"),
        seg_proposal.map(lambda s: f"/web/fragments/proposals/{_quote(s)}"),
        seg_code.map(lambda s: f"/web/proposals?currency={_quote(s)}&before=2"),
        st.tuples(seg_code, st.sampled_from(["businesses", "credits", "exchange"])).map(
            lambda t: f"/web/currencies/{_quote(t[0])}/{t[1]}"
        ),
        seg_addr.map(lambda s: f"/web/currencies/HOUR/credits/{_quote(s)}"),
        st.sampled_from(
            [
                "/node",
                "/peers",
                "/health",
                "/metrics",
                "/admin/log-level",
                "/admin/x",
                "/",
                "/admin/",
                "/tx/",
                "/accounts//history",
                "/ledgers/",
            ]
        ),
        st.text(max_size=30).map(lambda s: "/" + _quote(s)),
    )
    auth = st.sampled_from(
        [
            (),
            (("authorization", f"Bearer {ADMIN_TOKEN}"),),
            (("authorization", "Bearer x"),),
            (("authorization", "Bearer "),),
            (("authorization", ADMIN_TOKEN),),
            (("content-type", "application/json"),),
            (("last-event-id", "2.1"),),
            (("last-event-id", "99999999999.1"),),
            (("accept-language", "ar;q=x, en"),),
        ]
    )
    methods = st.sampled_from(["GET"] * 6 + ["POST"] * 3 + ["PUT", "DELETE", "HEAD", "OPTIONS"])
    return st.builds(
        HttpCase, methods, st.tuples(paths, _query()).map(lambda pq: pq[0] + pq[1]), auth, bodies
    )


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def _http_run(net: FuzzNetwork, case: HttpCase) -> None:
    async def go() -> httpx.Response:
        with trio.fail_after(30):
            return await net.client.request(
                case.method, case.path, headers=dict(case.headers), content=case.body
            )

    response: httpx.Response = _on_loop(net, go)
    status = response.status_code
    if 300 <= status < 400:  # Starlette redirects /tx/ to /tx
        return
    if status == 503 and case.path.startswith("/health"):
        return
    assert status < 500, f"{case.method} {case.path} -> {status} {response.text[:200]}"
    if case.method == "HEAD":
        return
    if case.path.split("?")[0] == "/metrics" and status == 200:
        return
    if case.path.startswith("/web/"):  # pages answer HTML, their errors too; 405 and static files not
        if case.method == "GET" and not case.path.startswith("/web/static/"):
            assert response.headers["content-type"].startswith("text/html"), (case.path, status)
        if response.headers.get("content-type", "").startswith(("text/html", "text/css", "text/javascript")):
            return
    if case.path.split("?")[0] == "/events" and status == 200:
        assert response.headers["content-type"].startswith("text/event-stream")
        return
    body = response.json()
    if status >= 400:
        assert isinstance(body, dict), body
        if status == 404 and body.get("status") == "unknown":  # GET /tx/<hash> of an unknown transaction
            return
        assert set(body) == {"error", "message"}, body
    if case.path.startswith("/admin") and status == 200:
        assert dict(case.headers).get("authorization") == f"Bearer {ADMIN_TOKEN}"


def http_targets() -> list[Target]:
    return [Target("http", http_cases, _http_run, 3.0)]


def all_targets() -> list[Target]:
    return decoder_targets() + handler_targets() + http_targets()


# -- the runner -------------------------------------------------------------------------------


@dataclass
class TargetStats:
    examples: int = 0  # Hypothesis examples
    crashes: int = 0
    seconds: float = 0.0
    random_examples: int = 0  # inputs from the fast random mutator
    random_seconds: float = 0.0


@dataclass
class FuzzReport:
    per_target: dict[str, TargetStats] = field(default_factory=dict)
    crashes: list[Crash] = field(default_factory=list)
    rss_mb_start: float = 0.0
    rss_mb_end: float = 0.0
    rss_mb_peak: float = 0.0
    ledger_before: int = 0
    ledger_after: int = 0
    seconds_to_next_ledgers: float = 0.0
    rss_trace: list[tuple[str, int, float]] = field(default_factory=list)  # (target, inputs so far, MB)

    @property
    def examples(self) -> int:
        return sum(s.examples + s.random_examples for s in self.per_target.values())

    def as_json(self) -> dict[str, Any]:
        seconds = sum(s.seconds + s.random_seconds for s in self.per_target.values())
        return {
            "examples": self.examples,
            "crashes": sum(s.crashes for s in self.per_target.values()),
            "hypothesis_examples": sum(s.examples for s in self.per_target.values()),
            "random_examples": sum(s.random_examples for s in self.per_target.values()),
            "seconds": round(seconds, 1),
            "examples_per_s": round(self.examples / seconds, 1) if seconds else 0.0,
            "rss_mb_start": round(self.rss_mb_start, 1),
            "rss_mb_end": round(self.rss_mb_end, 1),
            "rss_mb_peak": round(self.rss_mb_peak, 1),
            "ledger_before": self.ledger_before,
            "ledger_after": self.ledger_after,
            "node_closed_ledgers_after_s": round(self.seconds_to_next_ledgers, 2),
            "rss_trace": [[name, done, round(mb, 1)] for name, done, mb in self.rss_trace],
            "per_target": {
                name: {
                    "examples": s.examples + s.random_examples,
                    "hypothesis": s.examples,
                    "random": s.random_examples,
                    "crashes": s.crashes,
                    "hypothesis_per_s": round(s.examples / s.seconds, 1) if s.seconds else 0.0,
                    "random_per_s": round(s.random_examples / s.random_seconds, 1)
                    if s.random_seconds
                    else 0.0,
                }
                for name, s in self.per_target.items()
            },
            "crash_details": [c.__dict__ for c in self.crashes[:20]],
        }


def rss_mb() -> float:
    return float(psutil.Process(os.getpid()).memory_info().rss) / (1024 * 1024)


def fuzz_target(
    net: FuzzNetwork,
    target: Target,
    examples: int,
    report: FuzzReport,
    *,
    chunk: int = 2_000,
    seed_base: int = 0,
    max_crashes: int = 50,
) -> None:
    """Run ``examples`` Hypothesis examples against ``target`` (in a worker thread), in chunks with
    fresh seeds so Hypothesis's own bookkeeping stays bounded."""
    stats = report.per_target.setdefault(target.name, TargetStats())
    strategy = target.strategy(net)
    done = 0
    round_no = 0
    count = [0]
    while done < examples:
        size = min(chunk, examples - done)
        before = count[0]

        @seed(seed_base * 1_000_003 + round_no)
        @settings(
            max_examples=size,
            database=None,
            deadline=None,
            derandomize=False,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
        )
        @given(strategy)
        def prop(value: Any) -> None:
            count[0] += 1
            try:
                target.run(net, value)
            except Exception as exc:  # a crash: record it, keep fuzzing
                stats.crashes += 1
                if len(report.crashes) < max_crashes:
                    shown = value.hex() if isinstance(value, bytes) else repr(value)
                    report.crashes.append(
                        Crash(
                            target.name,
                            f"{type(exc).__name__}: {exc}"[:500],
                            shown[:2000],
                            "".join(traceback.format_exception(exc))[-3000:],
                        )
                    )

        began = time.perf_counter()
        prop()
        stats.seconds += time.perf_counter() - began
        stats.examples += count[0] - before
        done += max(count[0] - before, 1)  # a strategy that cannot produce more ends its chunk early
        round_no += 1
        report.rss_mb_peak = max(report.rss_mb_peak, rss_mb())


# -- the fast random engine (long runs) -----------------------------------------------------------
# The same mutation operators as the Hypothesis strategies above, drawn from random.Random: about
# 10-50x cheaper per input than Hypothesis's generation, so long runs reach millions of inputs.


def _rand_leaf(rng: random.Random) -> Any:
    choice = rng.randrange(8)
    if choice == 0:
        return rng.choice(INTERESTING_INTS)
    if choice == 1:
        return rng.randrange(-(2**63), 2**64)
    if choice == 2:
        return rng.random() < 0.5
    if choice == 3:
        return None
    if choice == 4:
        return rng.randbytes(rng.randrange(41))
    if choice == 5:
        return "".join(chr(rng.randrange(32, 0x2FF)) for _ in range(rng.randrange(13)))
    return rng.choice([b"\x00" * 32, b"\xff" * 32, b"\x00" * 64, b"", "", ()])


def rand_byte_mutation(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        n = len(out)
        if op == 0 and n:
            out[rng.randrange(n)] ^= 1 << rng.randrange(8)
        elif op == 1 and n:
            out[rng.randrange(n)] = rng.choice(
                (
                    0x00,
                    0xFF,
                    0x7F,
                    0x80,
                    0xC0,
                    0xC1,
                    0xCC,
                    0xCF,
                    0xD3,
                    0xDC,
                    0xDD,
                    0xC4,
                    0xC6,
                    0x90,
                    0x9F,
                    0xCA,
                    0xCB,
                    0x81,
                    0xD4,
                )
            )
        elif op == 2 and n:
            del out[rng.randrange(n) :]
        elif op == 3:
            out += rng.randbytes(rng.randint(1, 64))
        elif op == 4:
            i = rng.randint(0, n)
            out[i:i] = rng.randbytes(rng.randint(1, 16))
        elif op == 5 and n:
            i = rng.randrange(n)
            del out[i : i + rng.randint(1, 16)]
        elif op == 6 and n > 2:
            i, j = sorted((rng.randrange(n), rng.randrange(n)))
            k = rng.randint(1, max(1, min(8, j - i)))
            if i + k <= j:
                out[i : i + k], out[j : j + k] = out[j : j + k], out[i : i + k]
    return bytes(out)


def rand_tree_mutation(rng: random.Random, data: bytes) -> bytes:
    try:
        obj = msgpack.unpackb(data, raw=False, use_list=False, strict_map_key=False)
    except Exception:
        return data
    for _ in range(rng.randint(1, 3)):
        paths = _paths(obj)
        path = rng.choice(paths)
        target = _get(obj, path)
        op = rng.randrange(6)
        parent_ok = bool(path) and isinstance(_get(obj, path[:-1]), tuple)
        if op == 0 or (op in (2, 3) and not parent_ok):
            obj = _set(obj, path, _rand_leaf(rng))
        elif op == 1 and len(paths) > 1:
            other = rng.choice(paths)
            if other[: len(path)] != path and path[: len(other)] != other:
                a, b = _get(obj, path), _get(obj, other)
                obj = _set(_set(obj, path, b), other, a)
        elif op in (2, 3):
            parent = list(_get(obj, path[:-1]))
            if op == 2:
                del parent[path[-1]]
            else:
                parent.insert(path[-1], parent[path[-1]])
            obj = _set(obj, path[:-1], tuple(parent))
        elif op == 4 and isinstance(target, bytes) and target:
            obj = _set(obj, path, rand_byte_mutation(rng, target))
        elif op == 5:
            obj = _set(obj, path, (target,))
    try:
        return msgpack.packb(obj, use_bin_type=True)  # type: ignore[no-any-return]
    except Exception:
        return data


def rand_input(rng: random.Random, seeds: list[bytes]) -> bytes:
    choice = rng.randrange(10)
    if choice == 0:
        return rng.randbytes(rng.randrange(257))
    if choice == 1:
        return rng.choice((b"\x92\x01", b"\x93\x01")) + rng.randbytes(rng.randrange(65))
    if choice == 2:
        return rng.choice(seeds)
    if choice < 6:
        return rand_byte_mutation(rng, rng.choice(seeds))
    return rand_tree_mutation(rng, rng.choice(seeds))


def fuzz_target_random(
    net: FuzzNetwork,
    target: Target,
    examples: int,
    report: FuzzReport,
    *,
    seed_value: int,
    max_crashes: int = 50,
) -> None:
    """Run ``examples`` inputs from the random engine against a bytes target (worker thread)."""
    stats = report.per_target.setdefault(target.name, TargetStats())
    rng = random.Random(seed_value)
    seeds = [item for key in target.keys for item in net.corpus[key]]
    began = time.perf_counter()
    for index in range(examples):
        data = rand_input(rng, seeds)
        try:
            target.run(net, target.prepare(net, data) if target.prepare else data)
        except Exception as exc:
            stats.crashes += 1
            if len(report.crashes) < max_crashes:
                report.crashes.append(
                    Crash(
                        target.name,
                        f"{type(exc).__name__}: {exc}"[:500],
                        data.hex()[:2000],
                        "".join(traceback.format_exception(exc))[-3000:],
                    )
                )
        if index % 20_000 == 19_999:
            report.rss_mb_peak = max(report.rss_mb_peak, rss_mb())
    stats.random_examples += examples
    stats.random_seconds += time.perf_counter() - began


async def run_fuzz(
    root: Path,
    examples: int,
    *,
    targets: list[Target] | None = None,
    seed_base: int = 0,
    progress: Callable[[str], None] | None = None,
    chunk: int = 2_000,
    random_examples: int = 0,
    rounds: int = 1,
) -> FuzzReport:
    """Start the network, fuzz ``examples`` Hypothesis inputs split over the targets by weight (and
    ``random_examples`` inputs from the random engine over the targets that take bytes), in
    ``rounds`` passes over all targets (RSS is traced after each, to show it levels off), check
    the node still closes ledgers, and report."""
    chosen = targets if targets is not None else all_targets()
    report = FuzzReport()
    async with fuzz_network(root) as net:
        total_weight = sum(t.weight for t in chosen)
        random_weight = sum(t.weight for t in chosen if t.keys)
        report.rss_mb_start = report.rss_mb_peak = rss_mb()
        report.ledger_before = net.ledger_seq()
        for round_no in range(rounds):
            for index, target in enumerate(chosen):
                seed_value = (seed_base * 1000 + index) * 1000 + round_no
                share = max(1, round(examples * target.weight / total_weight / rounds)) if examples else 0
                if share:
                    await trio.to_thread.run_sync(
                        lambda t=target, n=share, v=seed_value: fuzz_target(
                            net, t, n, report, seed_base=v, chunk=chunk
                        )
                    )
                random_share = (
                    round(random_examples * target.weight / random_weight / rounds) if target.keys else 0
                )
                if random_share:
                    await trio.to_thread.run_sync(
                        lambda t=target, n=random_share, v=seed_value: fuzz_target_random(
                            net, t, n, report, seed_value=v
                        )
                    )
                if progress is not None and target.name in report.per_target:
                    s = report.per_target[target.name]
                    progress(
                        f"round {round_no + 1}/{rounds} {target.name}: {s.examples} hypothesis + "
                        f"{s.random_examples} random inputs, {s.crashes} crashes, rss {rss_mb():.0f} MB, "
                        f"ledger {net.ledger_seq()}"
                    )
            report.rss_trace.append((f"round {round_no + 1}", report.examples, rss_mb()))
        report.rss_mb_end = rss_mb()
        report.ledger_after = net.ledger_seq()
        report.seconds_to_next_ledgers = await wait_ledgers(net, 3)
    return report
