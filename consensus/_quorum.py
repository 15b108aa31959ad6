"""Quorum sets: structure, canonical encoding and hash, sanity rules, and the quorum predicates.

A quorum set is "k of n" over validators and nested inner sets (scp.md §2.1). A node's *slices* are the
node sets that satisfy it; a *quorum* is a node set that contains a slice of each of its members; a
set is *v-blocking* for a node when it meets every one of its slices. Pure functions only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

from consensus._errors import QuorumSetError, StatementDecodeError
from protocol import codec
from protocol.errors import DecodeError
from protocol.hashing import blake2b256

NodeId = bytes
"""A validator's 32-byte Ed25519 public key."""

NODE_ID_SIZE = 32
PERSON_QSET = b"tally.qset"
QSET_VERSION = 1
MAX_NESTING = 4  # CORE MAXIMUM_QUORUM_NESTING_LEVEL: top level is depth 0
MAX_NODES = 1000
MAX_QSET_BYTES = 64 * 1024
U64_MAX = (1 << 64) - 1


@dataclass(frozen=True)
class QuorumSet:
    """``threshold`` of the members (``validators`` plus ``inner_sets``) must agree."""

    threshold: int
    validators: tuple[bytes, ...]
    inner_sets: tuple[QuorumSet, ...] = ()

    def encode(self) -> bytes:
        """Canonical msgpack: ``[version, threshold, [validators], [inner sets]]`` (inner sets unversioned)."""
        return codec.pack((QSET_VERSION, *_to_tuple(self)))

    @cached_property
    def hash(self) -> bytes:
        """32-byte BLAKE2b-256 of the encoding of the *normalized* set: how statements refer to it."""
        return blake2b256(normalize_quorum_set(self).encode(), PERSON_QSET)

    @cached_property
    def size(self) -> int:
        """Number of direct members (validators + inner sets)."""
        return len(self.validators) + len(self.inner_sets)

    @cached_property
    def shape(self) -> _Shape:
        """The set split for fast slice tests (computed once per quorum set object)."""
        return _shape_of(self)


class _Shape(NamedTuple):
    """How ``is_quorum_slice`` / ``is_v_blocking`` read a quorum set without recursing everywhere.

    ``validator_set`` is None when a validator is listed twice (then each listing counts, one by
    one). ``leaves`` are inner sets of distinct validators only (an organisation), tested with one
    set intersection each; ``nested`` are the other inner sets, tested recursively. Counting
    members in another order gives the same yes or no.
    """

    validator_set: frozenset[bytes] | None
    leaves: tuple[tuple[int, frozenset[bytes]], ...]  # (threshold, validators)
    nested: tuple[QuorumSet, ...]


def _shape_of(q: QuorumSet) -> _Shape:
    distinct = frozenset(q.validators)
    leaves: list[tuple[int, frozenset[bytes]]] = []
    nested: list[QuorumSet] = []
    for inner in q.inner_sets:
        members = frozenset(inner.validators)
        if inner.inner_sets or len(members) != len(inner.validators):
            nested.append(inner)
        else:
            leaves.append((inner.threshold, members))
    return _Shape(distinct if len(distinct) == len(q.validators) else None, tuple(leaves), tuple(nested))


def singleton_quorum_set(node: bytes) -> QuorumSet:
    """``{1 of [node]}``: the quorum set CORE substitutes for the sender of an EXTERNALIZE."""
    return QuorumSet(1, (node,))


def _to_tuple(q: QuorumSet) -> tuple[Any, ...]:
    return (q.threshold, q.validators, tuple(_to_tuple(i) for i in q.inner_sets))


def decode_quorum_set(data: bytes) -> QuorumSet:
    """Decode and sanity-check a quorum set received from a peer.

    Raises:
        StatementDecodeError: not the canonical encoding of a quorum set.
        QuorumSetError: well-formed but breaks a sanity rule (see ``check_quorum_set_sane``).
    """
    try:
        obj = codec.unpack(data, max_size=MAX_QSET_BYTES, max_array=MAX_NODES + 1, what="quorum set")
        fields = codec.array(obj, 4, "quorum set")
        codec.tag(fields[0], QSET_VERSION, "quorum set")
        qset = _from_tuple(fields[1:], 0)
    except StatementDecodeError:
        raise
    except DecodeError as exc:
        raise StatementDecodeError(str(exc)) from None
    check_quorum_set_sane(qset)
    return qset


