"""SCP statements: ballots, the four pledges, the wire codec, sanity checks and "newer than" ordering.

Field meanings follow stellar-core's XDR (scp.md §1.1); the bytes are Tally's strict canonical msgpack.
A statement carries no signature: the node signs the encoding on send and checks it on receipt.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from consensus._errors import StatementDecodeError
from consensus._quorum import NODE_ID_SIZE
from protocol import codec
from protocol.errors import DecodeError

STATEMENT_VERSION = 1
MAX_STATEMENT_BYTES = 64 * 1024
MAX_NOMINATION_VALUES = 256
UINT32_MAX = (1 << 32) - 1
INFINITE_COUNTER = UINT32_MAX  # CORE's "∞" counter (prepare <∞, x> is implied by commit)

T_PREPARE, T_CONFIRM, T_EXTERNALIZE, T_NOMINATE = 0, 1, 2, 3


@dataclass(frozen=True, order=True, slots=True)
class Ballot:
    """``<counter, value>``, ordered by counter then value bytes (unsigned)."""

    counter: int
    value: bytes


def compatible(a: Ballot, b: Ballot) -> bool:
    return a.value == b.value


def less_and_compatible(a: Ballot, b: Ballot) -> bool:
    return a.value == b.value and a.counter <= b.counter  # same value: order is by counter alone


def less_and_incompatible(a: Ballot, b: Ballot) -> bool:
    return a.value != b.value and (a.counter < b.counter or (a.counter == b.counter and a.value < b.value))


@dataclass(frozen=True)
class Nominate:
    """Votes ``votes`` (X) and accepts ``accepted`` (Y) as nominated; both sorted, no duplicates."""

    votes: tuple[bytes, ...]
    accepted: tuple[bytes, ...]


@dataclass(frozen=True)
class Prepare:
    """PREPARE(b, p, p', c.counter, h.counter)."""

    ballot: Ballot
    prepared: Ballot | None = None
    prepared_prime: Ballot | None = None
    n_c: int = 0
    n_h: int = 0


@dataclass(frozen=True)
class Confirm:
    """CONFIRM(b, p.counter, c.counter, h.counter): accepts commit of <n, b.value> for n_commit ≤ n ≤ n_h."""

    ballot: Ballot
    n_prepared: int
    n_commit: int
    n_h: int


@dataclass(frozen=True)
class Externalize:
    """EXTERNALIZE(c, h.counter): confirmed commit of <n, commit.value> for commit.counter ≤ n ≤ n_h."""

    commit: Ballot
    n_h: int


Pledge = Nominate | Prepare | Confirm | Externalize
BallotPledge = Prepare | Confirm | Externalize


@dataclass(frozen=True)
class Statement:
    """What one node says about one slot. ``qset_hash`` names the sender's quorum set."""

    node_id: bytes
    slot: int
    qset_hash: bytes
    pledge: Pledge


# ---------------------------------------------------------------------------------------------- codec


def _ballot_t(b: Ballot | None) -> tuple[int, bytes] | None:
    return None if b is None else (b.counter, b.value)


def encode_statement(st: Statement) -> bytes:
    """Canonical msgpack ``[version, node_id, slot, qset_hash, type, [fields]]``; what the node signs."""
    p = st.pledge
    body: tuple[Any, ...]
    if isinstance(p, Nominate):
        kind, body = T_NOMINATE, (p.votes, p.accepted)
    elif isinstance(p, Prepare):
        kind = T_PREPARE
        body = (_ballot_t(p.ballot), _ballot_t(p.prepared), _ballot_t(p.prepared_prime), p.n_c, p.n_h)
    elif isinstance(p, Confirm):
        kind, body = T_CONFIRM, (_ballot_t(p.ballot), p.n_prepared, p.n_commit, p.n_h)
    else:
        kind, body = T_EXTERNALIZE, (_ballot_t(p.commit), p.n_h)
    return codec.pack((STATEMENT_VERSION, st.node_id, st.slot, st.qset_hash, kind, body))


def decode_statement(data: bytes) -> Statement:
    """Strictly decode a statement (structure only; protocol sanity is checked on ``receive``).

    Raises:
        StatementDecodeError: oversize, malformed, non-canonical, unknown version or type, bad field.
    """
    try:
        return _decode(data)
    except DecodeError as exc:
        if isinstance(exc, StatementDecodeError):
            raise
        raise StatementDecodeError(str(exc)) from None


def _decode(data: bytes) -> Statement:
    obj = codec.unpack(
        data,
        max_size=MAX_STATEMENT_BYTES,
        max_bin=MAX_STATEMENT_BYTES,
        max_array=MAX_NOMINATION_VALUES,
        what="SCP statement",
    )
    f = codec.array(obj, 6, "SCP statement")
    codec.tag(f[0], STATEMENT_VERSION, "SCP statement")
    node_id = codec.blob(f[1], "statement node id", size=NODE_ID_SIZE)
    slot = codec.integer(f[2], "statement slot")
    qset_hash = codec.blob(f[3], "statement quorum set hash", size=32)
    kind = codec.integer(f[4], "statement type", hi=3)
    body = f[5]
    pledge: Pledge
    if kind == T_NOMINATE:
        b = codec.array(body, 2, "NOMINATE")
        pledge = Nominate(_values(b[0], "NOMINATE votes"), _values(b[1], "NOMINATE accepted"))
    elif kind == T_PREPARE:
        b = codec.array(body, 5, "PREPARE")
        pledge = Prepare(
            _ballot(b[0], "PREPARE ballot"),
            _opt_ballot(b[1], "PREPARE prepared"),
            _opt_ballot(b[2], "PREPARE prepared'"),
            _counter(b[3], "PREPARE nC"),
            _counter(b[4], "PREPARE nH"),
        )
    elif kind == T_CONFIRM:
        b = codec.array(body, 4, "CONFIRM")
        pledge = Confirm(
            _ballot(b[0], "CONFIRM ballot"),
            _counter(b[1], "CONFIRM nPrepared"),
            _counter(b[2], "CONFIRM nCommit"),
            _counter(b[3], "CONFIRM nH"),
        )
    else:
        b = codec.array(body, 2, "EXTERNALIZE")
        pledge = Externalize(_ballot(b[0], "EXTERNALIZE commit"), _counter(b[1], "EXTERNALIZE nH"))
    return Statement(node_id, slot, qset_hash, pledge)


def _counter(obj: object, what: str) -> int:
    return codec.integer(obj, what, hi=UINT32_MAX)


def _value(obj: object, what: str) -> bytes:
    return codec.blob(obj, what, max_len=MAX_STATEMENT_BYTES)


def _values(obj: object, what: str) -> tuple[bytes, ...]:
    return tuple(_value(v, what) for v in codec.seq(obj, what, max_len=MAX_NOMINATION_VALUES))


def _ballot(obj: object, what: str) -> Ballot:
    b = codec.array(obj, 2, what)
    return Ballot(_counter(b[0], f"{what} counter"), _value(b[1], f"{what} value"))


def _opt_ballot(obj: object, what: str) -> Ballot | None:
    return None if obj is None else _ballot(obj, what)


# ------------------------------------------------------------------------------- sanity and ordering


def _strictly_increasing(values: tuple[bytes, ...]) -> bool:
    return all(a < b for a, b in itertools.pairwise(values))


def nomination_is_sane(n: Nominate) -> bool:
    """CORE ``NominationProtocol::isSane``: something said, both lists sorted without duplicates."""
    return bool(n.votes or n.accepted) and _strictly_increasing(n.votes) and _strictly_increasing(n.accepted)


def ballot_is_sane(p: BallotPledge, *, from_self: bool = False) -> bool:
    """CORE ``BallotProtocol::isStatementSane`` minus the quorum-set part (scp.md §1.4)."""
    if isinstance(p, Prepare):
        if p.ballot.counter == 0 and not from_self:
            return False
        if (
            p.prepared is not None
            and p.prepared_prime is not None
            and not less_and_incompatible(p.prepared_prime, p.prepared)
        ):
            return False
        if p.n_h != 0 and (p.prepared is None or p.n_h > p.prepared.counter):
            return False
        return p.n_c == 0 or (p.n_h != 0 and p.ballot.counter >= p.n_h >= p.n_c)
    if isinstance(p, Confirm):
        return p.ballot.counter > 0 and p.n_h <= p.ballot.counter and p.n_commit <= p.n_h
    return p.commit.counter > 0 and p.n_h >= p.commit.counter


def nomination_is_newer(old: Nominate, new: Nominate) -> bool:
    """Both sets grew or stayed, and at least one strictly grew (CORE ``isNewerStatement``)."""
    ov, nv, oa, na = set(old.votes), set(new.votes), set(old.accepted), set(new.accepted)
    if not (ov <= nv and oa <= na):
        return False
    return len(nv) > len(ov) or len(na) > len(oa)


def _type_rank(p: BallotPledge) -> int:
    return 0 if isinstance(p, Prepare) else 1 if isinstance(p, Confirm) else 2


def _opt_key(b: Ballot | None) -> tuple[int, int, bytes]:
    return (0, 0, b"") if b is None else (1, b.counter, b.value)  # absent < present


def ballot_is_newer(old: BallotPledge, new: BallotPledge) -> bool:
    """PREPARE < CONFIRM < EXTERNALIZE; within a type, lexicographic on CORE's fields (scp.md §1.3)."""
    ro, rn = _type_rank(old), _type_rank(new)
    if ro != rn:
        return ro < rn
    if isinstance(old, Externalize):
        return False
    if isinstance(old, Confirm) and isinstance(new, Confirm):
        return (old.ballot, old.n_prepared, old.n_h) < (new.ballot, new.n_prepared, new.n_h)
    assert isinstance(old, Prepare)
    assert isinstance(new, Prepare)
    ko = (old.ballot.counter, old.ballot.value, _opt_key(old.prepared), _opt_key(old.prepared_prime), old.n_h)
    kn = (new.ballot.counter, new.ballot.value, _opt_key(new.prepared), _opt_key(new.prepared_prime), new.n_h)
    return ko < kn


def working_ballot(p: BallotPledge) -> Ballot:
    """CORE ``getWorkingBallot``: the ballot a statement is working on."""
    if isinstance(p, Prepare):
        return p.ballot
    if isinstance(p, Confirm):
        return Ballot(p.n_commit, p.ballot.value)
    return p.commit


def committed_value(st: Statement) -> bytes | None:
    """The value a statement accepts (CONFIRM) or confirms (EXTERNALIZE) commit of, if any:
    what a ledger's proof is made of."""
    p = st.pledge
    if isinstance(p, Confirm):
        return p.ballot.value
    if isinstance(p, Externalize):
        return p.commit.value
    return None


def statement_values(p: BallotPledge) -> list[bytes]:
    """Every value a ballot statement mentions (each is checked by the driver)."""
    if isinstance(p, Prepare):
        out = [p.ballot.value] if p.ballot.counter else []
        out += [b.value for b in (p.prepared, p.prepared_prime) if b is not None]
        return out
    if isinstance(p, Confirm):
        return [p.ballot.value]
    return [p.commit.value]
