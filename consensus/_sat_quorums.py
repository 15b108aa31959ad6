"""The SAT formulation behind ``quorum_check``: "are there two quorums that share no honest node?".

One propositional variable per node and side says "this node is in quorum A" (or B); one per
distinct quorum set (and inner set) and side says "side A satisfies this set". The clauses:

* a member of A satisfies its quorum set inside A: ``a_n → sat_A(qset(n))`` (likewise for B);
* ``sat_A(q) → at least threshold(q) of q's members`` (validators' ``a_v`` literals and inner sets'
  ``sat_A`` literals): a cardinality constraint, written as "at most size - threshold members
  missing" with a totalizer over the negated member literals (pysat's ``ITotalizer``), whose output
  literal for "one too many missing" is forbidden under ``sat_A(q)``;
* A and B are disjoint and each contains a node.

Only implications from membership towards satisfaction are needed: in any model the nodes whose
``a_n`` is true form a quorum, so a model *is* two disjoint quorums and "unsatisfiable" proves that
every two quorums intersect. Quorum sets shared by many nodes (the usual "T of the organisations,
2 of 3 inside each") are encoded once per side, so a network of 100 nodes is a few thousand clauses.

Faulty nodes (for intersection-criticality) get a selector literal ``f_n``: a faulty node may sit in
both quorums and needs no slice (it can claim any quorum set), and each quorum must still contain an
honest node. The selectors are fixed per question by solver *assumptions*, so one solver answers
every group's question and keeps what it learnt between them.

Learnt from stellar-quorum-analyzer's and python-fbas's formulations (two membership variables per
node, one implication per quorum set); ours uses cardinality constraints instead of enumerating
slices. Pure: the solver runs in this process; time and memory limits belong to the caller.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Literal

from pysat.card import ITotalizer
from pysat.solvers import Solver

from consensus._quorum import QuorumSet

SOLVER = "cadical195"
Side = Literal["A", "B"]
SIDES: tuple[Side, Side] = ("A", "B")


class DisjointQuorums:
    """An incremental SAT instance over ``members`` (the only nodes that may be in a quorum).

    Use as a context manager (the solver holds native memory), then call ``find`` once per question.
    """

    def __init__(
        self, qsets: Mapping[bytes, QuorumSet | None], members: Collection[bytes], *, faulty_selectors: bool
    ) -> None:
        self._qsets = qsets
        self._members = frozenset(members)
        self._order = sorted(self._members)
        self._top = 0
        self._clauses: list[list[int]] = []
        self._in: dict[tuple[bytes, Side], int] = {
            (n, side): self._new_var() for n in self._order for side in SIDES
        }
        self._faulty: dict[bytes, int] = {n: self._new_var() for n in self._order} if faulty_selectors else {}
        self._satisfied: dict[tuple[QuorumSet, Side], int | None] = {}
        for n in self._order:
            self._encode_node(n)
        for side in SIDES:
            self._encode_has_honest_member(side)
        self._solver = Solver(name=SOLVER, bootstrap_with=self._clauses)
        self._clauses = []

    def __enter__(self) -> DisjointQuorums:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._solver.delete()

    @property
    def size(self) -> tuple[int, int]:
        """(variables, clauses) of the formula, for logs and benchmarks."""
        return self._top, int(self._solver.nof_clauses())

    def find(self, faulty: Iterable[bytes] = ()) -> tuple[frozenset[bytes], frozenset[bytes]] | None:
        """Two quorums whose common nodes are all in ``faulty``, each with an honest node; or None.

        Raises:
            ValueError: ``faulty`` is not empty but the instance was built without selectors.
        """
        bad = frozenset(faulty) & self._members
        if bad and not self._faulty:
            raise ValueError("this instance was built without faulty-node selectors")
        assumptions = [v if n in bad else -v for n, v in self._faulty.items()]
        if not self._solver.solve(assumptions=assumptions):
            return None
        true = {lit for lit in self._solver.get_model() if lit > 0}
        return (
            frozenset(n for n in self._order if self._in[(n, "A")] in true),
            frozenset(n for n in self._order if self._in[(n, "B")] in true),
        )

    # ------------------------------------------------------------------------------------ encoding

    def _new_var(self) -> int:
        self._top += 1
        return self._top

    def _encode_node(self, n: bytes) -> None:
        a, b = self._in[(n, "A")], self._in[(n, "B")]
        f = self._faulty.get(n)
        excuse = [f] if f is not None else []  # a faulty node is exempt from both rules below
        self._clauses.append([-a, -b, *excuse])
        qset = self._qsets.get(n)
        for side in SIDES:
            x = self._in[(n, side)]
            sat = None if qset is None else self._satisfied_literal(qset, side)
            self._clauses.append([-x, *excuse] if sat is None else [-x, *excuse, sat])

    def _encode_has_honest_member(self, side: Side) -> None:
        if not self._faulty:
            self._clauses.append([self._in[(n, side)] for n in self._order])
            return
        witnesses = []
        for n in self._order:
            h = self._new_var()  # h → (n in this side) ∧ n honest
            self._clauses += [[-h, self._in[(n, side)]], [-h, -self._faulty[n]]]
            witnesses.append(h)
        self._clauses.append(witnesses)

    def _satisfied_literal(self, q: QuorumSet, side: Side) -> int | None:
        """The literal "``side`` satisfies ``q``", or None when no set of members can satisfy it."""
        key = (q, side)
        if key in self._satisfied:
            return self._satisfied[key]
        parts = [self._in[(v, side)] for v in q.validators if v in self._members]
        for inner in q.inner_sets:
            lit = self._satisfied_literal(inner, side)
            if lit is not None:
                parts.append(lit)
        lit = None if len(parts) < q.threshold else self._at_least(q.threshold, parts)
        self._satisfied[key] = lit
        return lit

    def _at_least(self, k: int, parts: list[int]) -> int:
        """A fresh literal g with g → (at least k of ``parts`` are true)."""
        g = self._new_var()
        n = len(parts)
        if k <= 0:
            return g
        if k == n:
            self._clauses += [[-g, p] for p in parts]
        elif k == 1:
            self._clauses.append([-g, *parts])
        else:
            # "at most n - k missing": the totalizer's output rhs[j] is forced true once j + 1
            # members are missing, so g forbids output n - k.
            tot = ITotalizer(lits=[-p for p in parts], ubound=n - k + 1, top_id=self._top)
            self._clauses += [list(c) for c in tot.cnf.clauses]
            self._top = int(tot.top_id)
            self._clauses.append([-g, -int(tot.rhs[n - k])])
            tot.delete()
        return g
