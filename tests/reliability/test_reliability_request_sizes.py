"""Every request an honest node sends fits the inbound request cap its peers enforce.

Regression (found by scripts/chaos at 500 tx/s): a restarted validator, its mempool empty,
fetched a compact tx set's missing transactions 2,000 hashes per REQ_TXS request (70 KB) while
peers cap inbound requests at 64 KiB; each request cost it 50 points ("request_oversize") and
every peer banned it for 300 s, so one more kill took the network below its quorum."""

from __future__ import annotations

from node.net.framing import encode_request
from node.peer_requests import MAX_REQUEST_BYTES, TX_OFFER_PART_HASHES, TXS_PER_REQUEST
from node.wire import (
    REQ_LATEST,
    REQ_LEDGERS,
    REQ_QSET,
    REQ_SCP_STATE,
    REQ_TX_IDS,
    REQ_TX_OFFER,
    REQ_TX_SET,
    REQ_TXS,
    encode_hash_request,
    encode_range_request,
    encode_slot_request,
    encode_tx_offer,
    encode_txs_request,
)

HASH = b"\xff" * 32


def test_the_largest_txs_request_fits_the_peer_request_cap() -> None:
    frame = encode_request(REQ_TXS, encode_txs_request(HASH, [HASH] * TXS_PER_REQUEST))
    assert len(frame) <= MAX_REQUEST_BYTES


def test_the_largest_tx_set_offer_fits_the_peer_request_cap() -> None:
    """Regression: an offer of a 2,100-transaction set (75 KB) got its proposer banned by every
    peer at 1,500 tx/s offered; a larger set is offered in parts (node.peer_requests.offer_parts)."""
    frame = encode_request(REQ_TX_OFFER, encode_tx_offer(HASH, HASH, 66, 67, [HASH] * TX_OFFER_PART_HASHES))
    assert len(frame) <= MAX_REQUEST_BYTES


def test_every_other_request_is_tiny() -> None:
    for name, payload in [
        (REQ_TX_SET, encode_hash_request(HASH)),
        (REQ_TX_IDS, encode_hash_request(HASH)),
        (REQ_QSET, encode_hash_request(HASH)),
        (REQ_LATEST, b""),
        (REQ_SCP_STATE, encode_slot_request(2**40)),
        (REQ_LEDGERS, encode_range_request(2**40, 64)),
    ]:
        assert len(encode_request(name, payload)) < 1024, name
