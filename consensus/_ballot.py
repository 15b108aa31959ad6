"""The ballot protocol (WP §6, DRAFT §3.5, CORE ``BallotProtocol.cpp``; scp.md §5).

Rules of this module: it owns b, p, p', h, c, z and the phase for one slot, and reads only the
latest ballot statement of each node (``latest``). It knows nothing of bytes on the wire, clocks or
signatures; the value is opaque and judged by the driver. Method names follow CORE and the comments
give the whitepaper step each one implements.

Emission rule: every state change self-processes the new statement at once (so the local node
votes with everyone else), but only the newest statement is emitted, once per external input
(``send_latest``), which is what CORE's tests count.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TYPE_CHECKING

from consensus._driver import Emit, TimerKind, Validity
from consensus._errors import ConsensusError, InvariantViolation
from consensus._messages import (
    INFINITE_COUNTER,
    Ballot,
    BallotPledge,
    Confirm,
    Externalize,
    Prepare,
    Statement,
    ballot_is_newer,
    ballot_is_sane,
    compatible,
    less_and_compatible,
    less_and_incompatible,
    statement_values,
    working_ballot,
)
from consensus._statements import StatementMap

if TYPE_CHECKING:
    from consensus._slot import Slot

MAX_ADVANCE_RECURSION = 50  # CORE MAX_ADVANCE_SLOT_RECURSION
Interval = tuple[int, int]


class Phase(enum.Enum):
    PREPARE = 0
    CONFIRM = 1
    EXTERNALIZE = 2


def _counter_of(p: BallotPledge) -> int:
    if isinstance(p, Externalize):
        return INFINITE_COUNTER
    return p.ballot.counter


# ------------------------------------------------------------------ predicates over a peer statement


# These run once per peer statement for every federated vote (the simulator's hot path with 100
# validators), so ``compatible`` / ``less_and_compatible`` are written out: same value, counter order.


def votes_prepare(b: Ballot, p: BallotPledge) -> bool:
    """Does the statement vote (or accept) prepare(b)?"""
    if isinstance(p, Prepare):
        return p.ballot.value == b.value and b.counter <= p.ballot.counter
    if isinstance(p, Confirm):
        return p.ballot.value == b.value
    return p.commit.value == b.value


def accepts_prepared(b: Ballot, p: BallotPledge) -> bool:
    """Does the statement accept prepare(b)? (CORE ``hasPreparedBallot``)"""
    if isinstance(p, Prepare):
        x, y = p.prepared, p.prepared_prime
        return (x is not None and x.value == b.value and b.counter <= x.counter) or (
            y is not None and y.value == b.value and b.counter <= y.counter
        )
    if isinstance(p, Confirm):
        return p.ballot.value == b.value and b.counter <= p.n_prepared  # p = <nPrepared, ballot.value>
    return p.commit.value == b.value


def votes_commit(b: Ballot, iv: Interval, p: BallotPledge) -> bool:
    lo, hi = iv
    if isinstance(p, Prepare):
        return p.ballot.value == b.value and p.n_c != 0 and p.n_c <= lo and hi <= p.n_h
    if isinstance(p, Confirm):
        return p.ballot.value == b.value and p.n_commit <= lo
    return p.commit.value == b.value and p.commit.counter <= lo


def accepts_commit(b: Ballot, iv: Interval, p: BallotPledge) -> bool:
    lo, hi = iv
    if isinstance(p, Prepare):
        return False
    if isinstance(p, Confirm):
        return p.ballot.value == b.value and p.n_commit <= lo and hi <= p.n_h
    return p.commit.value == b.value and p.commit.counter <= lo


def _bp(st: Statement) -> BallotPledge:
    """The pledge of a statement known to be a ballot statement (only those are kept in ``latest``)."""
    return st.pledge  # type: ignore[return-value]


StatementPredicate = Callable[[Statement], bool]


def _votes_prepare(b: Ballot) -> StatementPredicate:
    return lambda st: votes_prepare(b, st.pledge)  # type: ignore[arg-type]  # ballot statements only


def _accepts_prepared(b: Ballot) -> StatementPredicate:
    return lambda st: accepts_prepared(b, st.pledge)  # type: ignore[arg-type]  # ballot statements only


def find_extended_interval(bounds: set[int], pred: Callable[[Interval], bool]) -> Interval | None:
    """Widest ``[lo, hi]`` satisfying ``pred``, anchored at the highest boundary that does (CORE)."""
    cand: Interval | None = None
    for x in sorted(bounds, reverse=True):
        if cand is None:
            cur = (x, x)
        elif x > cand[1]:
            continue
        else:
            cur = (x, cand[1])
        if pred(cur):
            cand = cur
        elif cand is not None:
            break
    return cand


class BallotProtocol:
    def __init__(self, slot: Slot) -> None:
        self.slot = slot
        self.phase = Phase.PREPARE
        self.b: Ballot | None = None  # current ballot
        self.p: Ballot | None = None  # highest accepted prepared
        self.pp: Ballot | None = None  # p': highest accepted prepared, below and incompatible with p
        self.h: Ballot | None = None  # highest confirmed prepared / accepted commit / confirmed commit
        self.c: Ballot | None = None  # lowest ballot of the commit range
        self.z: bytes | None = None  # value override: once h is confirmed prepared, stick to its value
        self.latest = StatementMap()  # M: latest ballot statement per node
        self.latest_version = 0  # bumped whenever ``latest`` changes (keys memoised answers)
        self._candidates_memo: tuple[tuple[frozenset[tuple[int, bytes]], int], list[Ballot]] | None = None
        self.heard_from_quorum = False
        self.timer_exp_count = 0
        self.last_envelope: Statement | None = None  # newest statement generated
        self.last_emitted: Statement | None = None
        self.level = 0

    # ------------------------------------------------------------------------------ receiving

    def process(self, st: Statement, from_self: bool = False) -> bool:
        """CORE ``processEnvelope``: sanity, "newer than", value validation, then advance the slot."""
        pledge = _bp(st)
        if not ballot_is_sane(pledge, from_self=from_self):
            return False
        old = self.latest.get(st.node_id)
        if old is not None and not ballot_is_newer(_bp(old), pledge):
            return False
        level = Validity.FULLY_VALID
        for v in statement_values(pledge):
            got = self.slot.validate(v, False)
            if got.value < level.value:
                level = got
        if level is Validity.INVALID:
            return False
        if self.phase is not Phase.EXTERNALIZE:
            if level is Validity.MAYBE_VALID:
                self.slot.fully_validated = False
            self._store(st)
            self.advance_slot(pledge)
            return True
        # After externalizing, record only statements that agree with the decision (CORE).
        assert self.c is not None
        if working_ballot(pledge).value == self.c.value:
            self._store(st)
            return True
        return False

    def _store(self, st: Statement) -> None:
        self.latest.put(st)
        self.latest_version += 1

    def advance_slot(self, hint: BallotPledge) -> None:
        self.level += 1
        try:
            if self.level >= MAX_ADVANCE_RECURSION:
                raise InvariantViolation("ballot protocol: advance_slot recursed too deep")
            self.attempt_accept_prepared(hint)
            self.attempt_confirm_prepared(hint)
            self.attempt_accept_commit(hint)
            self.attempt_confirm_commit(hint)
            if self.level == 1:
                while self.attempt_bump():
                    pass
                self.check_heard_from_quorum()
        finally:
            self.level -= 1

    # --------------------------------------------------------------------- steps 1 and 5: accept prepared

    def prepare_candidates(self, hint: BallotPledge) -> list[Ballot]:
        """Ballots worth trying to accept/confirm as prepared, highest first (CORE ``getPrepareCandidates``)."""
        if isinstance(hint, Prepare):
            tops = {
                (x.counter, x.value)
                for x in (hint.ballot, hint.prepared, hint.prepared_prime)
                if x is not None
            }
        elif isinstance(hint, Confirm):
            v = hint.ballot.value
            tops = {(hint.n_prepared, v), (INFINITE_COUNTER, v)}
        else:
            tops = {(INFINITE_COUNTER, hint.commit.value)}
        key = (frozenset(tops), self.latest_version)
        if self._candidates_memo is not None and self._candidates_memo[0] == key:
            return self._candidates_memo[1]  # accept and confirm ask the same question in a row
        # For each value, the counters of the "top" ballots: a prepared ballot of that value counts
        # when it is at most the highest of them (the same set as testing every top in turn).
        tops_of: dict[bytes, list[int]] = {}
        for top_n, top_v in tops:
            tops_of.setdefault(top_v, []).append(top_n)
        highest = {v: max(ns) for v, ns in tops_of.items()}
        out: set[tuple[int, bytes]] = set()  # (counter, value): cheaper to hash than Ballot
        for p in self.latest.pledges():  # duplicates add nothing to a set
            if isinstance(p, Prepare):
                for x in (p.ballot, p.prepared, p.prepared_prime):
                    if x is not None and x.counter <= highest.get(x.value, -1):
                        out.add((x.counter, x.value))
            elif isinstance(p, Confirm):
                v = p.ballot.value
                if v in tops_of:
                    out.update((n, v) for n in tops_of[v])
                    if p.n_prepared < highest[v]:
                        out.add((p.n_prepared, v))
            elif isinstance(p, Externalize) and p.commit.value in tops_of:
                v = p.commit.value
                out.update((n, v) for n in tops_of[v])
        result = [Ballot(n, v) for n, v in sorted(out, reverse=True) if n > 0]
        self._candidates_memo = (key, result)
        return result

    def attempt_accept_prepared(self, hint: BallotPledge) -> bool:
        """Steps 1 and 5: accept prepare(B) for the highest candidate B a v-blocking set or quorum backs."""
        if self.phase not in (Phase.PREPARE, Phase.CONFIRM):
            return False
        for cand in self.prepare_candidates(hint):
            if self.phase is Phase.CONFIRM:
                assert self.p is not None
                if not less_and_compatible(self.p, cand):
                    continue  # in CONFIRM only raising p (same value) matters
            if self.pp is not None and cand <= self.pp:
                continue
            if self.p is not None and less_and_compatible(cand, self.p):
                continue  # already covered by p
            if self.slot.federated_accept(_votes_prepare(cand), _accepts_prepared(cand), self.latest):
                return self.set_accept_prepared(cand)
        return False

    def set_accept_prepared(self, ballot: Ballot) -> bool:
        did = False
        if self.p is None:
            self.p = ballot
            did = True
        elif self.p < ballot:
            if not compatible(self.p, ballot):
                self.pp = self.p
            self.p = ballot
            did = True
        elif self.p > ballot and (self.pp is None or (self.pp < ballot and not compatible(self.p, ballot))):
            self.pp = ballot
            did = True
        # An accepted abort of h invalidates our commit vote (CORE setAcceptPrepared).
        if (
            self.c is not None
            and self.h is not None
            and (
                (self.p is not None and less_and_incompatible(self.h, self.p))
                or (self.pp is not None and less_and_incompatible(self.h, self.pp))
            )
        ):
            if self.phase is not Phase.PREPARE:
                raise InvariantViolation("commit vote cancelled outside PREPARE")
            self.c = None
            did = True
        if did:
            self.emit_current_state()
        return did

    # --------------------------------------------------------------- steps 2, 3, 8: confirm prepared

    def attempt_confirm_prepared(self, hint: BallotPledge) -> bool:
        """Steps 2 and 3: h := highest confirmed prepared; c := lowest of the run below h if we can commit."""
        if self.phase is not Phase.PREPARE or self.p is None:
            return False
        cands = self.prepare_candidates(hint)
        new_h: Ballot | None = None
        idx = 0
        for idx, cand in enumerate(cands):  # noqa: B007 - idx reused below
            if self.h is not None and self.h >= cand:
                break
            if self.slot.federated_ratify(_accepts_prepared(cand), self.latest):
                new_h = cand
                break
        if new_h is None:
            return False
        new_c: Ballot | None = None
        if (
            self.c is None
            and not (self.p is not None and less_and_incompatible(new_h, self.p))
            and not (self.pp is not None and less_and_incompatible(new_h, self.pp))
        ):
            for cand in cands[idx:]:
                if self.b is not None and cand < self.b:
                    break
                if not less_and_compatible(cand, new_h):
                    continue
                if self.slot.federated_ratify(_accepts_prepared(cand), self.latest):
                    new_c = cand
                else:
                    break
        return self.set_confirm_prepared(new_c, new_h)

    def set_confirm_prepared(self, new_c: Ballot | None, new_h: Ballot) -> bool:
        self.z = new_h.value
        did = False
        if self.b is None or compatible(self.b, new_h):
            if self.h is None or new_h > self.h:
                self.h = new_h
                did = True
            if new_c is not None:
                self.c = new_c
                did = True
        did = self.update_current_if_needed(new_h) or did  # step 8
        if did:
            self.emit_current_state()
        return did

    # ---------------------------------------------------------------- steps 4, 6, 8: accept commit

    def _commit_boundaries(self, b: Ballot) -> set[int]:
        out: set[int] = set()
        for p in self.latest.pledges():  # duplicates add nothing to a set
            if isinstance(p, Prepare):
                if compatible(b, p.ballot) and p.n_c:
                    out.update((p.n_c, p.n_h))
            elif isinstance(p, Confirm):
                if compatible(b, p.ballot):
                    out.update((p.n_commit, p.n_h))
            elif isinstance(p, Externalize) and compatible(b, p.commit):
                out.update((p.commit.counter, p.n_h, INFINITE_COUNTER))
        out.discard(0)
        return out

    def attempt_accept_commit(self, hint: BallotPledge) -> bool:
        """Steps 4 and 6: accept commit of the widest interval a v-blocking set or quorum backs."""
        if self.phase not in (Phase.PREPARE, Phase.CONFIRM):
            return False
        if isinstance(hint, Prepare):
            if hint.n_c == 0:
                return False
            ballot = Ballot(hint.n_h, hint.ballot.value)
        elif isinstance(hint, Confirm):
            ballot = Ballot(hint.n_h, hint.ballot.value)
        else:
            ballot = Ballot(hint.n_h, hint.commit.value)
        if self.phase is Phase.CONFIRM:
            assert self.h is not None
            if not compatible(ballot, self.h):
                return False

        def pred(iv: Interval) -> bool:
            return self.slot.federated_accept(
                lambda st: votes_commit(ballot, iv, st.pledge),  # type: ignore[arg-type]
                lambda st: accepts_commit(ballot, iv, st.pledge),  # type: ignore[arg-type]
                self.latest,
            )

        iv = find_extended_interval(self._commit_boundaries(ballot), pred)
        if iv is None:
            return False
        if self.phase is Phase.CONFIRM:
            assert self.h is not None
            if iv[1] <= self.h.counter:
                return False
        return self.set_accept_commit(Ballot(iv[0], ballot.value), Ballot(iv[1], ballot.value))

    def set_accept_commit(self, new_c: Ballot, new_h: Ballot) -> bool:
        self.z = new_h.value
        did = False
        if self.h != new_h or self.c != new_c:
            self.c, self.h = new_c, new_h
            did = True
        if self.phase is Phase.PREPARE:
            self.phase = Phase.CONFIRM
            if self.b is not None and not less_and_compatible(new_h, self.b):
                self.bump_to_ballot(new_h, check=False)
            self.pp = None
            if self.p is None or not compatible(self.p, new_h):
                # Deviation from CORE (which asserts later): a v-blocking set can make us accept
                # commit of a value other than p's. From now on only that value matters, and a
                # CONFIRM states "accepted prepare(<p.counter, b.value>)", so p must carry it.
                self.p = new_h
            did = True
        if did:
            assert self.h is not None
            self.update_current_if_needed(self.h)
            self.emit_current_state()
        return did

    # ---------------------------------------------------------------- steps 7, 8: confirm commit

    def attempt_confirm_commit(self, hint: BallotPledge) -> bool:
        """Step 7: a quorum accepts commit of an interval: externalize."""
        if self.phase is not Phase.CONFIRM or self.h is None or self.c is None:
            return False
        if isinstance(hint, Prepare):
            return False
        if isinstance(hint, Confirm):
            ballot = Ballot(hint.n_h, hint.ballot.value)
        else:
            ballot = Ballot(hint.n_h, hint.commit.value)
        if not compatible(ballot, self.c):
            return False

        def pred(iv: Interval) -> bool:
            return self.slot.federated_ratify(lambda st: accepts_commit(ballot, iv, _bp(st)), self.latest)

        iv = find_extended_interval(self._commit_boundaries(ballot), pred)
        if iv is None:
            return False
        return self.set_confirm_commit(Ballot(iv[0], ballot.value), Ballot(iv[1], ballot.value))

    def set_confirm_commit(self, new_c: Ballot, new_h: Ballot) -> bool:
        self.c, self.h = new_c, new_h
        self.update_current_if_needed(new_h)
        self.phase = Phase.EXTERNALIZE
        self.emit_current_state()
        self.slot.value_externalized(new_c.value)
        return True

    # ------------------------------------------------------------------------------- step 9: bump

    def attempt_bump(self) -> bool:
        """Step 9: if the nodes ahead of our counter are v-blocking, jump to the lowest counter that stops it."""
        if self.phase not in (Phase.PREPARE, Phase.CONFIRM):
            return False
        local = self.b.counter if self.b is not None else 0

        beyond = [
            (c, senders) for rep, senders in self.latest.groups() if (c := _counter_of(_bp(rep))) > local
        ]

        def ahead(n: int) -> bool:
            return self.slot.is_v_blocking_set({node for c, senders in beyond if c > n for node in senders})

        if not ahead(local):
            return False
        for n in sorted({c for c, _ in beyond}):
            if not ahead(n):
                return self.abandon_ballot(n)
        return False

    # ------------------------------------------------------------------------- ballot updates, timers

    def abandon_ballot(self, n: int) -> bool:
        v = self.slot.nomination.latest_composite
        if not v and self.b is not None:
            v = self.b.value
        if v is None:
            return False
        if n == 0:
            return self.bump_state(v, force=True)
        return self.bump_state_to(v, n)

    def bump_state(self, value: bytes, force: bool) -> bool:
        """Start (or, when ``force``, restart at counter+1) balloting on ``value`` (CORE ``bumpState``)."""
        if not force and self.b is not None:
            return False
        return self.bump_state_to(value, self.b.counter + 1 if self.b is not None else 1)

    def bump_state_to(self, value: bytes, n: int) -> bool:
        if self.phase not in (Phase.PREPARE, Phase.CONFIRM):
            return False
        nb = Ballot(n, self.z if self.z is not None else value)
        if self.update_current_value(nb):
            self.emit_current_state()
            self.check_heard_from_quorum()
            return True
        return False

    def update_current_value(self, nb: Ballot) -> bool:
        if self.phase not in (Phase.PREPARE, Phase.CONFIRM):
            return False
        if self.b is None:
            self.bump_to_ballot(nb, check=True)
            return True
        if self.c is not None and not compatible(self.c, nb):
            return False  # committed: never move to another value
        if self.b < nb:
            self.bump_to_ballot(nb, check=True)
            return True
        return False  # never move b backwards

    def update_current_if_needed(self, x: Ballot) -> bool:
        if self.b is None or self.b < x:
            self.bump_to_ballot(x, check=True)
            return True
        return False

    def bump_to_ballot(self, nb: Ballot, check: bool) -> None:
        if self.phase is Phase.EXTERNALIZE:
            raise InvariantViolation("bump_to_ballot after externalize")
        if check and self.b is not None and nb < self.b:
            raise InvariantViolation("ballot moved backwards")
        bumped = self.b is None or self.b.counter != nb.counter
        self.b = nb
        if self.h is not None and not compatible(self.b, self.h):
            self.h = None
            self.c = None
        if bumped:
            self.heard_from_quorum = False

    def check_heard_from_quorum(self) -> None:
        """Arm the ballot timer only once a quorum is at our counter or beyond (CORE, issue #1548)."""
        if self.b is None:
            return
        counter = self.b.counter
        at_or_ahead = [
            node
            for rep, senders in self.latest.groups()
            if not isinstance(p := rep.pledge, Prepare) or counter <= p.ballot.counter
            for node in senders
        ]
        if self.slot.contains_quorum(self.latest, at_or_ahead):
            was = self.heard_from_quorum
            self.heard_from_quorum = True
            if not was and self.phase is not Phase.EXTERNALIZE:
                timeout = self.slot.node.driver.compute_timeout_ms(counter, False)
                self.slot.set_timer(TimerKind.BALLOT, timeout)
            if self.phase is Phase.EXTERNALIZE:
                self.slot.cancel_timer(TimerKind.BALLOT)
        else:
            self.heard_from_quorum = False
            self.slot.cancel_timer(TimerKind.BALLOT)

    def timer_expired(self) -> None:
        self.timer_exp_count += 1
        self.abandon_ballot(0)

    # ------------------------------------------------------------------------------------ emitting

    def current_pledge(self) -> BallotPledge:
        """CORE ``createStatement`` for the current phase."""
        if self.phase is Phase.PREPARE:
            return Prepare(
                self.b if self.b is not None else Ballot(0, b""),
                self.p,
                self.pp,
                self.c.counter if self.c is not None else 0,
                self.h.counter if self.h is not None else 0,
            )
        assert self.b is not None
        assert self.p is not None
        assert self.c is not None
        assert self.h is not None
        if self.phase is Phase.CONFIRM:
            return Confirm(self.b, self.p.counter, self.c.counter, self.h.counter)
        return Externalize(self.c, self.h.counter)

    def emit_current_state(self) -> None:
        st = self.slot.make_statement(self.current_pledge())
        if self.latest.get(self.slot.local_id) == st:
            return  # same statement (h can change value without changing h.counter)
        if not self.process(st, from_self=True):
            raise InvariantViolation(f"ballot protocol moved to a bad state: {st.pledge}")
        if self.b is not None and (
            self.last_envelope is None or ballot_is_newer(_bp(self.last_envelope), _bp(st))
        ):
            self.last_envelope = st

    def send_latest(self) -> None:
        if (
            self.slot.fully_validated
            and self.last_envelope is not None
            and self.last_envelope != self.last_emitted
        ):
            self.last_emitted = self.last_envelope
            self.slot.out(Emit(self.last_envelope))

    # -------------------------------------------------------------------------------------- restore

    def set_state_from(self, st: Statement) -> None:
        """Rebuild b, p, p', h, c and the phase from our last own statement (CORE ``setStateFromEnvelope``)."""
        if self.b is not None:
            raise ConsensusError("cannot restore ballot state after the ballot protocol started")
        p = st.pledge
        if isinstance(p, Prepare):
            v = p.ballot.value
            self.b, self.p, self.pp = p.ballot, p.prepared, p.prepared_prime
            self.h = Ballot(p.n_h, v) if p.n_h else None
            self.c = Ballot(p.n_c, v) if p.n_c else None
            self.phase = Phase.PREPARE
        elif isinstance(p, Confirm):
            v = p.ballot.value
            self.b, self.p = p.ballot, Ballot(p.n_prepared, v)
            self.h, self.c = Ballot(p.n_h, v), Ballot(p.n_commit, v)
            self.phase = Phase.CONFIRM
        elif isinstance(p, Externalize):
            v = p.commit.value
            self.b = self.p = Ballot(INFINITE_COUNTER, v)
            self.h, self.c = Ballot(p.n_h, v), p.commit
            self.phase = Phase.EXTERNALIZE
            self.slot.externalized_reported = True
        else:
            raise ConsensusError("not a ballot statement")
        if self.h is not None:
            self.z = self.h.value
        self._store(st)
        self.last_envelope = self.last_emitted = st
