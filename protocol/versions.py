"""Protocol versions: which rules a ledger is closed under.

A ledger header's ``version`` is the protocol version in force after that ledger; the transactions
of ledger N are applied under the version of ledger N-1's header (as in stellar-core, an upgrade
voted into a ledger takes effect from the next one). Validators move the network to a newer
version only by agreeing on an upgrade in an SCP value (``protocol.ledger.UPGRADE_BOUNDS``).

Rules never change inside a version: a ledger closed under version 1 hashes the same on every
release (tests/protocol/test_protocol_v1_frozen.py). Whatever behaves differently gets a new
version, and every new behaviour is guarded by ``version >= PROTOCOL_VN`` where it happens.
"""

from __future__ import annotations

PROTOCOL_V1 = 1
"""Payments, currencies (mutual, time, issued), steward admission and limits, mint/redeem, multisig."""

PROTOCOL_V2 = 2
"""Governance: proposals and votes, admission by vouching or vote, suspension, expulsion, leaving,
the commons fund, demurrage and the levy."""

PROTOCOL_V3 = 3
"""Designs from the field: guaranteed time credits (a guarantor accredits organisations with hour
quotas), spend-locally money (payable only to registered businesses), exchange between communities
through clearing accounts, and social key recovery by guardians after a delay; stewards approve as
their accounts sign (so a recovered steward's new key counts)."""

CURRENT_PROTOCOL_VERSION = PROTOCOL_V3
"""The newest version this software can apply; headers with a newer version do not decode."""
