"""Transaction signature checks, each done once per node.

An Ed25519 check is most of what a transaction costs a node (the protocol floor), and the same
transaction reaches a node several ways: its API, a peer's gossip batch, a tx set fetched from the
proposer (often before the gossip), a catch-up ledger. ``VerifiedSignatures`` remembers each
result, valid or not, keyed by the transaction's hash *and* its signatures (a transaction's hash
does not cover its signatures, so a copy carrying other ones is checked afresh), until a ledger
includes the transaction or the memory is full.

Only the event loop adds to the memory; the ledger's worker thread only reads it (``lookup``).
"""

from __future__ import annotations

from collections.abc import Iterable

from node.cpu import CPU, Stage
from protocol.transactions import Transaction

Signers = frozenset[bytes] | None  # the verified signers, None when a signature does not verify
DEFAULT_CAPACITY = 20_000


class VerifiedSignatures:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._known: dict[bytes, tuple[tuple[tuple[bytes, bytes], ...], Signers]] = {}  # oldest first

    def __len__(self) -> int:
        return len(self._known)

    def signers(self, tx: Transaction) -> Signers:
        """``tx.signers()``, checked at most once while remembered (event loop only)."""
        known = self._known.get(tx.hash)
        if known is not None and known[0] == tx.signatures:
            return known[1]
        signers = check_signatures(tx)
        self._known[tx.hash] = (tx.signatures, signers)
        while len(self._known) > self._capacity:
            del self._known[next(iter(self._known))]
        return signers

    def lookup(self, tx: Transaction) -> Signers:
        """Like ``signers`` but never remembers anything: safe from a worker thread."""
        known = self._known.get(tx.hash)
        if known is not None and known[0] == tx.signatures:
            return known[1]
        return check_signatures(tx)

    def forget(self, tx_hashes: Iterable[bytes]) -> None:
        """Transactions a ledger included: never checked again (a late copy is refused by its
        sequence number before any signature check)."""
        for tx_hash in tx_hashes:
            self._known.pop(tx_hash, None)


def check_signatures(tx: Transaction) -> Signers:
    """``tx.signers()``, counted as the node's signature-checking CPU."""
    with CPU.stage(Stage.SIGNATURES):
        return tx.signers()
