"""The node's own messages between peers (payloads inside the libp2p frames).

* Direct frames: ``[kind, …]`` — an SCP envelope, or a "ledger closed" announcement.
* Requests (one per libp2p protocol name): tx set by hash, quorum set by hash, ledgers by range
  with their proofs, a peer's latest ledger, a peer's SCP statements for a slot.
* SCP envelope: ``[1, statement bytes, signature]``; the validator signs
  ``protocol.hashing.scp_signing_payload(network ID, statement bytes)``.

Everything is decoded strictly (``protocol.codec``); a DecodeError means the peer is misbehaving.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from node.cpu import CPU, Stage
from protocol import codec
from protocol.codec import UINT32_MAX, KeptBytes
from protocol.errors import DecodeError
from protocol.hashing import HASH_SIZE, blake2b256, scp_signing_payload
from protocol.keys import SIGNATURE_SIZE, Keypair, verify

ENVELOPE_V1 = 1
FRAME_ENVELOPE = 1
FRAME_LEDGER_CLOSED = 2
MAX_STATEMENT_BYTES = 64 * 1024
MAX_ENVELOPE_BYTES = MAX_STATEMENT_BYTES + 128
MAX_LEDGERS_PER_REQUEST = 64
MAX_TX_BATCH = 2_000
MAX_TX_BATCH_BYTES = 4 * 1024 * 1024

# request names (each its own libp2p protocol)
REQ_TX_SET = "txset"
REQ_QSET = "qset"
REQ_LEDGERS = "ledgers"
REQ_LATEST = "latest"
REQ_SCP_STATE = "scpstate"
REQ_TX_IDS = "txids"  # a tx set as its previous hash and transaction hashes (peers hold most txs already)
REQ_TXS = "txs"  # the transactions of a tx set a peer lacks, by hash
REQ_TX_OFFER = "txoffer"  # a proposer's tx set as hashes, offered before its statement (node.tx_set_offers)
REQ_BOARD = "board"  # a page of a peer's board listings (node.board), for a node that was away
REQ_PEERS = "peers"  # signed records of the peers a node knows (node.peer_records), ours in the question
MAX_TX_IDS = 100_000


@dataclass(frozen=True, slots=True)
class SignedEnvelope:
    """An SCP statement (still encoded) and its validator's signature over the network id."""

    statement: bytes
    signature: bytes
    _bytes: KeptBytes = field(default_factory=KeptBytes, init=False, repr=False, compare=False)

    def encode(self) -> bytes:
        if self._bytes.encoded is None:
            self._bytes.encoded = codec.pack((ENVELOPE_V1, self.statement, self.signature))
        return self._bytes.encoded

    @property
    def hash(self) -> bytes:
        if self._bytes.hash is None:
            self._bytes.hash = blake2b256(self.statement + self.signature)
        return self._bytes.hash


def sign_envelope(network: bytes, statement: bytes, keypair: Keypair) -> SignedEnvelope:
    return SignedEnvelope(statement, keypair.sign(scp_signing_payload(network, statement)))


def envelope_signature_valid(network: bytes, node_id: bytes, envelope: SignedEnvelope) -> bool:
    with CPU.stage(Stage.SIGNATURES):
        return verify(node_id, scp_signing_payload(network, envelope.statement), envelope.signature)


def decode_envelope_object(obj: object) -> SignedEnvelope:
    version, statement, signature = codec.array(obj, 3, "scp envelope")
    codec.tag(version, ENVELOPE_V1, "scp envelope")
    return SignedEnvelope(
        codec.blob(statement, "scp statement", max_len=MAX_STATEMENT_BYTES),
        codec.blob(signature, "scp signature", size=SIGNATURE_SIZE),
    )


def decode_envelope(data: bytes) -> SignedEnvelope:
    envelope = decode_envelope_object(codec.unpack(data, max_size=MAX_ENVELOPE_BYTES, what="scp envelope"))
    return _keeping(envelope, data)


def _keeping(envelope: SignedEnvelope, encoded: bytes) -> SignedEnvelope:
    """``envelope`` with ``encoded`` kept as its encoding: bytes the strict decoder just proved
    canonical, so relaying or storing the envelope does not pack it again."""
    envelope._bytes.encoded = encoded
    return envelope


# -- direct frames ---------------------------------------------------------------------------


# The canonical head of ``[FRAME_ENVELOPE, envelope]``: a 2-array marker and the kind (a fixint).
_ENVELOPE_FRAME_HEAD = codec.pack((FRAME_ENVELOPE, None))[:2]


def encode_envelope_frame(envelope: SignedEnvelope) -> bytes:
    """The envelope's kept encoding behind the frame head (the same bytes as packing the frame)."""
    return _ENVELOPE_FRAME_HEAD + envelope.encode()


def encode_ledger_closed_frame(seq: int, ledger_hash: bytes) -> bytes:
    return codec.pack((FRAME_LEDGER_CLOSED, seq, ledger_hash))


