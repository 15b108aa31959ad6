"""Transactions: a signed body of 1..N operations from one source account.

Wire form: ``[ENVELOPE_V1, body_bytes, [[public_key, signature], …]]`` where ``body_bytes`` is the
canonical encoding of ``[BODY_V1, source, seq, last_valid_ledger, memo, [operation, …]]``.
Keeping the body as an opaque byte string inside the envelope means the hash and every signature
are computed over the exact bytes received: no re-encoding on the verify path, and a single byte
form per transaction.

Transaction hash = BLAKE2b-256("tally.tx"; network ID ‖ body bytes). Signatures sign that hash,
so they cover the network ID: a transaction can never be replayed on another network.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from protocol import codec
from protocol.codec import INT64_MAX, UINT32_MAX
from protocol.direct_init import direct_init
from protocol.errors import DecodeError
from protocol.hashing import PERSON_TX, blake2b256
from protocol.keys import PUBLIC_KEY_SIZE, SIGNATURE_SIZE, Keypair, verify
from protocol.operations import Operation, decode_operation, encode_operation

ENVELOPE_V1 = 1
BODY_V1 = 1
MAX_OPERATIONS = 100
MAX_MEMO_BYTES = 64
MAX_SIGNATURES = 20
MAX_TX_BYTES = 32 * 1024  # 100 operations of ~150 bytes plus 20 signatures fit with room to spare


@direct_init
@dataclass(frozen=True, slots=True)
class TransactionBody:
    """What the source account authorises.

    ``seq`` must be exactly the account's previous sequence + 1 (an account starts at 0).
    ``last_valid_ledger`` bounds how long the transaction may wait: after that ledger it can
    never apply, so a stuck payment does not surprise anyone weeks later.
    """

    source: bytes
    seq: int
    last_valid_ledger: int
    memo: bytes
    operations: tuple[Operation, ...]


@direct_init
@dataclass(frozen=True, slots=True)
class Transaction:
    """A transaction as received or built: body, its exact bytes, hash and signatures."""

    body: TransactionBody
    body_bytes: bytes
    hash: bytes
    signatures: tuple[tuple[bytes, bytes], ...]

    def encode(self) -> bytes:
        return codec.pack((ENVELOPE_V1, self.body_bytes, self.signatures))

    def signers(self) -> frozenset[bytes] | None:
        """The public keys whose signatures verify, or ``None`` if any signature is invalid.

        A transaction that carries a broken signature is refused as a whole (``bad_auth``)
        rather than silently trimmed, so every node sees the same thing.
        """
        keys = []
        for public_key, signature in self.signatures:
            if not verify(public_key, self.hash, signature):
                return None
            keys.append(public_key)
        return frozenset(keys)

    def with_signature(self, keypair: Keypair) -> Transaction:
        """A copy with ``keypair``'s signature added (replacing an earlier one by the same key)."""
        others = tuple(pair for pair in self.signatures if pair[0] != keypair.public_key)
        if len(others) >= MAX_SIGNATURES:
            raise ValueError(f"a transaction carries at most {MAX_SIGNATURES} signatures")
        signatures = (*others, (keypair.public_key, keypair.sign(self.hash)))
        return Transaction(self.body, self.body_bytes, self.hash, signatures)


def transaction_hash(network: bytes, body_bytes: bytes) -> bytes:
    return blake2b256(network + body_bytes, PERSON_TX)


def encode_body(body: TransactionBody) -> bytes:
    return codec.pack(
        (
            BODY_V1,
            body.source,
            body.seq,
            body.last_valid_ledger,
            body.memo,
            tuple(encode_operation(op) for op in body.operations),
        )
    )


def build_transaction(network: bytes, body: TransactionBody, signers: Iterable[Keypair] = ()) -> Transaction:
    """Encode ``body`` and sign it with each keypair.

    Raises:
        ValueError: the body breaks a hard limit (no operations, too many, memo too long) or
            a field is out of its wire range (sequence 0, a negative amount…): every built
            transaction decodes again on any node.
    """
    if not 1 <= len(body.operations) <= MAX_OPERATIONS:
        raise ValueError(f"a transaction holds 1 to {MAX_OPERATIONS} operations")
    if len(body.memo) > MAX_MEMO_BYTES:
        raise ValueError(f"the memo is {len(body.memo)} bytes; at most {MAX_MEMO_BYTES} are allowed")
    try:
        body_bytes = encode_body(body)
        _decode_body(body_bytes)
    except (DecodeError, OverflowError, TypeError) as exc:
        raise ValueError(f"this transaction could not be decoded by a node: {exc}") from None
    tx = Transaction(body, body_bytes, transaction_hash(network, body_bytes), ())
    for keypair in signers:
        tx = tx.with_signature(keypair)
    return tx


