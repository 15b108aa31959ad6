"""Read indexes for the explorer and the event stream, written in the ledger's own WriteBatch.

The ledger store keeps what consensus needs (headers, tx sets, results, state). The web pages and
``GET /currencies/{code}/members`` also ask *per currency* questions that the state layout cannot
answer without scanning every holding: who holds the currency, when each member last took part,
how much changed hands each month and how many members were active. These keys answer them:

  ``ic:`` code NUL account                 a holder of ``code`` (any holding entry ever created)
  ``ix:`` code NUL seq8 index4             a transaction that touched ``code`` (any result)
  ``il:`` code NUL account                 [ledger, close time ms] of the account's last applied
                                           transaction in ``code``
  ``im:`` code NUL month4                  [amount paid, payments] in ``code`` that month (UTC)
  ``ia:`` code NUL month4 account          the account paid or was paid in ``code`` that month
  ``ib:`` ref10 seq8 index4                an applied transaction whose memo links it to the board
                                           listing with reference ``ref`` (``protocol.listings``)
  ``m:indexes``                            the index layout version

They are derived data: ``ensure_indexes`` rebuilds them from the stored ledgers when the version
is missing (a database written before they existed), so nothing here is consensus-critical.
Currency codes are A-Z0-9 (never NUL), so ``code NUL`` is an unambiguous prefix.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, assert_never

from node.logs import log
from protocol import codec
from protocol.designs.operations import (
    Accredit,
    ApproveRecovery,
    CancelRecovery,
    CreditHours,
    ExchangePay,
    FinishRecovery,
    RegisterBusiness,
    RemoveBusiness,
    SetGuardians,
)
from protocol.governance.actions import named_account
from protocol.governance.operations import CastVote, LeaveCurrency, Propose, Vouch
from protocol.ledger import LedgerHeader, TxSet, decode_header, decode_results, decode_tx_set
from protocol.listings import linked_ref
from protocol.operations import (
    AdmitMember,
    CreateCurrency,
    Mint,
    Operation,
    Payment,
    Redeem,
    SetCreditLimit,
    SetSigners,
)
from protocol.results import ResultCode, TxResult
from protocol.state import CURRENCY_PREFIX, HOLDING_PREFIX
from protocol.transactions import Transaction

logger = logging.getLogger("tally.store")

INDEX_VERSION = b"2"
_META = b"m:indexes"
_U64 = struct.Struct(">Q")
_U32 = struct.Struct(">I")
_HOLDERS, _HISTORY, _LAST, _MONTHS, _ACTIVE = b"ic:", b"ix:", b"il:", b"im:", b"ia:"
_LINKS = b"ib:"
_STATE_HOLDING = b"s:" + HOLDING_PREFIX
REBUILD_BATCH = 500  # ledgers per write while rebuilding


@dataclass(frozen=True, slots=True)
class MonthActivity:
    month: int  # YYYYMM, UTC
    volume: int  # minor units paid in the currency that month
    payments: int
    active_members: int


@dataclass(frozen=True, slots=True)
class LastActivity:
    ledger: int
    close_time_ms: int


def month_of(close_time_ms: int) -> int:
    when = datetime.fromtimestamp(close_time_ms / 1000, UTC)
    return when.year * 100 + when.month


def operation_currency(op: Operation) -> str | None:
    """The currency an operation is about (None for account-level operations)."""
    match op:
        case Payment() | AdmitMember() | SetCreditLimit() | Mint() | Redeem():
            return op.currency
        case CreateCurrency():
            return op.code
        case SetSigners():
            return None
        case Propose() | CastVote() | Vouch() | LeaveCurrency():
            return op.currency
        case Accredit() | CreditHours() | RegisterBusiness() | RemoveBusiness() | ExchangePay():
            return op.currency  # an exchange is about its payer's currency first (operation_currencies)
        case SetGuardians() | ApproveRecovery() | CancelRecovery() | FinishRecovery():
            return None
        case _:
            assert_never(op)


def operation_currencies(op: Operation) -> tuple[str, ...]:
    """Every currency an operation is about: an exchange's whole path, else ``operation_currency``."""
    if isinstance(op, ExchangePay):
        return op.path
    code = operation_currency(op)
    return () if code is None else (code,)