@dataclass(frozen=True, slots=True)
class LedgerClosed:
    """A peer's announcement that it closed ledger ``seq`` (a claim, checked by catch-up)."""

    seq: int
    hash: bytes


def decode_frame(data: bytes) -> SignedEnvelope | LedgerClosed:
    """Decode a direct frame. Raises DecodeError."""
    obj = codec.unpack(data, max_size=MAX_ENVELOPE_BYTES + 16, what="frame")
    if type(obj) is tuple and obj and obj[0] == FRAME_ENVELOPE and type(obj[0]) is int:
        _, envelope = codec.array(obj, 2, "envelope frame")
        # canonical bytes: the envelope's encoding is all that follows the frame head
        return _keeping(decode_envelope_object(envelope), data[len(_ENVELOPE_FRAME_HEAD) :])
    if type(obj) is tuple and obj and obj[0] == FRAME_LEDGER_CLOSED and type(obj[0]) is int:
        _, seq, ledger_hash = codec.array(obj, 3, "ledger-closed frame")
        return LedgerClosed(
            codec.integer(seq, "ledger seq", lo=1, hi=UINT32_MAX),
            codec.blob(ledger_hash, "ledger hash", size=HASH_SIZE),
        )
    raise DecodeError("frame: unknown frame kind")


# -- tx batches (gossip) ---------------------------------------------------------------------


def encode_tx_batch(transactions: list[bytes]) -> bytes:
    """Transactions travel in batches: one gossip message costs far more CPU than its bytes."""
    return codec.pack((1, tuple(transactions)))


def decode_tx_batch(data: bytes) -> tuple[bytes, ...]:
    obj = codec.unpack(data, max_size=MAX_TX_BATCH_BYTES, max_array=MAX_TX_BATCH, what="tx batch")
    version, items = codec.array(obj, 2, "tx batch")
    codec.tag(version, 1, "tx batch")
    return tuple(
        codec.blob(item, "batched transaction", max_len=32 * 1024)
        for item in codec.seq(items, "tx batch", min_len=1, max_len=MAX_TX_BATCH)
    )


# -- compact tx sets -------------------------------------------------------------------------
# A tx set of 5,000 payments is ~1.2 MB, yet every validator already received almost all of
# them by gossip. Sending 32-byte hashes instead (~160 KB, one yamux window) and fetching only
# the missing transactions keeps slot times short under load.


def encode_tx_ids(previous_hash: bytes, tx_hashes: list[bytes]) -> bytes:
    return codec.pack((1, previous_hash, tuple(tx_hashes)))


def decode_tx_ids(data: bytes) -> tuple[bytes, tuple[bytes, ...]]:
    obj = codec.unpack(data, max_size=MAX_TX_IDS * 35 + 64, max_array=MAX_TX_IDS, what="tx ids")
    version, previous, hashes = codec.array(obj, 3, "tx ids")
    codec.tag(version, 1, "tx ids")
    return (
        codec.blob(previous, "previous hash", size=HASH_SIZE),
        tuple(
            codec.blob(h, "tx hash", size=HASH_SIZE) for h in codec.seq(hashes, "tx ids", max_len=MAX_TX_IDS)
        ),
    )


def encode_tx_offer(
    tx_set_hash: bytes, previous_hash: bytes, part: int, parts: int, tx_hashes: list[bytes]
) -> bytes:
    return codec.pack((1, tx_set_hash, previous_hash, part, parts, tuple(tx_hashes)))


def decode_tx_offer(data: bytes) -> tuple[bytes, bytes, int, int, tuple[bytes, ...]]:
    obj = codec.unpack(data, max_size=MAX_TX_IDS * 35 + 128, max_array=MAX_TX_IDS, what="tx offer")
    version, tx_set_hash, previous, part, parts, hashes = codec.array(obj, 6, "tx offer")
    codec.tag(version, 1, "tx offer")
    count = codec.integer(parts, "tx offer parts", lo=1, hi=MAX_TX_IDS)
    return (
        codec.blob(tx_set_hash, "tx set hash", size=HASH_SIZE),
        codec.blob(previous, "previous hash", size=HASH_SIZE),
        codec.integer(part, "tx offer part", hi=count - 1),
        count,
        tuple(
            codec.blob(h, "tx hash", size=HASH_SIZE)
            for h in codec.seq(hashes, "tx offer", max_len=MAX_TX_IDS)
        ),
    )


def encode_count(count: int) -> bytes:
    return codec.pack(count)


def decode_count(data: bytes) -> int:
    return codec.integer(codec.unpack(data, max_size=16, what="count"), "count", hi=MAX_TX_IDS)


def encode_txs_request(tx_set_hash: bytes, tx_hashes: list[bytes]) -> bytes:
    return codec.pack((1, tx_set_hash, tuple(tx_hashes)))