def decode_transaction(data: bytes, network: bytes) -> Transaction:
    """Strictly decode a signed transaction received from anywhere.

    Signatures are not verified here (see ``Transaction.signers``): decoding is cheap and can
    run before deciding whether a transaction is worth a signature check.

    Raises:
        DecodeError: any deviation from the canonical encoding or a broken bound.
    """
    envelope = codec.unpack(data, max_size=MAX_TX_BYTES, max_array=MAX_OPERATIONS, what="transaction")
    return decode_transaction_object(envelope, network)


@dataclass(frozen=True, slots=True)
class TxHeader:
    """What a first look at an encoded transaction tells: enough to refuse it, never to accept it."""

    hash: bytes
    source: bytes
    seq: int


def peek_transaction(data: bytes, network: bytes) -> TxHeader | None:
    """The hash, source and sequence number of an encoded transaction, read without the strict
    checks of ``decode_transaction`` (a few microseconds instead of tens): a node refuses most
    junk on these alone (a newcomer's key ahead of its sequence, an exhausted budget) before it
    spends a full decode on it. None when the bytes do not even look like a transaction."""
    try:
        envelope = codec.peek(data, max_size=MAX_TX_BYTES, max_array=MAX_OPERATIONS)
        body_bytes = envelope[1] if type(envelope) is tuple and len(envelope) == 3 else None
        if type(body_bytes) is not bytes:
            return None
        body = codec.peek(body_bytes, max_size=MAX_TX_BYTES, max_array=MAX_OPERATIONS)
    except DecodeError:
        return None
    if type(body) is not tuple or len(body) != 6:
        return None
    source, seq = body[1], body[2]
    if type(source) is not bytes or len(source) != PUBLIC_KEY_SIZE or type(seq) is not int:
        return None
    return TxHeader(transaction_hash(network, body_bytes), source, seq)


def decode_transaction_object(envelope: object, network: bytes) -> Transaction:
    """Decode a transaction already unpacked as part of a larger message (a tx set, a batch)."""
    version, body_bytes, signature_list = codec.array(envelope, 3, "transaction")
    codec.tag(version, ENVELOPE_V1, "transaction")
    body_bytes = codec.blob(body_bytes, "transaction body", max_len=MAX_TX_BYTES)
    pairs = codec.seq(signature_list, "signatures", min_len=1, max_len=MAX_SIGNATURES)
    signatures = tuple(
        (
            codec.blob(key, "signer key", size=PUBLIC_KEY_SIZE),
            codec.blob(sig, "signature", size=SIGNATURE_SIZE),
        )
        for key, sig in (codec.array(pair, 2, "signature") for pair in pairs)
    )
    if len({key for key, _ in signatures}) != len(signatures):
        raise DecodeError("signatures: the same key signs twice")
    body = _decode_body(body_bytes)
    return Transaction(body, body_bytes, transaction_hash(network, body_bytes), signatures)


def _decode_body(body_bytes: bytes) -> TransactionBody:
    fields = codec.unpack(
        body_bytes, max_size=MAX_TX_BYTES, max_array=MAX_OPERATIONS, what="transaction body"
    )
    version, source, seq, last_valid, memo, operations = codec.array(fields, 6, "transaction body")
    codec.tag(version, BODY_V1, "transaction body")
    return TransactionBody(
        source=codec.blob(source, "source", size=PUBLIC_KEY_SIZE),
        seq=codec.integer(seq, "sequence", lo=1, hi=INT64_MAX),
        last_valid_ledger=codec.integer(last_valid, "last valid ledger", hi=UINT32_MAX),
        memo=codec.blob(memo, "memo", max_len=MAX_MEMO_BYTES),
        operations=tuple(
            decode_operation(op)
            for op in codec.seq(operations, "operations", min_len=1, max_len=MAX_OPERATIONS)
        ),
    )
