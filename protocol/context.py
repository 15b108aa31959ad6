"""The ledger a transaction is applied in: its sequence number, close time and protocol version."""

from __future__ import annotations

from dataclasses import dataclass

from protocol.direct_init import direct_init
from protocol.versions import PROTOCOL_V1, PROTOCOL_V2, PROTOCOL_V3


@direct_init
@dataclass(frozen=True, slots=True)
class LedgerContext:
    """Everything about the ledger being closed that the rules may read.

    ``close_time_ms`` is the agreed close time (milliseconds since the Unix epoch): deadlines and
    demurrage run on it, never on any node's clock. ``protocol_version`` is the version the
    previous ledger's header carries (see ``protocol.versions``).
    """

    seq: int
    close_time_ms: int = 0
    protocol_version: int = PROTOCOL_V1

    @property
    def governance(self) -> bool:
        """Whether the governance rules of protocol version 2 are in force."""
        return self.protocol_version >= PROTOCOL_V2

    @property
    def designs(self) -> bool:
        """Whether the rules of protocol version 3 (guaranteed credits, spend-locally money,
        exchange between communities, key recovery) are in force."""
        return self.protocol_version >= PROTOCOL_V3
