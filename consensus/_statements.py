"""The latest statement of each sender in one slot (CORE's ``M`` / ``N`` maps), grouped by pledge.

Every federated vote asks "which senders' latest statements satisfy this predicate?". With 100
validators that question runs for every received statement, several times, over every sender; but
most senders say the same thing (a few distinct pledges per slot). So the map keeps the senders of
each distinct pledge, and a question is answered once per distinct pledge. Predicates look at the
pledge only (they receive one statement that carries it), so the answers are exactly those of
asking every sender.

It also holds the cache of quorum answers about this map (``Slot.contains_quorum``), which stays
valid while no sender changes the quorum set its statements are judged with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from consensus._messages import Externalize, Pledge, Statement

StatementPredicate = Callable[[Statement], bool]


def _judged_with(st: Statement) -> bytes | None:
    """What decides the quorum set a statement is judged with: its hash, or None for EXTERNALIZE."""
    return None if isinstance(st.pledge, Externalize) else st.qset_hash


class StatementMap(Mapping[bytes, Statement]):
    """Sender → latest statement (insertion-ordered like a dict), plus senders per distinct pledge."""

    def __init__(self) -> None:
        self._latest: dict[bytes, Statement] = {}
        self._by_pledge: dict[Pledge, tuple[Statement, set[bytes]]] = {}
        self.quorum_cache: dict[frozenset[bytes], bool] = {}

    def __getitem__(self, node: bytes) -> Statement:
        return self._latest[node]

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._latest)

    def __len__(self) -> int:
        return len(self._latest)

    def put(self, st: Statement) -> None:
        """Make ``st`` its sender's latest statement."""
        old = self._latest.get(st.node_id)
        if old is not None:
            if _judged_with(old) != _judged_with(st):
                self.quorum_cache.clear()
            senders = self._by_pledge[old.pledge][1]
            senders.discard(st.node_id)
            if not senders:
                del self._by_pledge[old.pledge]
        self._latest[st.node_id] = st
        entry = self._by_pledge.get(st.pledge)
        if entry is None:
            self._by_pledge[st.pledge] = (st, {st.node_id})
        else:
            entry[1].add(st.node_id)

    def pledges(self) -> Iterator[Pledge]:
        """Each distinct pledge once (in no particular order)."""
        return iter(self._by_pledge)

    def groups(self) -> Iterator[tuple[Statement, set[bytes]]]:
        """(a statement carrying the pledge, its senders) for each distinct pledge."""
        return iter(self._by_pledge.values())

    def senders_where(self, pred: StatementPredicate) -> list[bytes]:
        """The senders whose latest statement satisfies ``pred`` (asked once per distinct pledge)."""
        out: list[bytes] = []
        for rep, senders in self._by_pledge.values():
            if pred(rep):
                out.extend(senders)
        return out
