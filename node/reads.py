"""The read model beside the façade: what the explorer pages, the ledger and member listings and
the event stream ask of the committed ledgers.

Everything here reads the ledger store (committed ledgers and ``node.storage.indexes``), never
the mempool or half-written state, so two readers at the same ledger see the same answer. The one
piece of live state is the chain's ``closed_event``, which ``wait_for_ledger_after`` waits on.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import trio

from node.storage.history import involved_accounts
from node.storage.indexes import LastActivity, MonthActivity, transaction_currencies
from protocol.ledger import LedgerHeader, TxSet, decode_results, decode_tx_set
from protocol.results import ResultCode
from protocol.state import Currency, Holding, Role, StateOverlay, holding_key
from protocol.transactions import Transaction

if TYPE_CHECKING:
    from node.chain import LedgerChain

TX_SET_CACHE = 64  # decoded tx sets of recent ledgers (history pages, event streams)
MAX_BALANCES = 5_000  # members read for a balance distribution


@dataclass(frozen=True, slots=True)
class TxRecord:
    """A transaction as a closed ledger holds it."""

    tx: Transaction
    ledger: int
    index: int
    code: ResultCode
    op_index: int  # which operation failed, -1 when none did or the whole transaction failed
    close_time_ms: int


@dataclass(frozen=True, slots=True)
class LedgerSummary:
    header: LedgerHeader
    tx_count: int


@dataclass(frozen=True, slots=True)
class ValidatorStatus:
    node_id: str  # tlyv1… validator id
    is_self: bool
    connected: bool  # a peer connection to it is open now
    voting: bool  # its SCP statements for the current or the previous slot reached this node


@dataclass(frozen=True, slots=True)
class Member:
    holding: Holding
    last_activity: LastActivity | None


@dataclass(frozen=True, slots=True)
class Balances:
    values: tuple[int, ...]
    complete: bool  # False when the currency has more holders than were read


class EventKind(enum.Enum):
    LEDGER = "ledger"  # a ledger closed
    TX = "tx"  # a transaction of the watched account or currency was applied (or failed)
    GAP = "gap"  # the client resumed from too far back; the ledgers named were skipped


@dataclass(frozen=True, slots=True, order=True)
class EventId:
    """Where an event sits in the ledger history: ledger ``seq``, then ``pos`` 0 for the ledger
    itself and 1 + index for its transactions. Written ``SEQ.POS``; a bare ``SEQ`` means
    "after everything in ledger SEQ"."""

    seq: int
    pos: int

    END = 2**32  # after every position of a ledger

    def __str__(self) -> str:
        return f"{self.seq}.{self.pos}"

    @classmethod
    def parse(cls, text: str) -> EventId | None:
        """``"12.3"`` → EventId(12, 3); ``"12"`` → after ledger 12; None when malformed."""
        seq_text, dot, pos_text = text.strip().partition(".")
        if not _is_number(seq_text) or (dot and not _is_number(pos_text)):
            return None
        seq, pos = int(seq_text), int(pos_text) if dot else cls.END
        if seq >= 2**32 or pos > cls.END:
            return None
        return cls(seq, pos)


@dataclass(frozen=True, slots=True)
class EventFilter:
    ledgers: bool = False
    account: bytes | None = None
    currency: str | None = None

    def wants(self, tx: Transaction) -> bool:
        if self.account is not None and self.account in involved_accounts(tx):
            return True
        return self.currency is not None and self.currency in transaction_currencies(tx)


@dataclass(frozen=True, slots=True)
class Event:
    id: EventId
    kind: EventKind
    ledger: LedgerSummary | None = None
    tx: TxRecord | None = None
    skipped: tuple[int, int] | None = None  # GAP: first and last ledger not replayed


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 10


class LedgerReads:
    """Read-only queries over the ledger store of ``chain``."""

    def __init__(self, chain: LedgerChain, network_id: bytes) -> None:
        self.chain = chain
        self.store = chain.store
        self.network_id = network_id
        self._tx_sets: OrderedDict[int, TxSet] = OrderedDict()

    @property
    def last(self) -> LedgerHeader:
        return self.chain.last

    # -- transactions and ledgers --------------------------------------------------------------

    def tx_set_of(self, ledger: int) -> TxSet | None:
        cached = self._tx_sets.get(ledger)
        if cached is not None:
            self._tx_sets.move_to_end(ledger)
            return cached
        record = self.store.ledger_record(ledger)
        if record is None:
            return None
        tx_set = decode_tx_set(record.tx_set, self.network_id)
        self._tx_sets[ledger] = tx_set
        while len(self._tx_sets) > TX_SET_CACHE:
            self._tx_sets.popitem(last=False)
        return tx_set

    def transaction(self, tx_hash: bytes) -> TxRecord | None:
        location = self.store.tx_location(tx_hash)
        if location is None:
            return None
        tx_set = self.tx_set_of(location.ledger)
        header = self.store.header(location.ledger)
        if tx_set is None or header is None or location.index >= len(tx_set.transactions):
            return None
        return TxRecord(
            tx_set.transactions[location.index],
            location.ledger,
            location.index,
            location.code,
            location.op_index,
            header.close_time_ms,
        )

    def ledger_transactions(self, seq: int) -> list[TxRecord]:
        """The ledger's transactions in tx-set order, each with its result."""
        header = self.store.header(seq)
        record = self.store.ledger_record(seq)
        tx_set = self.tx_set_of(seq)
        if header is None or record is None or tx_set is None:
            return []
        results = {r.tx_hash: r for r in decode_results(record.results)}
        found = []
        for index, tx in enumerate(tx_set.transactions):
            result = results.get(tx.hash)
            if result is not None:
                found.append(TxRecord(tx, seq, index, result.code, result.op_index, header.close_time_ms))
        return found

    def ledgers(self, limit: int, before: int | None = None) -> list[LedgerSummary]:
        """Up to ``limit`` closed ledgers, newest first, with seq below ``before`` when given."""
        top = self.last.seq if before is None else min(before - 1, self.last.seq)
        found = []
        for seq in range(top, max(0, top - limit), -1):
            summary = self.ledger_summary(seq)
            if summary is not None:
                found.append(summary)
        return found

    def ledger_closed_at_or_after(self, close_time_ms: int) -> int | None:
        """The first ledger whose close time is at or after ``close_time_ms`` (the one that
        decides a proposal due then), or None while none is. Close times strictly increase
        with the sequence number, so this is a binary search over the stored headers."""
        low, high = 1, self.last.seq
        if self.last.close_time_ms < close_time_ms:
            return None
        while low < high:
            middle = (low + high) // 2
            header = self.store.header(middle)
            if header is not None and header.close_time_ms >= close_time_ms:
                high = middle
            else:
                low = middle + 1
        return low

    def ledger_summary(self, seq: int) -> LedgerSummary | None:
        record = self.store.ledger_record(seq)
        header = self.store.header(seq)
        if record is None or header is None:
            return None
        return LedgerSummary(header, len(decode_results(record.results)))

    # -- currencies ----------------------------------------------------------------------------

    def currency(self, code: str) -> Currency | None:
        return StateOverlay(self.store).currency(code)

    def currencies(self) -> list[Currency]:
        state = StateOverlay(self.store)
        return [c for code in self.store.indexes.currency_codes() if (c := state.currency(code)) is not None]

    def members(self, code: str, limit: int, after: bytes | None = None) -> list[Member]:
        """Holders of ``code`` in address order (a stable cursor: the last account of a page)."""
        state = StateOverlay(self.store)
        found = []
        for account in self.store.indexes.holders(code, limit=limit, after=after):
            holding = state.get(holding_key(account, code))
            if isinstance(holding, Holding):
                found.append(Member(holding, self.store.indexes.last_activity(code, account)))
        return found

    def holder_count(self, code: str) -> Balances:
        """How many accounts hold some of ``code`` (a positive balance), from the first
        ``MAX_BALANCES`` holdings: an issued currency has holders, not admitted members. The
        commons fund and clearing accounts are the community's, not holders."""
        members = self.members(code, MAX_BALANCES + 1)
        values = tuple(
            m.holding.balance
            for m in members[:MAX_BALANCES]
            if m.holding.balance > 0 and m.holding.role not in (Role.FUND, Role.CLEARING)
        )
        return Balances(values, len(members) <= MAX_BALANCES)

    def balances(self, code: str) -> Balances:
        members = self.members(code, MAX_BALANCES + 1)
        values = tuple(m.holding.balance for m in members[:MAX_BALANCES])
        return Balances(values, len(members) <= MAX_BALANCES)

    def activity(self, code: str, months: int = 12) -> list[MonthActivity]:
        return self.store.indexes.months(code, limit=months)

    def currency_history(
        self, code: str, limit: int, before: tuple[int, int] | None = None
    ) -> list[TxRecord]:
        found = []
        for ledger, _index, tx_hash in self.store.indexes.history(code, limit=limit, before=before):
            record = self.transaction(tx_hash)
            if record is not None and record.ledger == ledger:
                found.append(record)
        return found

    # -- events --------------------------------------------------------------------------------

    def events_in(self, seq: int, wanted: EventFilter) -> list[Event]:
        """The events ledger ``seq`` gives for ``wanted``, in id order."""
        summary = self.ledger_summary(seq)
        if summary is None:
            return []
        events = []
        if wanted.ledgers:
            events.append(Event(EventId(seq, 0), EventKind.LEDGER, ledger=summary))
        if wanted.account is not None or wanted.currency is not None:
            for record in self.ledger_transactions(seq):
                if wanted.wants(record.tx):
                    events.append(Event(EventId(seq, record.index + 1), EventKind.TX, tx=record))
        return events

    async def wait_for_ledger_after(self, seq: int, timeout_s: float) -> bool:
        """Wait until a ledger after ``seq`` is closed; False on timeout."""
        with trio.move_on_after(timeout_s):
            while self.last.seq <= seq:
                await self.chain.closed_event.wait()
        return self.last.seq > seq
