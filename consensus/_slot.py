"""One slot (one decision): federated voting over the latest statements, plus its two sub-protocols.

Federated voting (WP §5, DRAFT §3.1, CORE ``Slot::federatedAccept/federatedRatify``): a node *accepts*
a statement when a v-blocking set accepts it or a quorum votes-or-accepts it, and *confirms* it when a
quorum accepts it. The local node takes part through its own latest statement, which it always
processes like anyone else's before sending it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from consensus._ballot import BallotProtocol
from consensus._driver import Effect, Externalized, TimerKind, Validity
from consensus._messages import Externalize, Nominate, Pledge, Statement
from consensus._nomination import NominationProtocol
from consensus._quorum import QuorumSet, is_quorum_slice, is_v_blocking, quorum_core, singleton_quorum_set
from consensus._statements import StatementMap, StatementPredicate

if TYPE_CHECKING:
    from consensus._node import ScpNode

QUORUM_CACHE_SIZE = 4096  # answers kept per cache; cleared whole when full (bounded memory)


class Slot:
    """State of one slot index; created on the first statement or nomination that mentions it."""

    def __init__(self, node: ScpNode, index: int) -> None:
        self.node = node
        self.index = index
        self.fully_validated = node.is_validator  # a watcher never emits (CORE ``Slot`` ctor)
        self.nomination = NominationProtocol(self)
        self.ballot = BallotProtocol(self)
        self.externalized_reported = False
        # Like stellar-core, cache what quorum-set computations established: v-blocking answers
        # depend on the local quorum set only; quorum answers live in each StatementMap.
        self._v_blocking_cache: dict[frozenset[bytes], bool] = {}

    # -------------------------------------------------------------------------------- plumbing

    @property
    def local_id(self) -> bytes:
        return self.node.node_id

    @property
    def local_qset(self) -> QuorumSet:
        return self.node.local_qset

    def out(self, effect: Effect) -> None:
        self.node._effects.append(effect)

    def set_timer(self, kind: TimerKind, delay_ms: int) -> None:
        self.node._set_timer(self.index, kind, delay_ms)

    def cancel_timer(self, kind: TimerKind) -> None:
        self.node._cancel_timer(self.index, kind)

    def validate(self, value: bytes, nomination: bool) -> Validity:
        return self.node.driver.validate_value(self.index, value, nomination)

    def qset_of(self, st: Statement) -> QuorumSet | None:
        """The quorum set a statement is judged with; EXTERNALIZE senders need nobody else (CORE)."""
        if isinstance(st.pledge, Externalize):
            return singleton_quorum_set(st.node_id)
        return self.node._known_qsets.get(st.qset_hash)

    def make_statement(self, pledge: Pledge) -> Statement:
        return Statement(self.local_id, self.index, self.node.local_qset_hash, pledge)

    # ---------------------------------------------------------------------------- federated voting

    def is_quorum_of(self, latest: StatementMap, pred: StatementPredicate) -> bool:
        """Do the senders whose latest statement satisfies ``pred`` contain a quorum for the local node?"""
        return self.contains_quorum(latest, latest.senders_where(pred))

    def contains_quorum(self, latest: StatementMap, senders: Iterable[bytes]) -> bool:
        """Do ``senders`` (keys of ``latest``) contain a quorum for the local node?

        The answer depends only on that set (and the quorum sets its members are judged with), so it
        is cached by the set in ``latest.quorum_cache``: most calls ask about a set seen before.
        """
        members = frozenset(senders)
        cache = latest.quorum_cache
        known = cache.get(members)
        if known is not None:
            return known
        answer = self._contains_quorum(latest, members)
        if len(cache) >= QUORUM_CACHE_SIZE:
            cache.clear()
        cache[members] = answer
        return answer

    def _contains_quorum(self, latest: StatementMap, members: frozenset[bytes]) -> bool:
        if not is_quorum_slice(self.local_qset, members):
            return False  # cheap early exit: the greatest fixpoint only shrinks the set

        def lookup(n: bytes) -> QuorumSet | None:
            return self.qset_of(latest[n])

        return is_quorum_slice(self.local_qset, quorum_core(members, lookup))

    def is_v_blocking_of(self, latest: StatementMap, pred: StatementPredicate) -> bool:
        return self.is_v_blocking_set(set(latest.senders_where(pred)))

    def is_v_blocking_set(self, nodes: set[bytes]) -> bool:
        """Is ``nodes`` v-blocking for the local node? Cached: it depends on the local quorum set only."""
        key = frozenset(nodes)
        known = self._v_blocking_cache.get(key)
        if known is None:
            known = is_v_blocking(self.local_qset, key)
            if len(self._v_blocking_cache) >= QUORUM_CACHE_SIZE:
                self._v_blocking_cache.clear()
            self._v_blocking_cache[key] = known
        return known

    def federated_accept(
        self, voted: StatementPredicate, accepted: StatementPredicate, latest: StatementMap
    ) -> bool:
        """A v-blocking set accepted, or a quorum voted or accepted (one pass over distinct pledges)."""
        accepting: set[bytes] = set()
        supporting: list[bytes] = []
        for rep, senders in latest.groups():
            if accepted(rep):
                accepting.update(senders)
                supporting.extend(senders)
            elif voted(rep):
                supporting.extend(senders)
        if self.is_v_blocking_set(accepting):
            return True
        return self.contains_quorum(latest, supporting)

    def federated_ratify(self, voted: StatementPredicate, latest: StatementMap) -> bool:
        return self.is_quorum_of(latest, voted)

    # -------------------------------------------------------------------------------- entry points

    def process(self, st: Statement, from_self: bool = False) -> bool:
        """Feed one statement (sender's quorum set known); True when it was recorded."""
        if isinstance(st.pledge, Nominate):
            return self.nomination.process(st, from_self)
        return self.ballot.process(st, from_self)

    def flush(self) -> None:
        """Emit the latest ballot statement once per input (CORE ``sendLatestEnvelope`` at level 0)."""
        self.ballot.send_latest()

    def value_externalized(self, value: bytes) -> None:
        self.nomination.stop()
        if not self.externalized_reported:
            self.externalized_reported = True
            self.out(Externalized(self.index, value))
