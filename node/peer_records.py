"""Signed peer records: how a node says where it can be reached, so that others can pass it on.

A record names a node by its Ed25519 key (its validator id and libp2p peer identity at once), the
network, a sequence number (the signing time in wall-clock milliseconds: a newer record replaces
an older one) and up to four announce addresses, and is signed by that very key over all of it.
Nodes hand records on (``node.peer_requests.PEERS``), but nobody can forge or alter one: a
table of addresses built from records cannot be poisoned by a relaying peer, only thinned.

Decoding is strict (canonical msgpack, exact sizes, every address of the announce shape of
``node.netaddr``), and a record of another network or with a signature that does not verify is
refused (``RecordError``, a ``DecodeError``). Freshness (``stale`` / ``from the future``) depends on
the clock, so ``check_fresh`` judges it apart from decoding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from node.netaddr import MultiaddrError, parse_announce
from node.peer_ids import peer_id_for
from protocol import codec
from protocol.errors import DecodeError
from protocol.hashing import HASH_SIZE, blake2b256
from protocol.keys import PUBLIC_KEY_SIZE, SIGNATURE_SIZE, Keypair, verify

RECORD_V1 = 1
PERSON_PEER_RECORD = b"tally.peerrec"
MAX_RECORD_ADDRESSES = 4
MAX_RECORD_BYTES = 1024
MAX_RECORDS_PER_ANSWER = 32
MAX_RECORDS_BYTES = MAX_RECORDS_PER_ANSWER * MAX_RECORD_BYTES + 64
MAX_PEER_ANSWER_BYTES = MAX_RECORDS_BYTES + 64 * 64 + 64
MAX_RECORD_AGE_MS = 7 * 24 * 3600 * 1000  # a record older than this is stale: its node re-signs daily
MAX_CLOCK_AHEAD_MS = 10 * 60 * 1000  # a record signed this far in our future is refused


class RecordError(DecodeError):
    """A peer record that must be refused; ``reason`` is the penalty / metric label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"peer record: {detail}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PeerRecord:
    node_key: bytes
    network: bytes
    seq: int  # signing time, wall-clock ms
    addresses: tuple[str, ...]  # announce multiaddrs without /p2p/
    signature: bytes

    @property
    def peer_id(self) -> str:
        return peer_id_for(self.node_key)

    def dial_addresses(self) -> list[str]:
        """The addresses with this node's ``/p2p/`` suffix, as a dialer needs them."""
        return [f"{address}/p2p/{self.peer_id}" for address in self.addresses]

    def encode(self) -> bytes:
        return codec.pack((RECORD_V1, self.node_key, self.network, self.seq, self.addresses, self.signature))


def _signing_payload(node_key: bytes, network: bytes, seq: int, addresses: Sequence[str]) -> bytes:
    return blake2b256(codec.pack((RECORD_V1, node_key, network, seq, tuple(addresses))), PERSON_PEER_RECORD)


def sign_record(keypair: Keypair, network: bytes, seq: int, addresses: Sequence[str]) -> PeerRecord:
    """This node's record. Raises RecordError when an address is not of the announce shape."""
    checked = _checked_addresses(addresses)
    payload = _signing_payload(keypair.public_key, network, seq, checked)
    return PeerRecord(keypair.public_key, network, seq, checked, keypair.sign(payload))


def decode_record(raw: bytes, network: bytes) -> PeerRecord:
    """A record of ``network`` whose signature verifies. Raises RecordError."""
    try:
        obj = codec.unpack(raw, max_size=MAX_RECORD_BYTES, max_array=6, what="peer record")
        return _record_from(obj, network)
    except RecordError:
        raise
    except DecodeError as exc:
        raise RecordError("malformed", str(exc)) from None


def _record_from(obj: object, network: bytes) -> PeerRecord:
    version, node_key, record_network, seq, addresses, signature = codec.array(obj, 6, "peer record")
    codec.tag(version, RECORD_V1, "peer record")
    node_key = codec.blob(node_key, "peer record key", size=PUBLIC_KEY_SIZE)
    record_network = codec.blob(record_network, "peer record network", size=HASH_SIZE)
    seq = codec.integer(seq, "peer record seq")
    texts = codec.seq(addresses, "peer record addresses", max_len=MAX_RECORD_ADDRESSES)
    signature = codec.blob(signature, "peer record signature", size=SIGNATURE_SIZE)
    if not all(isinstance(text, str) for text in texts):
        raise RecordError("malformed", "addresses must be strings")
    checked = _checked_addresses(texts)
    if checked != tuple(texts):
        raise RecordError("malformed", "addresses repeat or are not in canonical form")
    if record_network != network:
        raise RecordError("other_network", "the record belongs to another network")
    if not verify(node_key, _signing_payload(node_key, record_network, seq, checked), signature):
        raise RecordError("bad_signature", "the signature does not verify (forged or altered)")
    return PeerRecord(node_key, record_network, seq, checked, signature)