def operation_accounts(op: Operation, source: bytes) -> tuple[bytes, ...]:
    """The accounts whose standing in ``operation_currency(op)`` the operation concerns."""
    match op:
        case Payment() | Mint():
            return (source, op.destination)
        case AdmitMember() | SetCreditLimit():
            return (op.member,)
        case CreateCurrency() | Redeem() | SetSigners() | CastVote() | LeaveCurrency():
            return (source,)
        case Vouch():
            return (source, op.candidate)
        case Propose():
            named = (named_account(action) for action in op.actions)
            return (source, *(account for account in named if account is not None))
        case Accredit(_, organisation, _, _):
            return (organisation,)
        case CreditHours(_, volunteer, _, _):
            return (source, volunteer)
        case RegisterBusiness(_, business, _, _, _) | RemoveBusiness(_, business):
            return (business,)
        case ExchangePay(destination, _, _, _, _):
            return (source, destination)
        case SetGuardians() | ApproveRecovery() | CancelRecovery() | FinishRecovery():
            return (source,)
        case _:
            assert_never(op)


def transaction_currencies(tx: Transaction) -> set[str]:
    return {code for op in tx.body.operations for code in operation_currencies(op)}


def _code(code: str) -> bytes:
    return code.encode("ascii") + b"\x00"


class IndexWriter:
    """Collects the index puts of one ledger (applied into the ledger's batch by the store)."""

    def __init__(self) -> None:
        self.puts: dict[bytes, bytes] = {}
        self._months: dict[bytes, list[int]] = {}

    def add_ledger(
        self,
        header: LedgerHeader,
        tx_set: TxSet,
        results: Iterable[TxResult],
        holding_keys: Iterable[bytes],
        months: MonthReader,
    ) -> None:
        """Index one closed ledger. ``holding_keys`` are the state keys (without the store's
        prefix) of holdings it created or changed; ``months`` reads the stored month totals."""
        for key in holding_keys:
            account, code = key[1:33], key[33:].decode("ascii")
            self.puts[_HOLDERS + _code(code) + account] = b""
        order = {tx.hash: (index, tx) for index, tx in enumerate(tx_set.transactions)}
        seq = _U64.pack(header.seq)
        month = _U32.pack(month_of(header.close_time_ms))
        for result in results:
            index, tx = order[result.tx_hash]
            for code in transaction_currencies(tx):
                self.puts[_HISTORY + _code(code) + seq + _U32.pack(index)] = tx.hash
            if result.code is not ResultCode.OK:
                continue
            ref = linked_ref(tx.body.memo)
            if ref is not None:
                self.puts[_LINKS + bytes.fromhex(ref) + seq + _U32.pack(index)] = tx.hash
            for op in tx.body.operations:
                for about in operation_currencies(op):
                    prefix = _code(about)
                    for account in operation_accounts(op, tx.body.source):
                        self.puts[_LAST + prefix + account] = codec.pack((header.seq, header.close_time_ms))
                    if isinstance(op, Payment):
                        self._add_payment(prefix, month, op, tx.body.source, months)

    def _add_payment(
        self, prefix: bytes, month: bytes, op: Payment, source: bytes, months: MonthReader
    ) -> None:
        key = _MONTHS + prefix + month
        totals = self._months.get(key)
        if totals is None:
            totals = self._months[key] = list(months.totals(key))
        totals[0] += op.amount
        totals[1] += 1
        self.puts[key] = codec.pack(tuple(totals))
        for account in (source, op.destination):
            self.puts[_ACTIVE + prefix + month + account] = b""


class MonthReader:
    """Reads the stored month totals (the writer adds to them)."""

    def __init__(self, db: Any) -> None:
        self._db = db

    def totals(self, key: bytes) -> tuple[int, int]:
        raw = self._db.get(key)
        if raw is None:
            return (0, 0)
        volume, payments = codec.unpack(raw, max_size=64, what="month totals")
        return int(volume), int(payments)


