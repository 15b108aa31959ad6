"""Shared pieces of the wallet commands: the session (home, node client, output, errors),
passwords, and building / signing / submitting transactions.

The wallet checks input (names, addresses, amounts, files) but never the ledger's rules: the
node's answer to a submitted transaction is the only judge, and a refusal is reported with the
figures the node sends (``wallet.refusals``).
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import typer
from rich.console import Console

from protocol.addresses import encode_account
from protocol.amounts import parse_amount
from protocol.errors import AmountError
from protocol.keys import Keypair
from protocol.operations import Operation
from protocol.results import ResultCode
from protocol.transactions import MAX_MEMO_BYTES, Transaction, TransactionBody, build_transaction
from wallet.cli.options import TxOptions
from wallet.client import NodeClient
from wallet.describe import Namer, UnitTable, describe_body
from wallet.errors import BadInput, Refused, WalletError
from wallet.home import Home, parse_address
from wallet.keystore import WEAK_KEYS_ENV, decrypt_seed, weak_keys_allowed
from wallet.refusals import refusal_message
from wallet.txfile import TxFile
from wallet.views import CurrencyView, TxResultView

PASSWORD_ENV = "TALLY_PASSWORD"

# Tests replace this with a factory returning an httpx.Client bound to an in-process API.
HTTP_FACTORY: Callable[[str], httpx.Client] | None = None


@dataclass
class Session:
    as_json: bool = False
    node: str | None = None
    home: Home = field(default_factory=Home.from_env)
    _client: NodeClient | None = None
    _currencies: dict[str, CurrencyView] = field(default_factory=dict)

    # -- output ----------------------------------------------------------------------------------

    @property
    def console(self) -> Console:
        return Console(file=sys.stdout, soft_wrap=True, highlight=False)

    def emit(self, data: dict[str, Any], human: Callable[[Console], None] | Sequence[str]) -> None:
        if self.as_json:
            typer.echo(json.dumps(data, indent=2, sort_keys=False))
        elif callable(human):
            human(self.console)
        else:
            for line in human:
                self.console.print(line, markup=False)

    def note(self, text: str) -> None:
        """A human remark on stderr (kept out of --json output)."""
        typer.echo(text, err=True)

    # -- node ------------------------------------------------------------------------------------

    @property
    def client(self) -> NodeClient:
        if self._client is None:
            url = self.home.node_url(self.node)
            http = HTTP_FACTORY(url) if HTTP_FACTORY is not None else None
            self._client = NodeClient(url, http=http)
        return self._client

    # -- keys ------------------------------------------------------------------------------------

    def password(
        self, password_file: Path | None, *, prompt: str = "Wallet password", confirm: bool = False
    ) -> str:
        if password_file is not None:
            return read_password_file(password_file)
        env = os.environ.get(PASSWORD_ENV)
        if env:
            return env
        value: str = typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)
        if not value:
            raise BadInput("the password must not be empty", code="empty_password")
        return value

    def unlock(self, wallet: str | None, password_file: Path | None) -> tuple[str, Keypair]:
        name = self.home.resolve_wallet(wallet)
        store = self.home.load_wallet(name)
        password = self.password(password_file, prompt=f"Password of wallet {name!r}")
        return name, Keypair(decrypt_seed(store, password))

    def wallet_address(self, wallet: str | None) -> tuple[str, bytes]:
        name = self.home.resolve_wallet(wallet)
        return name, parse_address(self.home.load_wallet(name).address)

    def named_account(self, wallet: str | None, account: str | None) -> tuple[str | None, bytes]:
        """(wallet or contact name, key) of ``account`` (any address or name), else of the wallet."""
        if account:
            key = self.home.resolve_address(account)
            return self.home.name_of(key), key
        return self.wallet_address(wallet)

    def source_key(self, wallet: str | None, source: str | None) -> bytes:
        """The account a transaction comes from: --from, else the wallet's own account."""
        if source:
            return self.home.resolve_address(source)
        return self.wallet_address(wallet)[1]

    def namer(self) -> Namer:
        def name(key: bytes) -> str:
            found = self.home.name_of(key)
            address = encode_account(key)
            return f"{found} ({address})" if found else address

        return name

    # -- currencies ------------------------------------------------------------------------------

    def currency(self, code: str) -> CurrencyView:
        """The currency (its decimals are needed to read amounts); no_currency (exit 1) when the
        node does not know it. Asked of the node once per command (a batch names it many times)."""
        code = code.upper()
        found = self._currencies.get(code) or self.client.currency(code)
        if found is None:
            raise Refused(f"no currency {code} on this ledger", code=ResultCode.NO_CURRENCY.value)
        self._currencies[code] = found
        return found


def read_password_file(path: Path) -> str:
    """The first line of ``path``. A file that group or others can read is refused (the password
    would be theirs too) unless ``TALLY_I_UNDERSTAND_WEAK_KEYS=1``."""
    try:
        mode = path.stat().st_mode
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or exc
        raise BadInput(f"cannot read the password file {path}: {why}", code="bad_password_file") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO) and not weak_keys_allowed():
        raise BadInput(
            f"the password file {path} is readable by other users (mode {stat.S_IMODE(mode):o}): "
            f"run `chmod 600 {path}` (or set {WEAK_KEYS_ENV}=1 to use it anyway)",
            code="bad_password_file",
        )
    if not lines or not lines[0]:
        raise BadInput(f"the password file {path} is empty", code="bad_password_file")
    return lines[0]


def amount(text: str, decimals: int, *, allow_zero: bool = False) -> int:
    """``text`` in minor units of a currency with ``decimals`` places (bad_amount, exit 2)."""
    try:
        return parse_amount(text, decimals, allow_zero=allow_zero)
    except AmountError as exc:
        raise BadInput(f"bad amount: {exc}", code="bad_amount") from None


