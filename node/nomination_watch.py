"""Equivocation detection on the honest side: a validator's nominations for a slot only grow.

SCP lets a validator add votes and accepted values to its nomination, never drop one; two
nominations for the same slot that are not ordered that way are contradictory statements, made
to tell different peers different things. The herder asks ``NominationWatch`` about every
nomination it receives and penalises the sender when it is also the signer.
"""

from __future__ import annotations

from consensus import Nominate, Statement


class NominationWatch:
    """The latest nomination of each validator for each open slot.

    Invariant: for each (validator, slot) it holds the largest nomination seen so far; an older,
    smaller one arriving late is not a contradiction.
    """

    def __init__(self) -> None:
        self._latest: dict[tuple[bytes, int], tuple[frozenset[bytes], frozenset[bytes]]] = {}

    def conflicting(self, statement: Statement) -> bool:
        """Whether ``statement`` contradicts an earlier nomination of its signer for its slot."""
        pledge = statement.pledge
        if not isinstance(pledge, Nominate):
            return False
        key = (statement.node_id, statement.slot)
        new = (frozenset(pledge.votes), frozenset(pledge.accepted))
        old = self._latest.get(key)
        if old is None or (old[0] <= new[0] and old[1] <= new[1]):
            self._latest[key] = new
            return False
        return not (new[0] <= old[0] and new[1] <= old[1])  # older, out of order: fine

    def forget_below(self, slot: int) -> None:
        for key in [k for k in self._latest if k[1] < slot]:
            del self._latest[key]
