"""The quorum sets this node knows, by hash, and the one way to fetch a missing one from peers.

SCP statements name their sender's quorum set by hash; the herder needs it to count the
statement, catch-up needs it to check a ledger's proof, and peers ask us for it. All three go
through ``QuorumSets``: one cache, one fetcher, one penalty (``lie_qset``, declared by
``node.peer_requests.QSET``) for a peer whose answer does not match the hash.
"""

from __future__ import annotations

from collections.abc import Sequence

from consensus import ConsensusError, QuorumSet, decode_quorum_set
from node.errors import NetError
from node.peer_requests import QSET, BadAnswerError, PeerRequests
from node.storage.store import LedgerStore

MAX_CACHED = 1_000  # decoded quorum sets kept in memory (each is a few hundred bytes)


class QuorumSets:
    """Quorum sets by hash: our own, the ones peers sent, the ones in the ledger store.

    Invariant: ``get(h)``, when not None, is a quorum set whose ``hash`` is ``h`` and whose
    encoding is exactly what was hashed (never a normalised copy), so it can be served to peers.
    """

    def __init__(self, own: QuorumSet, store: LedgerStore, requests: PeerRequests) -> None:
        self._store = store
        self._requests = requests
        self._own = own
        self._known: dict[bytes, QuorumSet] = {}  # insertion order: the oldest is dropped first

    def get(self, qset_hash: bytes) -> QuorumSet | None:
        if qset_hash == self._own.hash:
            return self._own
        known = self._known.get(qset_hash)
        if known is not None:
            return known
        raw = self._store.quorum_set(qset_hash)
        if raw is None:
            return None
        try:
            found = decode_quorum_set(raw)
        except ConsensusError:
            return None
        if found.hash != qset_hash:
            return None
        self._remember(found)
        return found

    def learn(self, qset: QuorumSet) -> None:
        """Keep a quorum set checked against its hash (in memory and in the store)."""
        self._remember(qset)
        self._store.save_quorum_set(qset.hash, qset.encode())

    async def fetch(self, qset_hash: bytes, peers: Sequence[str]) -> QuorumSet | None:
        """Ask ``peers`` in turn until one sends the quorum set with this hash; learn it.

        A peer that answers something else is penalised (``peer_requests.QSET.penalty``) and the
        next one is asked; None when nobody had it.
        """
        for peer in peers:
            try:
                qset = await self._requests.ask(peer, QSET, qset_hash)
            except (NetError, BadAnswerError):
                continue
            self.learn(qset)
            return qset
        return None

    def _remember(self, qset: QuorumSet) -> None:
        self._known.pop(qset.hash, None)
        self._known[qset.hash] = qset
        while len(self._known) > MAX_CACHED:
            del self._known[next(iter(self._known))]