def check_amount_text(text: str) -> None:
    """Refuse zero, negative and non-numbers before contacting the node (decimals need the currency)."""
    try:
        parse_amount(text, 8)
    except AmountError as exc:
        if "too many decimals" not in str(exc):
            raise BadInput(f"bad amount: {exc}", code="bad_amount") from None


def memo_bytes(memo: str) -> bytes:
    data = memo.encode("utf-8")
    if len(data) > MAX_MEMO_BYTES:
        raise BadInput(
            f"the memo is {len(data)} bytes; at most {MAX_MEMO_BYTES} are allowed", code="memo_too_long"
        )
    return data


@contextmanager
def session(as_json: bool = False, node: str | None = None) -> Iterator[Session]:
    """A command's session: wallet errors become a message and their exit code."""
    current = Session(as_json=as_json, node=node)
    try:
        yield current
    except WalletError as exc:
        if as_json:
            typer.echo(
                json.dumps({"error": exc.code, "message": exc.message, "exit_code": exc.exit_code}, indent=2)
            )
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(exc.exit_code) from None
    finally:
        if current._client is not None:
            current._client.close()


# -- transactions --------------------------------------------------------------------------------


Extra = Callable[[Transaction, TxResultView], tuple[dict[str, Any], list[str]]]
"""More for a command's report once the node answered: JSON keys (e.g. the proposal's id) and
lines for people."""


def run_transaction(
    s: Session,
    tx: TxOptions,
    operations: list[Operation],
    units: UnitTable,
    source: bytes,
    extra: Extra | None = None,
) -> None:
    """Build a transaction of ``operations`` from ``source`` (its next sequence number, valid for
    ``--valid-ledgers``), then print it as a transaction file (``--build-only``) or sign it with
    the wallet and submit it."""
    (body,) = next_bodies(s, source, tx.valid_ledgers, [(memo_bytes(tx.memo), tuple(operations))])
    network = s.client.network_id()
    built = build_transaction(network, body)
    if tx.build_only:
        data = TxFile(network, built, units).to_json(describe_body(body, units))
        typer.echo(json.dumps(data, indent=2))
        s.note(f"built transaction {built.hash.hex()} (unsigned); sign it with `tally tx sign FILE`")
        return
    keypair = s.unlock(tx.wallet, tx.password_file)[1]
    submit(s, built.with_signature(keypair), units, wait=tx.wait, timeout_s=tx.timeout, extra=extra)


def next_bodies(
    s: Session, source: bytes, valid_ledgers: int, contents: Sequence[tuple[bytes, tuple[Operation, ...]]]
) -> list[TransactionBody]:
    """Transaction bodies from ``source``, one per (memo, operations) of ``contents``, numbered
    from the account's next sequence number (after its pending transactions) on, each valid for
    ``valid_ledgers`` ledgers from now."""
    if valid_ledgers < 1:
        raise BadInput("--valid-ledgers must be at least 1", code="bad_usage")
    account = s.client.account(source)
    last_valid = account.ledger + valid_ledgers
    return [
        TransactionBody(source, account.next_sequence + i, last_valid, memo, operations)
        for i, (memo, operations) in enumerate(contents)
    ]


def confirm(question: str, *, yes: bool, doing: str, cancelled: str) -> None:
    """Ask ``question`` unless ``--yes``; without a terminal to ask on (piped input, scripts),
    refuse rather than act unconfirmed (``confirmation_needed``, exit 2): "not ``doing``
    without confirmation", or "cancelled: ``cancelled``" when the answer is no."""
    if yes:
        return
    if not stdin_is_terminal():
        raise BadInput(
            f"not {doing} without confirmation: run in a terminal to be asked, or add --yes",
            code="confirmation_needed",
        )
    if not typer.confirm(question, err=True):
        raise BadInput(f"cancelled: {cancelled}", code="cancelled")


def stdin_is_terminal() -> bool:
    """Whether someone can answer a question (tests replace this)."""
    return sys.stdin.isatty()


def submit(
    s: Session, tx: Transaction, units: UnitTable, *, wait: bool, timeout_s: float, extra: Extra | None = None
) -> None:
    """Submit ``tx`` and report; a refusal is a ``Refused`` (exit 1) in the node's figures."""
    result = s.client.submit(tx, wait_s=min(max(timeout_s, 0.1), 60.0) if wait else 0.0)
    if result.refused:
        raise Refused(
            refusal_message(result, tx.body.operations, units, s.namer()), code=result.code or "refused"
        )
    data = {
        "hash": result.hash or tx.hash.hex(),
        "status": result.status,
        "code": result.code,
        "explanation": result.explanation,
        "ledger": result.ledger,
        "source": encode_account(tx.body.source),
        "sequence": tx.body.seq,
        "summary": describe_body(tx.body, units),
    }
    more, notes = extra(tx, result) if extra is not None else ({}, [])
    data |= more

    def human(console: Console) -> None:
        for line in describe_body(tx.body, units, s.namer()):
            console.print(line, markup=False)
        if result.status == "applied":
            console.print(f"applied in ledger {result.ledger} (transaction {data['hash']})", markup=False)
        else:
            console.print(
                f"submitted, {result.status} (transaction {data['hash']}); "
                f"check with `tally tx status {data['hash']}`",
                markup=False,
            )
        for line in notes:
            console.print(line, markup=False)

    if wait and result.status != "applied":
        s.note(f"note: still {result.status} after waiting {timeout_s:g} s")
    s.emit(data, human)
