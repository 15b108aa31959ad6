"""The payments file of ``tally send-batch``: CSV with a header line naming the columns ``to``,
``amount``, ``currency`` and optionally ``memo`` (in any order), one payment per line.

Read strictly and within bounds (a file is user input): at most ``MAX_FILE_BYTES`` and
``MAX_ROWS`` payments, UTF-8 (a spreadsheet's byte-order mark is allowed), every line with as
many fields as the header; an error names the line. Spreadsheets set to a language that writes
decimal commas export ``;`` (or tab) separated files: the header line decides which is used.
The same format is written back for the payments a batch did not apply, so they can be re-run.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from wallet.errors import BadInput

COLUMNS = ("to", "amount", "currency", "memo")
REQUIRED = COLUMNS[:3]
MAX_ROWS = 10_000
MAX_FILE_BYTES = 4 * 1024 * 1024
STDIN = "-"


@dataclass(frozen=True, slots=True)
class BatchRow:
    """One payment as written in the file (resolved later, against wallets, contacts, the node)."""

    line: int  # in the file; the header is line 1
    to: str
    amount: str
    currency: str
    memo: str = ""


def read_batch(name: str, stdin: TextIO) -> list[BatchRow]:
    """The payments of file ``name`` (``-``: ``stdin``).

    Raises:
        BadInput: the file cannot be read, is too large, not UTF-8, or not the expected CSV.
    """
    if name == STDIN:
        text = stdin.read(MAX_FILE_BYTES + 1)
        if len(text.encode("utf-8", "surrogateescape")) > MAX_FILE_BYTES:
            raise _too_large("standard input")
        return parse_batch(text.removeprefix("\ufeff"), "standard input")
    try:
        with Path(name).open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise BadInput(f"cannot read {name}: {exc.strerror or exc}", code="bad_batch") from None
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(
            f"{name} is not UTF-8 text (byte {exc.start}): save it as CSV UTF-8", code="bad_batch"
        ) from None
    return parse_batch(text, name)


def parse_batch(text: str, name: str) -> list[BatchRow]:
    """The payments of CSV ``text`` (``name`` is for messages).

    Raises:
        BadInput: no header, a missing or unknown column, a line with too few or too many fields,
            no payment at all, or more than ``MAX_ROWS``.
    """
    first = text.split("\n", 1)[0]
    delimiter = next((d for d in ",;\t" if d in first), ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next((cells for cells in reader if any(c.strip() for c in cells)), None)
        if header is None:
            raise BadInput(
                f"{name} is empty: the first line names the columns {','.join(COLUMNS)}", code="bad_batch"
            )
        places = _columns(header, name, reader.line_num)
        rows: list[BatchRow] = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue  # blank lines are allowed (and so are lines of empty fields, e.g. ",,,")
            if len(cells) != len(header):
                raise BadInput(
                    f"{name} line {reader.line_num}: {len(cells)} fields where the header has {len(header)}",
                    code="bad_batch",
                )
            if len(rows) == MAX_ROWS:
                raise BadInput(f"{name} holds more than {MAX_ROWS} payments: split it", code="bad_batch")
            field = {column: cells[index].strip() for column, index in places.items()}
            rows.append(
                BatchRow(
                    reader.line_num, field["to"], field["amount"], field["currency"], field.get("memo", "")
                )
            )
    except csv.Error as exc:
        raise BadInput(f"{name} line {reader.line_num}: not valid CSV ({exc})", code="bad_batch") from None
    if not rows:
        raise BadInput(f"{name} holds no payment, only its header line", code="bad_batch")
    return rows


def rows_csv(rows: Sequence[BatchRow]) -> str:
    """``rows`` as a payments file (header ``to,amount,currency,memo``), as they were written."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows((row.to, row.amount, row.currency, row.memo) for row in rows)
    return out.getvalue()


def _columns(header: list[str], name: str, line: int) -> dict[str, int]:
    """Column name → its place in a line."""
    names = [cell.strip().lower() for cell in header]
    unknown = [cell for cell in names if cell not in COLUMNS]
    missing = [column for column in REQUIRED if column not in names]
    repeated = sorted({cell for cell in names if names.count(cell) > 1})
    if unknown:
        problem = (
            f"unknown column {unknown[0]!r} (the columns are {', '.join(COLUMNS)}; the first line names them)"
        )
    elif missing:
        problem = (
            f"no column {missing[0]!r} (the header names {', '.join(REQUIRED)} and optionally memo, "
            "e.g. to,amount,currency,memo)"
        )
    elif repeated:
        problem = f"column {repeated[0]!r} appears twice"
    else:
        return {cell: index for index, cell in enumerate(names)}
    raise BadInput(f"{name} line {line}: {problem}", code="bad_batch")


def _too_large(name: str) -> BadInput:
    return BadInput(
        f"{name} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB: split it into several batches",
        code="bad_batch",
    )
