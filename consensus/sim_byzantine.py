"""What Byzantine simulated nodes send: equivocations and random well-formed statements."""

from __future__ import annotations

import random
from dataclasses import replace

from consensus._messages import INFINITE_COUNTER, Ballot, Confirm, Externalize, Nominate, Prepare, Statement


def sim_value(slot: int, node: int, tag: bytes = b"") -> bytes:
    return b"slot %08d proposed by %03d%s" % (slot, node, tag)


def equivocate(st: Statement, index: int) -> Statement:
    """The same statement about a different (valid-looking) value: what an equivocator tells half the peers."""
    alt = sim_value(st.slot, index, b" alt")
    p = st.pledge
    if isinstance(p, Nominate):
        return replace(st, pledge=Nominate((alt,), (alt,) if p.accepted else ()))
    if isinstance(p, Prepare):
        prepared = Ballot(p.prepared.counter, alt) if p.prepared else None
        return replace(st, pledge=Prepare(Ballot(p.ballot.counter, alt), prepared, None, p.n_c, p.n_h))
    if isinstance(p, Confirm):
        return replace(st, pledge=replace(p, ballot=Ballot(p.ballot.counter, alt)))
    return replace(st, pledge=Externalize(Ballot(p.commit.counter, alt), p.n_h))


def random_statement(
    rng: random.Random, node_index: int, node_id: bytes, qset_hash: bytes, slot: int
) -> Statement:
    """A well-formed (not necessarily sane) statement with random fields and plausible values."""
    pool = [
        sim_value(slot, rng.randrange(node_index + 1)),
        sim_value(slot, node_index, b" junk"),
        b"not a value",
    ]

    def value() -> bytes:
        return rng.choice(pool)

    def counter() -> int:
        return rng.choice([0, 1, 1, 2, 3, 5, 100, INFINITE_COUNTER])

    def ballot() -> Ballot:
        return Ballot(counter(), value())

    kind = rng.randrange(4)
    pledge: Nominate | Prepare | Confirm | Externalize
    if kind == 0:
        pledge = Nominate(
            tuple(sorted({value() for _ in range(rng.randint(0, 2))})), tuple(sorted({value()}))
        )
    elif kind == 1:
        pledge = Prepare(
            ballot(), rng.choice([None, ballot()]), rng.choice([None, ballot()]), counter(), counter()
        )
    elif kind == 2:
        pledge = Confirm(ballot(), counter(), counter(), counter())
    else:
        pledge = Externalize(ballot(), counter())
    return Statement(node_id, slot, qset_hash, pledge)
