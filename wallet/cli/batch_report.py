"""What ``tally send-batch`` tells: the totals before sending, then one line (``--json``: one
object) per payment with its fate, and the file of payments to re-run.

``--json`` keys (stable): ``source``, ``dry_run``, ``rows[]`` (``row``, ``line``, ``to``,
``amount``, ``amount_text``, ``currency``, ``memo``, ``sequence``, ``hash``, ``status``,
``code``, ``reason``, ``ledger``), ``totals`` (``rows``, one count per status, ``amounts`` per
currency: ``total``, ``total_text``, ``applied``, ``applied_text``), ``remaining_file`` and
``error`` (``code``, ``message``, ``exit_code``; null unless the node was lost mid-way).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from protocol.addresses import encode_account
from protocol.operations import Payment
from protocol.transactions import Transaction
from wallet.batch import BatchOutcome, RowStatus
from wallet.batch_csv import STDIN, BatchRow, rows_csv
from wallet.cli.common import Session
from wallet.describe import UnitTable, amount_of
from wallet.errors import EXIT_OK, EXIT_REFUSED, BadInput
from wallet.refusals import refusal_reason
from wallet.views import CurrencyView, TxResultView

TO_RERUN = (RowStatus.REFUSED, RowStatus.SKIPPED, RowStatus.HELD)
NOT_DONE = (*TO_RERUN, RowStatus.FAILED, RowStatus.UNKNOWN)


@dataclass(frozen=True, slots=True)
class Planned:
    """One line of the file, resolved: the payment it makes and its currency's details."""

    row: BatchRow
    payment: Payment
    currency: CurrencyView
    memo: bytes

    @property
    def amount_text(self) -> str:
        return self.currency.units.text(self.payment.amount, self.currency.code)


@dataclass(frozen=True, slots=True)
class RowReport:
    """What became of one payment, in words and figures."""

    number: int  # 1-based, in the file's order
    planned: Planned
    status: RowStatus
    tx: Transaction | None  # None in a dry run
    answer: TxResultView | None  # the node's last word on it
    reason: str | None
    to_name: str  # the recipient as people know it

    def to_json(self) -> dict[str, Any]:
        p, tx, answer = self.planned, self.tx, self.answer
        return {
            "row": self.number,
            "line": p.row.line,
            "to": encode_account(p.payment.destination),
            "amount": p.payment.amount,
            "amount_text": p.amount_text,
            "currency": p.payment.currency,
            "memo": p.memo.decode("utf-8"),
            "sequence": None if tx is None else tx.body.seq,
            "hash": None if tx is None else tx.hash.hex(),
            "status": self.status.value,
            "code": None if answer is None else answer.code,
            "reason": self.reason,
            "ledger": None if answer is None else answer.ledger,
        }

    def said(self) -> str:
        """The status column for people: ``applied in ledger 12``, ``refused: over credit limit…``."""
        ledger = None if self.answer is None else self.answer.ledger
        text = f"applied in ledger {ledger}" if self.status is RowStatus.APPLIED else self.status.value
        return f"{text}: {self.reason}" if self.reason else text


def remaining_path(name: str, chosen: Path | None) -> Path | None:
    """Where the payments not applied go: ``--remaining``, else ``NAME.remaining.csv`` beside the
    file (none for standard input). Never the input file itself."""
    if chosen is None and name == STDIN:
        return None
    path = chosen if chosen is not None else Path(name).with_suffix(".remaining.csv")
    if name != STDIN and path.resolve() == Path(name).resolve():
        raise BadInput(
            f"--remaining {chosen} is the payments file itself: name another file", code="bad_usage"
        )
    return path


def summary_lines(s: Session, source: bytes, planned: Sequence[Planned]) -> list[str]:
    """``40 payments from coordinator (tly1…): 80.00 h of HOURS``."""
    units = _units(planned)
    totals = [amount_of(total, code, units) for code, total in _totals(planned).items()]
    return [f"{len(planned)} payments from {s.namer()(source)}: {', '.join(totals)}"]


def report(
    s: Session,
    source: bytes,
    planned: Sequence[Planned],
    txs: Sequence[Transaction] | None,
    outcome: BatchOutcome | None,
    leftover: Path | None = None,
) -> int:
    """Print the batch's report (``txs`` and ``outcome`` None: a dry run); the exit code."""
    rows = _row_reports(s, planned, txs, outcome)
    rerun = [r.planned.row for r in rows if r.status in TO_RERUN]
    written = _write_remaining(s, leftover, rerun)
    error = None if outcome is None else outcome.error
    totals = _totals_json(rows)
    data: dict[str, Any] = {
        "source": encode_account(source),
        "dry_run": outcome is None,
        "rows": [r.to_json() for r in rows],
        "totals": totals,
        "remaining_file": None if written is None else str(written),
        "error": None
        if error is None
        else {"code": error.code, "message": error.message, "exit_code": error.exit_code},
    }

    def human(console: Console) -> None:
        units = _units(planned)
        for r in rows:  # lines, not a table: they stay readable on a phone's narrow terminal
            what = amount_of(r.planned.payment.amount, r.planned.payment.currency, units)
            console.print(
                f"{r.number}. line {r.planned.row.line}: {what} to {r.to_name}: {r.said()}", markup=False
            )
        for line in [_counts_line(rows, units), *_next_steps(rows, rerun, written, outcome)]:
            console.print(line, markup=False)

    s.emit(data, human)
    if error is not None:
        return error.exit_code
    return EXIT_REFUSED if any(r.status in NOT_DONE for r in rows) else EXIT_OK