def _from_tuple(fields: tuple[Any, ...], depth: int) -> QuorumSet:
    if depth > MAX_NESTING:
        raise StatementDecodeError(f"quorum set: nested deeper than {MAX_NESTING} levels")
    threshold = codec.integer(fields[0], "quorum set threshold", hi=codec.UINT32_MAX)
    raw_validators = codec.seq(fields[1], "quorum set validators", max_len=MAX_NODES)
    validators = tuple(codec.blob(v, "validator id", size=NODE_ID_SIZE) for v in raw_validators)
    raw_inner = codec.seq(fields[2], "quorum set inner sets", max_len=MAX_NODES)
    inner = tuple(_from_tuple(codec.array(i, 3, "inner quorum set"), depth + 1) for i in raw_inner)
    return QuorumSet(threshold, validators, inner)


def check_quorum_set_sane(qset: QuorumSet, *, extra_checks: bool = False) -> None:
    """Check CORE's ``isQuorumSetSane`` rules (scp.md §2.3).

    Args:
        extra_checks: also require a strict majority at every level (for the *local* configuration).

    Raises:
        QuorumSetError: naming the rule broken and how to fix it.
    """
    seen: set[bytes] = set()
    _check_level(qset, 0, seen, extra_checks, "top level")
    if not seen:
        raise QuorumSetError("the quorum set lists no validator: add at least one")
    if len(seen) > MAX_NODES:
        raise QuorumSetError(f"the quorum set lists {len(seen)} validators; the limit is {MAX_NODES}")


def _check_level(q: QuorumSet, depth: int, seen: set[bytes], extra: bool, where: str) -> None:
    if depth > MAX_NESTING:
        raise QuorumSetError(f"inner sets are nested {depth} levels deep; at most {MAX_NESTING} are allowed")
    n = q.size
    if q.threshold < 1:
        raise QuorumSetError(f"{where}: threshold {q.threshold} must be at least 1")
    if q.threshold > n:
        raise QuorumSetError(f"{where}: threshold {q.threshold} is more than its {n} members")
    if extra and q.threshold < n - q.threshold + 1:
        raise QuorumSetError(
            f"{where}: threshold {q.threshold} of {n} is not a majority; use at least {n // 2 + 1}"
        )
    for v in q.validators:
        if len(v) != NODE_ID_SIZE:
            raise QuorumSetError(f"{where}: a validator id is {len(v)} bytes, not {NODE_ID_SIZE}")
        if v in seen:
            raise QuorumSetError(f"{where}: validator {v.hex()[:16]}… appears more than once")
        seen.add(v)
        if len(seen) > MAX_NODES:
            raise QuorumSetError(f"the quorum set lists more than {MAX_NODES} validators")
    for i, inner in enumerate(q.inner_sets):
        _check_level(inner, depth + 1, seen, extra, f"{where} → inner set {i + 1}")


def normalize_quorum_set(qset: QuorumSet, remove: bytes | None = None) -> QuorumSet:
    """Canonical form (CORE ``normalizeQSet``, scp.md §2.2).

    Removes ``remove`` (lowering the threshold of each level it was in), merges ``{1 of [x]}`` inner
    sets into their parent, replaces ``{1 of [inner I]}`` by ``I`` and sorts members.
    """
    threshold = qset.threshold
    validators = list(qset.validators)
    if remove is not None and remove in validators:
        validators = [v for v in validators if v != remove]
        threshold -= len(qset.validators) - len(validators)
    inner: list[QuorumSet] = []
    for i in qset.inner_sets:
        ni = normalize_quorum_set(i, remove)
        if ni.threshold == 1 and len(ni.validators) == 1 and not ni.inner_sets:
            validators.append(ni.validators[0])
        else:
            inner.append(ni)
    if threshold == 1 and not validators and len(inner) == 1:
        return inner[0]
    inner.sort(key=_sort_key)
    return QuorumSet(threshold, tuple(sorted(validators)), tuple(inner))


def _sort_key(q: QuorumSet) -> tuple[Any, ...]:
    return (q.validators, tuple(_sort_key(i) for i in q.inner_sets), q.threshold)


def all_validators(qset: QuorumSet) -> frozenset[bytes]:
    """Every node id mentioned anywhere in the tree."""
    out = set(qset.validators)
    for inner in qset.inner_sets:
        out |= all_validators(inner)
    return frozenset(out)


def _validators_in(qset: QuorumSet, nodes: set[bytes] | frozenset[bytes]) -> int:
    """How many of the top level's validators (each listing once) are in ``nodes``."""
    validator_set = qset.shape.validator_set
    if validator_set is None:
        return sum(1 for v in qset.validators if v in nodes)
    return len(validator_set & nodes)


