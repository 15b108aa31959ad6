"""The typed peer-request layer: every kind's question and answer survive their own encoding, a bad
answer is penalised once with the kind's declared penalty, and the one quorum-set fetcher holds
peers to the hash (and serves quorum sets exactly as they were hashed)."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import nacl.utils
import pytest
from peerless_transport import lone_validator_config

from consensus import QuorumSet
from node import wire
from node.assembly import assemble_node
from node.errors import NetError
from node.metrics import NodeMetrics
from node.peer_records import PeerAnswer, PeerRecord, encode_peer_answer, sign_record
from node.peer_requests import (
    ALL_KINDS,
    BOARD,
    LATEST,
    LEDGERS,
    PEERS,
    QSET,
    SCP_STATE,
    TX_IDS,
    TX_OFFER,
    TX_SET,
    TXS,
    BadAnswerError,
    LedgerRange,
    PeerRequests,
    RequestKind,
    TxIds,
    TxSetOffer,
    TxsQuery,
)
from node.quorum_sets import QuorumSets
from node.storage.store import LedgerStore
from protocol.hashing import network_id
from protocol.keys import Keypair
from protocol.ledger import make_tx_set
from protocol.operations import Payment
from protocol.transactions import TransactionBody, build_transaction

NETWORK = network_id("Tally peer request test network")
HASH = b"\x07" * 32


class Answers:
    """A transport whose peers answer from a table: peer -> request name -> bytes (or NetError)."""

    def __init__(self, answers: dict[str, dict[str, bytes]]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, str, int]] = []
        self.penalties: list[tuple[str, str]] = []

    def publish(self, data: bytes) -> None: ...
    def publish_board(self, data: bytes) -> None: ...
    def broadcast(self, frame: bytes, *, exclude: Collection[str] = ()) -> None: ...
    def send(self, peer: str, frame: bytes) -> None: ...

    async def request(
        self, peer: str, name: str, payload: bytes, *, max_response: int, timeout_s: float = 10.0
    ) -> bytes:
        self.asked.append((peer, name, max_response))
        answer = self.answers.get(peer, {}).get(name)
        if answer is None:
            raise NetError(peer, "remote", "not known here")
        return answer

    def connected_peers(self) -> list[str]:
        return sorted(self.answers)

    def peers_info(self) -> list[dict[str, Any]]:
        return []

    def penalize(self, peer: str, reason: str) -> None:
        self.penalties.append((peer, reason))


def _samples() -> list[tuple[RequestKind[Any, Any], Any, Any]]:
    payer, payee = Keypair(nacl.utils.random(32)), Keypair(nacl.utils.random(32))
    body = TransactionBody(payer.public_key, 1, 100, b"", (Payment(payee.public_key, "HOUR", 5),))
    tx = build_transaction(NETWORK, body, (payer,))
    tx_set = make_tx_set(HASH, [tx])
    envelope = wire.sign_envelope(NETWORK, b"statement", payer)
    blob = wire.LedgerBlob(b"header", b"tx set", b"results", (envelope.encode(),))
    record = sign_record(payer, NETWORK, 1_700_000_000_000, ["/ip4/203.0.113.7/tcp/4100"])
    return [
        (TX_SET, tx_set.hash, tx_set),
        (TX_IDS, tx_set.hash, TxIds(HASH, (tx.hash,))),
        (TXS, TxsQuery(tx_set.hash, (tx.hash,)), (tx,)),
        (TX_OFFER, TxSetOffer(tx_set.hash, HASH, (tx.hash,)), 1),
        (QSET, QuorumSet(1, (payer.public_key,)).hash, QuorumSet(1, (payer.public_key,))),
        (LATEST, None, wire.LatestLedger(7, HASH)),
        (SCP_STATE, 9, (envelope,)),
        (LEDGERS, LedgerRange(3, 2), (blob,)),
        (BOARD, (1_790_000_000_000, HASH), (b"a listing's bytes", b"another")),
        (PEERS, record.encode(), PeerAnswer((record,), (record.peer_id,))),
    ]


def _forged_records() -> bytes:
    """A peer record whose address was changed after signing: the answer is refused whole."""
    honest = sign_record(Keypair(b"\x05" * 32), NETWORK, 1_700_000_000_000, ["/ip4/203.0.113.7/tcp/4100"])
    forged = PeerRecord(
        honest.node_key, NETWORK, honest.seq, ("/ip4/198.51.100.66/tcp/4100",), honest.signature
    )
    return encode_peer_answer(PeerAnswer((forged,)))


def test_every_kind_is_declared_once_and_sampled_here() -> None:
    names = [kind.name for kind in ALL_KINDS]
    assert len(names) == len(set(names))
    assert {kind.name for kind, _, _ in _samples()} == set(names)


@pytest.mark.parametrize("index", range(len(ALL_KINDS)))
def test_question_and_answer_survive_their_encoding(index: int) -> None:
    kind, query, answer = _samples()[index]
    assert kind.decode_query(kind.encode_query(query)) == query
    encoded = kind.encode_answer(answer)
    assert len(encoded) <= kind.max_response
    assert kind.decode_answer(encoded, NETWORK) == answer


async def test_a_good_answer_is_returned_with_the_kinds_size_limit() -> None:
    qset = QuorumSet(1, (b"\x01" * 32,))
    transport = Answers({"p": {QSET.name: qset.encode()}})
    requests = PeerRequests(transport, NETWORK, NodeMetrics())
    assert await requests.ask("p", QSET, qset.hash) == qset
    assert transport.asked == [("p", QSET.name, QSET.max_response)]
    assert transport.penalties == []


@pytest.mark.parametrize(
    ("kind", "query", "answer", "penalty"),
    [
        (TX_SET, HASH, b"\xc1 not msgpack", "bad_tx_set"),
        (TX_IDS, HASH, wire.encode_tx_ids(HASH, [b"\x02" * 32, b"\x01" * 32]), "bad_tx_set"),
        (QSET, HASH, QuorumSet(1, (b"\x01" * 32,)).encode(), "lie_qset"),
        (LATEST, None, b"", "bad_response"),
        (SCP_STATE, 3, wire.encode_latest(wire.LatestLedger(1, HASH)), "bad_response"),
        (LEDGERS, LedgerRange(1, 1), b"\x90", "bad_ledger"),
        (PEERS, b"", _forged_records(), "bad_peer_record"),
    ],
)
async def test_a_bad_answer_costs_the_kinds_penalty_once(
    kind: RequestKind[Any, Any], query: Any, answer: bytes, penalty: str
) -> None:
    transport = Answers({"liar": {kind.name: answer}})
    metrics = NodeMetrics()
    requests = PeerRequests(transport, NETWORK, metrics)
    with pytest.raises(BadAnswerError) as raised:
        await requests.ask("liar", kind, query)
    assert raised.value.penalty == penalty == kind.penalty
    assert transport.penalties == [("liar", penalty)]
    assert metrics.invalid_messages.labels(penalty)._value.get() == 1


async def test_txs_must_be_the_ones_asked_for() -> None:
    (_, _, tx_set), *_ = _samples()
    tx = tx_set.transactions[0]
    transport = Answers({"p": {TXS.name: TXS.encode_answer((tx,))}})
    requests = PeerRequests(transport, NETWORK, NodeMetrics())
    with pytest.raises(BadAnswerError, match="not the ones asked for"):
        await requests.ask("p", TXS, TxsQuery(tx_set.hash, (HASH,)))
    assert transport.penalties == [("p", "bad_tx_set")]


async def test_the_quorum_set_fetcher_skips_a_liar_and_learns_from_the_next_peer(tmp_path: Path) -> None:
    own = QuorumSet(1, (b"\x09" * 32,))
    # not in normal form (validators unsorted): the hash is of exactly these bytes
    wanted = QuorumSet(2, (b"\x03" * 32, b"\x01" * 32, b"\x02" * 32))
    other = QuorumSet(1, (b"\x04" * 32,))
    transport = Answers({"liar": {QSET.name: other.encode()}, "honest": {QSET.name: wanted.encode()}})
    store = LedgerStore(tmp_path / "db", NETWORK)
    try:
        qsets = QuorumSets(own, store, PeerRequests(transport, NETWORK, NodeMetrics()))
        assert qsets.get(own.hash) == own
        assert qsets.get(wanted.hash) is None
        assert await qsets.fetch(wanted.hash, ["liar", "gone", "honest"]) == wanted
        assert transport.penalties == [("liar", "lie_qset")]
        assert qsets.get(wanted.hash) == wanted
        assert qsets.get(wanted.hash).encode() == wanted.encode()  # type: ignore[union-attr]
        assert await qsets.fetch(other.hash, ["gone"]) is None
        # learnt for good: a fresh cache on the same store knows it
        again = QuorumSets(own, store, PeerRequests(Answers({}), NETWORK, NodeMetrics()))
        assert again.get(wanted.hash) == wanted
    finally:
        store.close()


async def test_a_node_serves_its_quorum_set_exactly_as_hashed(tmp_path: Path) -> None:
    """Regression: the answer came from SCP's normalised copy (validators sorted), whose hash
    differs from the one asked for, and the asker penalised an honest node for ``lie_qset``."""
    keys = sorted((Keypair(nacl.utils.random(32)) for _ in range(3)), key=lambda k: k.public_key)
    qset = QuorumSet(2, tuple(k.public_key for k in reversed(keys)))  # not in sorted order
    config = lone_validator_config(tmp_path, qset)
    node = assemble_node(config=config, keypair=keys[0], transport=Answers({}), metrics=NodeMetrics())
    try:
        answer = node.peers.answer(QSET.name, QSET.encode_query(qset.hash))
        assert QSET.check(qset.hash, QSET.decode_answer(answer, config.network_id)) is None
    finally:
        node.store.close()