def _checked_addresses(addresses: Sequence[str]) -> tuple[str, ...]:
    if len(addresses) > MAX_RECORD_ADDRESSES:
        raise RecordError("malformed", f"more than {MAX_RECORD_ADDRESSES} addresses")
    checked = []
    for text in addresses:
        try:
            checked.append(str(parse_announce(text)))
        except MultiaddrError as exc:
            raise RecordError("malformed", str(exc)) from None
    return tuple(dict.fromkeys(checked))


def check_fresh(record: PeerRecord, now_ms: int) -> None:
    """Raise RecordError (``stale`` / ``future``) for a record too old, or signed ahead of us."""
    if record.seq < now_ms - MAX_RECORD_AGE_MS:
        raise RecordError("stale", f"signed {(now_ms - record.seq) // 3_600_000} h ago")
    if record.seq > now_ms + MAX_CLOCK_AHEAD_MS:
        raise RecordError("future", "signed in the future (its node's clock is wrong)")


def encode_records(records: Sequence[PeerRecord]) -> bytes:
    return codec.pack((RECORD_V1, tuple(r.encode() for r in records[:MAX_RECORDS_PER_ANSWER])))


def decode_records(raw: bytes, network: bytes) -> tuple[PeerRecord, ...]:
    """A list of records, every one checked as ``decode_record`` does. Raises RecordError (one
    bad record spoils the answer: an honest peer only passes on records it checked)."""
    try:
        obj = codec.unpack(
            raw, max_size=MAX_RECORDS_BYTES, max_array=MAX_RECORDS_PER_ANSWER, what="peer records"
        )
        version, items = codec.array(obj, 2, "peer records")
        codec.tag(version, RECORD_V1, "peer records")
        blobs = codec.seq(items, "peer records", max_len=MAX_RECORDS_PER_ANSWER)
        return tuple(
            decode_record(codec.blob(b, "peer record", max_len=MAX_RECORD_BYTES), network) for b in blobs
        )
    except RecordError:
        raise
    except DecodeError as exc:
        raise RecordError("malformed", str(exc)) from None


def encode_peers_query(own: bytes) -> bytes:
    """The question of a peer exchange: the asker's own encoded record (empty when it has none)."""
    return codec.pack((RECORD_V1, own))


def decode_peers_query(raw: bytes) -> bytes:
    """The asker's encoded record (checked later, with the network), or b"". Raises DecodeError."""
    obj = codec.unpack(raw, max_size=MAX_RECORD_BYTES + 16, what="peers query")
    version, own = codec.array(obj, 2, "peers query")
    codec.tag(version, RECORD_V1, "peers query")
    return codec.blob(own, "peers query record", max_len=MAX_RECORD_BYTES)


MAX_NEIGHBOURS = 64
_PEER_ID_CHARS = frozenset("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")


@dataclass(frozen=True, slots=True)
class PeerAnswer:
    """The answer to a peer exchange: signed records, and the peers the answerer is connected to
    right now (an unsigned hint: statement flooding skips relaying to a peer that hears the
    statement's signer directly; a wrong hint only costs a relay or a late statement)."""

    records: tuple[PeerRecord, ...]
    neighbours: tuple[str, ...] = ()


def encode_peer_answer(answer: PeerAnswer) -> bytes:
    return codec.pack((RECORD_V1, encode_records(answer.records), answer.neighbours[:MAX_NEIGHBOURS]))


def decode_peer_answer(raw: bytes, network: bytes) -> PeerAnswer:
    """Raises RecordError (a bad record or neighbour spoils the answer)."""
    try:
        obj = codec.unpack(raw, max_size=MAX_PEER_ANSWER_BYTES, what="peer answer")
        version, records, neighbours = codec.array(obj, 3, "peer answer")
        codec.tag(version, RECORD_V1, "peer answer")
        blob = codec.blob(records, "peer answer records", max_len=MAX_RECORDS_BYTES)
        ids = tuple(
            codec.text(n, "neighbour peer id", max_len=60)
            for n in codec.seq(neighbours, "neighbours", max_len=MAX_NEIGHBOURS)
        )
    except DecodeError as exc:
        raise RecordError("malformed", str(exc)) from None
    if any(len(n) < 32 or not set(n) <= _PEER_ID_CHARS for n in ids):
        raise RecordError("malformed", "a neighbour is not a peer id")
    return PeerAnswer(decode_records(blob, network), ids)