def is_quorum_slice(qset: QuorumSet, nodes: set[bytes] | frozenset[bytes]) -> bool:
    """Does ``nodes`` satisfy ``qset`` (contain one of its slices)?

    Every federated vote asks this (for 100 validators in organisations, tens of thousands of times
    per slot), so members are counted with set intersections (``QuorumSet.shape``).
    """
    need = qset.threshold
    if need <= 0:
        return True
    _, leaves, nested = qset.shape
    need -= _validators_in(qset, nodes)
    if need <= 0:
        return True
    for threshold, members in leaves:
        if threshold <= 0 or len(members & nodes) >= threshold:
            need -= 1
            if need <= 0:
                return True
    for inner in nested:
        if is_quorum_slice(inner, nodes):
            need -= 1
            if need <= 0:
                return True
    return False


def is_v_blocking(qset: QuorumSet, nodes: set[bytes] | frozenset[bytes]) -> bool:
    """Does ``nodes`` meet every slice of ``qset`` (so no slice can agree without one of them)?"""
    if qset.threshold <= 0:
        return False  # an empty requirement has a slice (the empty set) that nothing meets
    left = qset.size - qset.threshold + 1
    _, leaves, nested = qset.shape
    left -= _validators_in(qset, nodes)
    if left <= 0:
        return True
    for threshold, members in leaves:
        # a leaf is blocked when more of its members are in ``nodes`` than it can do without
        if threshold > 0 and len(members & nodes) >= len(members) - threshold + 1:
            left -= 1
            if left <= 0:
                return True
    for inner in nested:
        if is_v_blocking(inner, nodes):
            left -= 1
            if left <= 0:
                return True
    return False


def quorum_core(nodes: Iterable[bytes], qset_of: Callable[[bytes], QuorumSet | None]) -> set[bytes]:
    """The largest subset of ``nodes`` in which every member's quorum set is satisfied (greatest fixpoint).

    Nodes whose quorum set is unknown (``qset_of`` returns None) are dropped.

    Nodes that share a quorum set object (the usual case: every validator of a network trusting
    the same set, which ``ScpNode`` stores once per hash) are judged together, once per round, so a
    round costs one slice check per distinct quorum set instead of one per node. The greatest
    fixpoint does not depend on the order of evaluation, so the result is the same set.
    """
    groups: dict[int, tuple[QuorumSet, list[bytes]]] = {}
    for n in nodes:
        q = qset_of(n)
        if q is not None:
            groups.setdefault(id(q), (q, []))[1].append(n)
    members = {n for _, group in groups.values() for n in group}
    while True:
        dropped = [group for q, group in groups.values() if not is_quorum_slice(q, members)]
        if not dropped:
            return members
        for group in dropped:
            members.difference_update(group)
        groups = {k: (q, [n for n in group if n in members]) for k, (q, group) in groups.items()}
        groups = {k: v for k, v in groups.items() if v[1]}


def is_quorum(
    local_qset: QuorumSet, nodes: set[bytes] | frozenset[bytes], qset_of: Callable[[bytes], QuorumSet | None]
) -> bool:
    """Does ``nodes`` contain a quorum that includes a slice of ``local_qset`` (CORE ``LocalNode::isQuorum``)?"""
    return is_quorum_slice(local_qset, quorum_core(nodes, qset_of))


def node_weight(node: bytes, qset: QuorumSet) -> int:
    """Leader-election weight of ``node`` in ``qset``: the fraction of slices containing it, scaled to 2^64-1.

    CORE ``SCPDriver::getNodeWeight``; ``ceil`` division on Python ints is exact (scp.md §4.2).
    """
    n = qset.size
    t = qset.threshold
    if n == 0 or t <= 0:
        return 0
    if node in qset.validators:
        return -(-U64_MAX * t // n)
    for inner in qset.inner_sets:
        w = node_weight(node, inner)
        if w:
            return -(-w * t // n)
    return 0


def organisation_weight(node: bytes, qset: QuorumSet, is_local: bool) -> int:
    """Leader weight as stellar-core's herder gives it: a validator listed on its own has full
    weight, members of an inner set (one organisation) share one full weight.

    With the plain slice-fraction weight (``node_weight``) a 3-of-4 network finds no leader in
    the first nomination round about 7 % of the time, which costs a whole round timeout.
    """
    if is_local or node in qset.validators:
        return U64_MAX
    for inner in qset.inner_sets:
        members = all_validators(inner)
        if node in members:
            return U64_MAX // max(1, len(members))
    return 0
