"""``tally send-batch FILE``: many payments from one account, read from a CSV file.

Every line is read and resolved first (recipient, amount, currency, memo: as ``tally send``
reads them), and one bad line means nothing is sent. The payments are then signed with
consecutive sequence numbers and submitted in as few requests as the node takes
(``wallet.batch``); the batch stops at the first payment the node refuses, and the payments not
applied are written to a file to re-run (``wallet.cli.batch_report``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from protocol.transactions import build_transaction
from wallet.batch import PER_REQUEST, BatchSender, Pacing
from wallet.batch_csv import STDIN, BatchRow, read_batch
from wallet.cli.batch_report import Planned, remaining_path, report, summary_lines
from wallet.cli.common import Session, confirm, memo_bytes, next_bodies, session
from wallet.cli.money import resolve_payment
from wallet.cli.options import (
    DEFAULT_VALID_LEDGERS,
    DEFAULT_WAIT_S,
    FromOpt,
    JsonOpt,
    NodeOpt,
    PasswordFileOpt,
    TimeoutOpt,
    ValidOpt,
    WaitOpt,
    WalletOpt,
    YesOpt,
)
from wallet.errors import BadInput, Refused

MAX_ERRORS_SHOWN = 20

# Tests replace this with a fake clock (waits between requests, for a busy node, for held payments).
PACING = Pacing()

FileArg = Annotated[
    str,
    typer.Argument(
        metavar="FILE",
        help="CSV file with a header line naming the columns to,amount,currency and optionally memo; "
        "'-' reads standard input.",
    ),
]
DefaultMemoOpt = Annotated[
    str, typer.Option("--memo", "-m", help="The memo of the payments whose memo column is empty.")
]
RemainingOpt = Annotated[
    Path | None,
    typer.Option(
        "--remaining",
        metavar="FILE",
        help="Where to write the payments not applied, to re-run them (default: FILE.remaining.csv "
        "beside FILE; none when FILE is '-').",
    ),
]
DryRunOpt = Annotated[
    bool,
    typer.Option("--dry-run", help="Read and check every line and show the totals; sign and send nothing."),
]


def send_batch(
    file: FileArg,
    memo: DefaultMemoOpt = "",
    wait: WaitOpt = False,
    timeout: TimeoutOpt = DEFAULT_WAIT_S,
    source: FromOpt = None,
    wallet: WalletOpt = None,
    password_file: PasswordFileOpt = None,
    valid_ledgers: ValidOpt = DEFAULT_VALID_LEDGERS,
    remaining: RemainingOpt = None,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Pay many people at once from a CSV file: monthly time credits, a steward's transfers.

    The file has a header line and one payment per line: to (an address, wallet or contact
    name), amount, currency, and optionally memo. Every line is checked before anything is sent
    (exit 2 naming the line and column, nothing sent). You see the totals and confirm (--yes in
    scripts; needed when FILE is '-'); the payments are signed with consecutive sequence numbers
    and sent in as few requests as the node takes.

    The batch stops at the first payment the node refuses (e.g. over credit limit): the
    payments after it cannot apply without it. The report lists, per line, what was applied,
    what was refused and why, and what was not sent; those not applied are written to
    FILE.remaining.csv, to fix and re-run. Exit code 0 when every payment was accepted, 1 when
    one was refused, 2 for a bad file, 3 when the node cannot be reached.

    Examples:
      tally send-batch credits.csv --wait
      tally send-batch credits.csv --dry-run
      printf 'to,amount,currency\\nbob,2,HOURS\\n' | tally send-batch - --yes --json
      tally send-batch credits.remaining.csv --wallet coordinator --memo "March credits"
    """
    with session(as_json, node) as s:
        rows = read_batch(file, sys.stdin)
        leftover = remaining_path(file, remaining)
        source_key = s.source_key(wallet, source)
        planned = resolve_rows(s, rows, source_key, file, memo)
        for line in summary_lines(s, source_key, planned):
            s.note(line)
        if dry_run:
            report(s, source_key, planned, None, None)
            return
        confirm(
            f"Send these {len(planned)} payments?", yes=yes, doing="sending", cancelled="nothing was sent"
        )
        keypair = s.unlock(wallet, password_file)[1]
        bodies = next_bodies(s, source_key, valid_ledgers, [(p.memo, (p.payment,)) for p in planned])
        network = s.client.network_id()
        txs = [build_transaction(network, body).with_signature(keypair) for body in bodies]
        sender = BatchSender(
            s.client, wait=wait, timeout_s=timeout, per_request=PER_REQUEST, pacing=PACING, progress=s.note
        )
        outcome = sender.send(txs)
        exit_code = report(s, source_key, planned, txs, outcome, leftover)
    if exit_code:
        raise typer.Exit(exit_code)


def resolve_rows(s: Session, rows: list[BatchRow], source: bytes, name: str, memo: str) -> list[Planned]:
    """Every row as a payment, or a ``BadInput`` listing the bad ones (line and column)."""
    planned: list[Planned] = []
    errors: list[str] = []
    label = "standard input" if name == STDIN else name
    for row in rows:
        try:
            payment, info = resolve_payment(s, source, row.to, row.amount, row.currency, partial(_blame, row))
            with _blame(row, "memo"):
                memo_data = memo_bytes(row.memo or memo)
        except _RowError as exc:
            errors.append(exc.message)
            continue
        planned.append(Planned(row, payment, info, memo_data))
    if errors:
        shown = "\n".join(f"  {error}" for error in errors[:MAX_ERRORS_SHOWN])
        more = f"\n  … and {len(errors) - MAX_ERRORS_SHOWN} more" if len(errors) > MAX_ERRORS_SHOWN else ""
        raise BadInput(
            f"{len(errors)} bad line(s) in {label}; nothing was sent:\n{shown}{more}", code="bad_batch"
        )
    return planned


class _RowError(BadInput):
    """A bad field of one row (collected, so all bad rows are told at once)."""


@contextmanager
def _blame(row: BatchRow, column: str) -> Iterator[None]:
    """Errors reading ``column`` of ``row`` name its line and column (and exit 2, even for a
    currency the node does not know: the file is what needs fixing)."""
    try:
        yield
    except (BadInput, Refused) as exc:
        value: str = getattr(row, column)
        raise _RowError(
            f"line {row.line}, column {column} ({value!r}): {exc.message}", code=exc.code
        ) from None
