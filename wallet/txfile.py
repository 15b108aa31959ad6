"""Unsigned / partly signed transactions as JSON files, for offline and multisig signing.

Format (version 1)::

    {
      "format": "tally-tx", "version": 1,
      "network_id": "<hex, 32 bytes>",       # the network the signatures are for
      "hash": "<hex>",                       # BLAKE2b-256("tally.tx"; network_id ‖ body)
      "body": "<base64>",                    # the canonical transaction body bytes (what is signed)
      "signatures": [{"address": "tly1…", "signature": "<hex, 64 bytes>"}],
      "currencies": {"TIME": {"kind": "time", "decimals": 2}},   # to show amounts in units
      "summary": ["pay 1.50 h TIME to tly1…"]                     # informational only
    }

``tally tx sign`` recomputes the hash from ``network_id`` and ``body``, checks every signature
already present, and describes the decoded body (never the ``summary`` field) before signing.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from protocol.addresses import decode_account, encode_account
from protocol.errors import AddressError, DecodeError
from protocol.keys import PUBLIC_KEY_SIZE, SIGNATURE_SIZE
from protocol.transactions import ENVELOPE_V1, Transaction, decode_transaction_object, transaction_hash
from wallet.describe import Units
from wallet.errors import BadInput

FORMAT = "tally-tx"
VERSION = 1


@dataclass(frozen=True, slots=True)
class TxFile:
    network_id: bytes
    tx: Transaction
    currencies: Mapping[str, Units] = field(default_factory=dict)

    def to_json(self, summary: list[str]) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "network_id": self.network_id.hex(),
            "hash": self.tx.hash.hex(),
            "body": base64.b64encode(self.tx.body_bytes).decode(),
            "signatures": [
                {"address": encode_account(k), "signature": s.hex()} for k, s in self.tx.signatures
            ],
            "currencies": {code: units.to_json() for code, units in self.currencies.items()},
            "summary": summary,
        }


def transaction_from_body(
    network_id: bytes, body_bytes: bytes, signatures: tuple[tuple[bytes, bytes], ...]
) -> Transaction:
    """Decode a body (strictly) and attach ``signatures`` (which may be none)."""
    # decode_transaction_object wants at least one signature; decode with a placeholder and drop it.
    placeholder = ((b"\x00" * PUBLIC_KEY_SIZE, b"\x00" * SIGNATURE_SIZE),)
    decoded = decode_transaction_object((ENVELOPE_V1, body_bytes, signatures or placeholder), network_id)
    return Transaction(decoded.body, decoded.body_bytes, decoded.hash, signatures)


def parse_txfile(data: Any, where: str) -> TxFile:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BadInput(f"{where} is not a Tally transaction file (format {FORMAT!r})", code="bad_tx_file")
    if data.get("version") != VERSION:
        raise BadInput(
            f"{where}: unknown transaction file version {data.get('version')!r}", code="bad_tx_file"
        )
    try:
        network = bytes.fromhex(data["network_id"])
        body = base64.b64decode(data["body"], validate=True)
        signatures = tuple(
            (decode_account(s["address"]), bytes.fromhex(s["signature"])) for s in data.get("signatures", [])
        )
        listed = data.get("currencies", {})
        if not isinstance(listed, dict) or len(network) != 32:
            raise ValueError("bad currencies or network id")
        currencies = {str(code): Units.parse(units) for code, units in listed.items()}
        tx = transaction_from_body(network, body, signatures)
    except (KeyError, TypeError, ValueError, binascii.Error, AddressError, DecodeError) as exc:
        raise BadInput(f"{where}: malformed transaction file ({exc})", code="bad_tx_file") from None
    if tx.hash != transaction_hash(network, body) or data.get("hash") not in (None, tx.hash.hex()):
        raise BadInput(f"{where}: the hash does not match the body: the file was altered", code="bad_tx_file")
    if signatures and tx.signers() is None:
        raise BadInput(f"{where}: a signature in the file is invalid", code="bad_signature")
    return TxFile(network, tx, currencies)


def read_txfile(path: Path) -> TxFile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc}", code="bad_tx_file") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise BadInput(f"{path} is not JSON", code="bad_tx_file") from None
    return parse_txfile(data, str(path))
