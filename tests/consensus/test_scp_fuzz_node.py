"""Any sequence of well-formed peer statements leaves ``ScpNode`` consistent (CORE ``checkInvariants``).

Hypothesis feeds random PREPARE/CONFIRM/EXTERNALIZE/NOMINATE statements (sane or not) from v1..v4
to a node that is nominating and balloting; no input may raise, and after every step the ballot
state keeps stellar-core's invariants (scp.md §5.1).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from scp_helpers import CORE5, INF, Harness, X, Y, Z, v1, v2, v3, v4

from consensus import Ballot, Confirm, Externalize, Nominate, Prepare, Statement, TimerKind
from consensus._ballot import Phase
from consensus._messages import less_and_compatible, less_and_incompatible

values = st.sampled_from([X, Y, Z])
counters = st.sampled_from([0, 1, 1, 2, 2, 3, 5, INF])
ballots = st.builds(Ballot, counters, values)
pledges = st.one_of(
    st.builds(Prepare, ballots, st.none() | ballots, st.none() | ballots, counters, counters),
    st.builds(Confirm, ballots, counters, counters, counters),
    st.builds(Externalize, ballots, counters),
    st.builds(
        Nominate,
        st.lists(values, max_size=3, unique=True).map(lambda v: tuple(sorted(v))),
        st.lists(values, max_size=3, unique=True).map(lambda v: tuple(sorted(v))),
    ),
)
steps = st.lists(
    st.one_of(
        st.tuples(st.sampled_from([v1, v2, v3, v4]), pledges),
        st.just(("timer", None)),
    ),
    max_size=40,
)


def _check_invariants(h: Harness) -> None:
    s = h.node._slots.get(0)
    if s is None:
        return
    b = s.ballot
    if b.phase is not Phase.PREPARE:
        assert b.b is not None
        assert b.p is not None
        assert b.c is not None
        assert b.h is not None
    if b.b is not None:
        assert b.b.counter != 0
    if b.p is not None and b.pp is not None:
        assert less_and_incompatible(b.pp, b.p)
    if b.h is not None:
        assert b.b is not None
        assert less_and_compatible(b.h, b.b)
    if b.c is not None:
        assert b.h is not None
        assert b.b is not None
        assert less_and_compatible(b.c, b.h)
        assert less_and_compatible(b.h, b.b)
    assert len(h.externalized) <= 1


@settings(max_examples=60, deadline=None)
@given(steps, st.booleans())
def test_random_statements_never_break_the_node(seq: list[tuple[object, object]], start_ballot: bool) -> None:
    h = Harness()
    h.nominate(X)
    if start_ballot:
        h.bump_state(Y)
    for who, pledge in seq:
        if who == "timer":
            for kind in (TimerKind.BALLOT, TimerKind.NOMINATION):
                if kind in h.timers:
                    h.fire(kind)
                    break
        else:
            assert isinstance(who, bytes)
            h.recv(Statement(who, 0, CORE5.hash, pledge))  # type: ignore[arg-type]
        _check_invariants(h)
    # every emitted statement is one a peer would accept as sane
    from consensus._messages import ballot_is_sane, nomination_is_sane

    for e in h.envs:
        p = e.pledge
        assert nomination_is_sane(p) if isinstance(p, Nominate) else ballot_is_sane(p)


@st.composite
def sane_pledges(draw: st.DrawFn) -> Prepare | Confirm | Externalize:
    """Random statements that pass the sanity checks, to reach deeper protocol states."""
    kind = draw(st.integers(0, 2))
    n = draw(st.integers(1, 5))
    v = draw(values)
    if kind == 0:
        p = draw(st.none() | st.builds(Ballot, st.integers(1, n), values))
        pp = None
        if p is not None and draw(st.booleans()):
            other = draw(values.filter(lambda w: w != p.value))
            cand = Ballot(draw(st.integers(0, p.counter)), other)
            pp = cand if less_and_incompatible(cand, p) else None
        nh = draw(st.integers(0, p.counter)) if p is not None else 0
        nh = min(nh, n)
        nc = draw(st.integers(0, nh)) if nh else 0
        return Prepare(Ballot(n, v), p, pp, nc, nh)
    if kind == 1:
        nh = draw(st.integers(0, n))
        return Confirm(Ballot(n, v), draw(st.integers(0, n)), draw(st.integers(0, nh)), nh)
    c = draw(st.integers(1, n))
    return Externalize(Ballot(c, v), draw(st.integers(c, INF).filter(lambda x: x <= 6 or x == INF)))


sane_steps = st.lists(
    st.one_of(st.tuples(st.sampled_from([v1, v2, v3, v4]), sane_pledges()), st.just(("timer", None))),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(sane_steps, st.booleans())
def test_random_sane_statements_never_break_the_node(
    seq: list[tuple[object, object]], start_ballot: bool
) -> None:
    test_random_statements_never_break_the_node.hypothesis.inner_test(seq, start_ballot)  # type: ignore[attr-defined]