class IndexReader:
    """Queries over the index keys (``db`` is the store's plyvel handle)."""

    def __init__(self, db: Any) -> None:
        self._db = db

    def currency_codes(self) -> list[str]:
        """Every currency on the ledger, by code."""
        prefix = b"s:" + CURRENCY_PREFIX
        return [
            bytes(k[len(prefix) :]).decode("ascii")
            for k in self._db.iterator(prefix=prefix, include_value=False)
        ]

    def holders(self, code: str, *, limit: int, after: bytes | None = None) -> list[bytes]:
        """Up to ``limit`` accounts holding ``code``, in address-key order, strictly after ``after``."""
        prefix = _HOLDERS + _code(code)
        start = prefix + after + b"\x00" if after is not None else prefix
        found = []
        for key in self._db.iterator(start=start, stop=prefix_end(prefix), include_value=False):
            found.append(bytes(key[len(prefix) :]))
            if len(found) >= limit:
                break
        return found

    def last_activity(self, code: str, account: bytes) -> LastActivity | None:
        raw = self._db.get(_LAST + _code(code) + account)
        if raw is None:
            return None
        ledger, close_time_ms = codec.unpack(raw, max_size=64, what="last activity")
        return LastActivity(int(ledger), int(close_time_ms))

    def history(
        self, code: str, *, limit: int, before: tuple[int, int] | None = None
    ) -> list[tuple[int, int, bytes]]:
        """Up to ``limit`` (ledger, index, tx hash) touching ``code``, newest first."""
        prefix = _HISTORY + _code(code)
        stop = prefix + _U64.pack(before[0]) + _U32.pack(before[1]) if before else prefix_end(prefix)
        return _positions(self._db.iterator(start=prefix, stop=stop, reverse=True), len(prefix), limit)

    def months(self, code: str, *, limit: int) -> list[MonthActivity]:
        """The latest ``limit`` months with payments in ``code``, oldest first."""
        prefix = _MONTHS + _code(code)
        rows = []
        for key, raw in self._db.iterator(prefix=prefix, reverse=True):
            month = _U32.unpack_from(key, len(prefix))[0]
            volume, payments = codec.unpack(raw, max_size=64, what="month totals")
            rows.append((month, int(volume), int(payments)))
            if len(rows) >= limit:
                break
        return [
            MonthActivity(month, volume, payments, self._active(_code(code), month))
            for month, volume, payments in reversed(rows)
        ]

    def linked(self, ref: str, *, limit: int) -> list[tuple[int, int, bytes]]:
        """Up to ``limit`` (ledger, index, tx hash) of applied transactions whose memo links to
        the listing reference ``ref``, oldest first."""
        prefix = _LINKS + bytes.fromhex(ref)
        return _positions(self._db.iterator(prefix=prefix), len(prefix), limit)

    def _active(self, code_prefix: bytes, month: int) -> int:
        keys = self._db.iterator(prefix=_ACTIVE + code_prefix + _U32.pack(month), include_value=False)
        return sum(1 for _ in keys)


def _positions(
    rows: Iterable[tuple[bytes, bytes]], prefix_len: int, limit: int
) -> list[tuple[int, int, bytes]]:
    """(ledger, index, tx hash) of up to ``limit`` ``prefix seq8 index4 → tx hash`` rows."""
    found = []
    for key, tx_hash in rows:
        ledger = _U64.unpack_from(key, prefix_len)[0]
        index = _U32.unpack_from(key, prefix_len + 8)[0]
        found.append((ledger, index, bytes(tx_hash)))
        if len(found) >= limit:
            break
    return found


def ensure_indexes(db: Any, network: bytes, last_seq: int) -> None:
    """Build the indexes from the stored ledgers if this database has none of this version yet."""
    if db.get(_META) == INDEX_VERSION:
        return
    log(logger, logging.INFO, "building explorer indexes", ledgers=last_seq)
    for prefix in (_HOLDERS, _HISTORY, _LAST, _MONTHS, _ACTIVE, _LINKS):
        with db.write_batch() as batch:
            for key in db.iterator(prefix=prefix, include_value=False):
                batch.delete(key)
    with db.write_batch() as batch:
        for key in db.iterator(prefix=_STATE_HOLDING, include_value=False):
            account, code = key[3:35], key[35:]
            batch.put(_HOLDERS + code + b"\x00" + account, b"")
    months = MonthReader(db)
    for first in range(2, last_seq + 1, REBUILD_BATCH):
        writer = IndexWriter()
        for seq in range(first, min(first + REBUILD_BATCH, last_seq + 1)):
            header, tx_set, results = _stored_ledger(db, network, seq)
            writer.add_ledger(header, tx_set, results, (), months)
        with db.write_batch(sync=True) as batch:
            for key, value in writer.puts.items():
                batch.put(key, value)
    db.put(_META, INDEX_VERSION, sync=True)


def _stored_ledger(db: Any, network: bytes, seq: int) -> tuple[LedgerHeader, TxSet, tuple[TxResult, ...]]:
    key = _U64.pack(seq)
    return (
        decode_header(db.get(b"lh:" + key)),
        decode_tx_set(db.get(b"lt:" + key), network),
        decode_results(db.get(b"lr:" + key)),
    )


def prefix_end(prefix: bytes) -> bytes:
    """The smallest key greater than every key starting with ``prefix``."""
    trimmed = prefix.rstrip(b"\xff")
    return trimmed[:-1] + bytes([trimmed[-1] + 1])
