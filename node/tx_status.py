"""Where a transaction stands, as the node reports it (``GET /tx/{hash}``, ``POST /tx`` results).

A node-level type: the chain produces it and the HTTP API shows it, so it lives below both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# pending: in the mempool; applied / failed: in a ledger (failed used up its sequence number);
# rejected: refused or dropped before any ledger; unknown: never seen (or long forgotten).
TxState = Literal["pending", "applied", "failed", "rejected", "unknown"]


@dataclass(frozen=True, slots=True)
class TxStatus:
    """Where one transaction stands; ``ledger`` and ``op_index`` only once it is in a ledger."""

    status: TxState
    code: str | None = None  # a protocol.results.ResultCode value or a mempool refusal code
    ledger: int | None = None
    op_index: int | None = None