def decode_txs_request(data: bytes) -> tuple[bytes, tuple[bytes, ...]]:
    obj = codec.unpack(data, max_size=MAX_TX_BATCH * 35 + 128, max_array=MAX_TX_BATCH, what="txs request")
    version, tx_set_hash, hashes = codec.array(obj, 3, "txs request")
    codec.tag(version, 1, "txs request")
    return (
        codec.blob(tx_set_hash, "tx set hash", size=HASH_SIZE),
        tuple(
            codec.blob(h, "tx hash", size=HASH_SIZE)
            for h in codec.seq(hashes, "txs request", min_len=1, max_len=MAX_TX_BATCH)
        ),
    )


# -- requests --------------------------------------------------------------------------------


def encode_hash_request(value: bytes) -> bytes:
    return codec.pack((1, value))


def decode_hash_request(data: bytes) -> bytes:
    version, value = codec.array(codec.unpack(data, max_size=64, what="request"), 2, "request")
    codec.tag(version, 1, "request")
    return codec.blob(value, "requested hash", size=HASH_SIZE)


def encode_range_request(first: int, count: int) -> bytes:
    return codec.pack((1, first, count))


def decode_range_request(data: bytes) -> tuple[int, int]:
    version, first, count = codec.array(codec.unpack(data, max_size=64, what="request"), 3, "request")
    codec.tag(version, 1, "request")
    return (
        codec.integer(first, "first ledger", lo=1, hi=UINT32_MAX),
        codec.integer(count, "ledger count", lo=1, hi=MAX_LEDGERS_PER_REQUEST),
    )


def encode_slot_request(slot: int) -> bytes:
    return codec.pack((1, slot))


def decode_slot_request(data: bytes) -> int:
    version, slot = codec.array(codec.unpack(data, max_size=64, what="request"), 2, "request")
    codec.tag(version, 1, "request")
    return codec.integer(slot, "slot", lo=1, hi=UINT32_MAX)


@dataclass(frozen=True, slots=True)
class LatestLedger:
    """A peer's answer to "which ledger did you close last?"."""

    seq: int
    hash: bytes


def encode_latest(latest: LatestLedger) -> bytes:
    return codec.pack((1, latest.seq, latest.hash))


def decode_latest(data: bytes) -> LatestLedger:
    version, seq, ledger_hash = codec.array(codec.unpack(data, max_size=128, what="latest"), 3, "latest")
    codec.tag(version, 1, "latest")
    return LatestLedger(
        codec.integer(seq, "ledger seq", lo=1, hi=UINT32_MAX),
        codec.blob(ledger_hash, "ledger hash", size=HASH_SIZE),
    )


def encode_envelope_list(envelopes: list[SignedEnvelope]) -> bytes:
    return codec.pack((1, tuple((ENVELOPE_V1, e.statement, e.signature) for e in envelopes)))


def decode_envelope_list(data: bytes, *, max_items: int = 1000) -> tuple[SignedEnvelope, ...]:
    obj = codec.unpack(data, max_size=max_items * MAX_ENVELOPE_BYTES, max_array=max_items, what="envelopes")
    version, items = codec.array(obj, 2, "envelopes")
    codec.tag(version, 1, "envelopes")
    return tuple(decode_envelope_object(item) for item in codec.seq(items, "envelopes", max_len=max_items))


@dataclass(frozen=True, slots=True)
class LedgerBlob:
    """A closed ledger as it travels to a peer catching up (all parts still encoded)."""

    header: bytes
    tx_set: bytes
    results: bytes
    proof: tuple[bytes, ...]


MAX_LEDGERS_RESPONSE_BYTES = 7 * 1024 * 1024


def encode_ledgers(ledgers: list[LedgerBlob]) -> bytes:
    return codec.pack((1, tuple((x.header, x.tx_set, x.results, x.proof) for x in ledgers)))


def decode_ledgers(data: bytes) -> tuple[LedgerBlob, ...]:
    obj = codec.unpack(
        data,
        max_size=MAX_LEDGERS_RESPONSE_BYTES + 1024,
        max_bin=MAX_LEDGERS_RESPONSE_BYTES,
        max_array=1000,
        what="ledgers",
    )
    version, items = codec.array(obj, 2, "ledgers")
    codec.tag(version, 1, "ledgers")
    found = []
    for item in codec.seq(items, "ledgers", max_len=MAX_LEDGERS_PER_REQUEST):
        header, tx_set, results, proof = codec.array(item, 4, "ledger")
        found.append(
            LedgerBlob(
                codec.blob(header, "ledger header", max_len=1024),
                codec.blob(tx_set, "ledger tx set", max_len=MAX_LEDGERS_RESPONSE_BYTES),
                codec.blob(results, "ledger results", max_len=MAX_LEDGERS_RESPONSE_BYTES),
                tuple(
                    codec.blob(e, "proof envelope", max_len=MAX_ENVELOPE_BYTES)
                    for e in codec.seq(proof, "ledger proof", max_len=1000)
                ),
            )
        )
    return tuple(found)