def _row_reports(
    s: Session, planned: Sequence[Planned], txs: Sequence[Transaction] | None, outcome: BatchOutcome | None
) -> list[RowReport]:
    names: dict[bytes, str] = {}

    def name(key: bytes) -> str:
        if key not in names:
            names[key] = s.home.name_of(key) or encode_account(key)
        return names[key]

    units = _units(planned)
    reports = []
    for i, p in enumerate(planned):
        tx = None if txs is None else txs[i]
        answer = None if outcome is None else outcome.answers[i]
        status = RowStatus.CHECKED if outcome is None else outcome.statuses[i]
        reason = None
        if outcome is not None and tx is not None:
            reason = _reason(status, tx, answer, outcome, units, s)
        reports.append(RowReport(i + 1, p, status, tx, answer, reason, name(p.payment.destination)))
    return reports


def _reason(
    status: RowStatus,
    tx: Transaction,
    answer: TxResultView | None,
    outcome: BatchOutcome,
    units: UnitTable,
    s: Session,
) -> str | None:
    """Why a payment was not applied, in the wallet's usual words (``wallet.refusals``)."""
    stop = None if outcome.refused_at is None else outcome.refused_at + 1
    match status:
        case RowStatus.REFUSED | RowStatus.FAILED if answer is not None:
            return refusal_reason(answer, tx.body.operations, units, s.namer())
        case RowStatus.SKIPPED if stop is not None:
            return f"payment {stop} was refused before it"
        case RowStatus.SKIPPED:
            return "not sent: the node was lost before it"
        case RowStatus.HELD:
            return (
                f"the node still holds it behind payment {stop}: re-run it only once "
                f"`tally tx status {tx.hash.hex()}` says rejected"
            )
        case RowStatus.UNKNOWN:
            return f"sent, but the node's answer was lost: check `tally tx status {tx.hash.hex()}`"
        case _:
            return None


def _units(planned: Sequence[Planned]) -> UnitTable:
    return {p.currency.code: p.currency.units for p in planned}


def _totals(planned: Sequence[Planned]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for p in planned:
        totals[p.payment.currency] = totals.get(p.payment.currency, 0) + p.payment.amount
    return totals


def _totals_json(rows: Sequence[RowReport]) -> dict[str, Any]:
    planned = [r.planned for r in rows]
    applied = _totals([r.planned for r in rows if r.status is RowStatus.APPLIED])
    units = _units(planned)
    counts = {status.value: sum(r.status is status for r in rows) for status in RowStatus}
    amounts = {
        code: {
            "total": total,
            "total_text": units[code].text(total, code),
            "applied": applied.get(code, 0),
            "applied_text": units[code].text(applied.get(code, 0), code),
        }
        for code, total in _totals(planned).items()
    }
    return {"rows": len(rows), **counts, "amounts": amounts}


def _counts_line(rows: Sequence[RowReport], units: UnitTable) -> str:
    """``40 payments: 38 applied, 1 refused, 1 skipped; applied 76.00 h of HOURS``."""
    counts = [f"{n} {status.value}" for status in RowStatus if (n := sum(r.status is status for r in rows))]
    applied = _totals([r.planned for r in rows if r.status is RowStatus.APPLIED])
    line = f"{len(rows)} payments: {', '.join(counts)}"
    if applied:
        line += "; applied " + ", ".join(amount_of(total, code, units) for code, total in applied.items())
    return line


def _write_remaining(s: Session, path: Path | None, rows: Sequence[BatchRow]) -> Path | None:
    """The payments to re-run, written to ``path``; a file that cannot be written is said on
    stderr, never an error: the payments were sent, and the report must still be printed."""
    if path is None or not rows:
        return None
    try:
        path.write_text(rows_csv(rows), encoding="utf-8")
    except OSError as exc:
        s.note(
            f"warning: cannot write {path} ({exc.strerror or exc}): the payments not applied are listed below"
        )
        return None
    return path


def _next_steps(
    rows: Sequence[RowReport], rerun: Sequence[BatchRow], written: Path | None, outcome: BatchOutcome | None
) -> list[str]:
    if outcome is None:
        return ["Dry run: nothing was signed or sent."]
    steps = []
    if outcome.error is not None:
        steps.append(
            f"The node was lost mid-way ({outcome.error.message}): check the payments marked unknown "
            "with `tally tx status HASH` before sending them again."
        )
    if written is not None:
        first = (
            "fix or remove its first line (the refused payment), then "
            if outcome.refused_at is not None
            else ""
        )
        steps.append(
            f"The {len(rerun)} payments not applied are in {written}: {first}run `tally send-batch {written}`."
        )
    elif rerun:
        steps.append(
            "Put the payments not applied in a new file to send them again (--remaining FILE writes it)."
        )
    if any(r.status is RowStatus.HELD for r in rows):
        steps.append(
            "Do not re-run the held payments before the node has dropped them: they would be paid twice."
        )
    if any(r.status is RowStatus.PENDING for r in rows):
        steps.append(
            "Pending payments wait for a ledger: `tally tx status HASH` tells when they apply (or use --wait)."
        )
    return steps
