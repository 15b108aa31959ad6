"""Node cards: what one operator sends the others so they can trust and reach their validator.

A card is a small JSON text: the validator id (``tlyv1…``), the peer id, the network id, the
addresses to dial (with ``/p2p/``) and the node's signed peer record (``node.peer_records``)
that covers all of them. Reading a card checks the record's signature and network and that the id,
peer id and addresses printed beside it are the record's own, so a card altered on its way (a
changed address or id) is refused rather than imported. Cards are meant to be exchanged by hand
(e-mail, a chat, a USB stick); they carry no secret.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from node.peer_records import PeerRecord, RecordError, decode_record, sign_record
from protocol.addresses import encode_validator
from protocol.keys import Keypair

CARD_VERSION = 1
MAX_CARD_BYTES = 8 * 1024


class CardError(ValueError):
    """Not a valid node card for this network; the message says why."""


@dataclass(frozen=True)
class NodeCard:
    node_id: str
    peer_id: str
    network_id: str  # hex
    addresses: tuple[str, ...]  # with /p2p/
    record: PeerRecord

    def to_json(self) -> dict[str, Any]:
        return {
            "tally_node_card": CARD_VERSION,
            "node_id": self.node_id,
            "peer_id": self.peer_id,
            "network_id": self.network_id,
            "addresses": list(self.addresses),
            "record": base64.b64encode(self.record.encode()).decode(),
        }

    def text(self) -> str:
        return json.dumps(self.to_json(), indent=2) + "\n"


def make_card(keypair: Keypair, network: bytes, addresses: list[str], now_ms: int) -> NodeCard:
    """This node's card. Raises CardError when an address cannot be announced."""
    try:
        record = sign_record(keypair, network, now_ms, addresses)
    except RecordError as exc:
        raise CardError(str(exc)) from None
    return _card_of(record)


def _card_of(record: PeerRecord) -> NodeCard:
    return NodeCard(
        encode_validator(record.node_key),
        record.peer_id,
        record.network.hex(),
        tuple(record.dial_addresses()),
        record,
    )


def read_card(text: str, network: bytes) -> NodeCard:
    """A card of ``network`` whose record verifies and matches what the card prints. Raises CardError."""
    if len(text.encode()) > MAX_CARD_BYTES:
        raise CardError(f"a node card is at most {MAX_CARD_BYTES} bytes")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CardError(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("tally_node_card") != CARD_VERSION:
        raise CardError(f'not a Tally node card (expected "tally_node_card": {CARD_VERSION})')
    raw = data.get("record")
    try:
        record = decode_record(base64.b64decode(str(raw), validate=True), network)
    except (binascii.Error, ValueError, RecordError) as exc:
        if isinstance(exc, RecordError) and exc.reason == "other_network":
            raise CardError("the card belongs to another network (another network passphrase)") from None
        raise CardError(f"its signed record does not check out: {exc}") from None
    card = _card_of(record)
    printed = (data.get("node_id"), data.get("peer_id"), data.get("addresses"))
    if printed != (card.node_id, card.peer_id, list(card.addresses)):
        raise CardError("the id, peer id or addresses on the card differ from its signed record (altered?)")
    return card
