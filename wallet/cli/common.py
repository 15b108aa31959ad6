"""Shared pieces of the wallet commands: options, the session (home, node client, output, errors),
passwords, and building / signing / submitting transactions.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

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
from wallet.client import NodeClient
from wallet.describe import describe_body, units
from wallet.errors import BadInput, Refused, WalletError
from wallet.home import Home, parse_address
from wallet.keystore import decrypt_seed
from wallet.txfile import TxFile

PASSWORD_ENV = "TALLY_PASSWORD"
DEFAULT_VALID_LEDGERS = 1000
DEFAULT_WAIT_S = 30.0

# Tests replace this with a factory returning an httpx.Client bound to an in-process API.
HTTP_FACTORY: Callable[[str], httpx.Client] | None = None

NodeOpt = Annotated[
    str | None,
    typer.Option(
        "--node",
        metavar="URL",
        help="Node API URL (else $TALLY_NODE, else \\[node] url in $TALLY_HOME/config.toml, else http://127.0.0.1:8080).",
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print JSON for scripts (stable keys, see the wallet docs).")
]
WalletOpt = Annotated[
    str | None,
    typer.Option(
        "--wallet",
        "-w",
        metavar="NAME",
        help="Wallet to sign with (default: the one chosen by `tally wallet use`).",
    ),
]
PasswordFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--password-file",
        metavar="FILE",
        help="Read the wallet password from FILE's first line (for scripts; less safe than the prompt). "
        "$TALLY_PASSWORD works too.",
    ),
]
FromOpt = Annotated[
    str | None,
    typer.Option(
        "--from",
        metavar="ACCOUNT",
        help="Source account when it is not the signing wallet's own (a shared / multisig account).",
    ),
]
MemoOpt = Annotated[
    str,
    typer.Option(
        "--memo", "-m", help=f"A note stored with the transaction (at most {MAX_MEMO_BYTES} bytes)."
    ),
]
WaitOpt = Annotated[
    bool, typer.Option("--wait", help="Wait until a ledger includes the transaction and report it.")
]
TimeoutOpt = Annotated[
    float, typer.Option("--timeout", metavar="SECONDS", help="How long --wait waits (at most 60).")
]
BuildOnlyOpt = Annotated[
    bool,
    typer.Option(
        "--build-only", help="Do not sign or submit: print the transaction file (JSON) for `tally tx sign`."
    ),
]
ValidOpt = Annotated[
    int,
    typer.Option(
        "--valid-ledgers", metavar="N", help="The transaction expires N ledgers from now if not yet applied."
    ),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


@dataclass
class Session:
    as_json: bool = False
    node: str | None = None
    home: Home = field(default_factory=Home.from_env)
    _client: NodeClient | None = None

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
            try:
                lines = password_file.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise BadInput(
                    f"cannot read the password file {password_file}: {exc}", code="bad_password_file"
                ) from None
            if not lines or not lines[0]:
                raise BadInput(f"the password file {password_file} is empty", code="bad_password_file")
            return lines[0]
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

    def source_key(self, wallet: str | None, source: str | None) -> bytes:
        """The account a transaction comes from: --from, else the wallet's own account."""
        if source:
            return self.home.resolve_address(source)
        return self.wallet_address(wallet)[1]

    def namer(self) -> Callable[[bytes], str]:
        def name(key: bytes) -> str:
            found = self.home.name_of(key)
            address = encode_account(key)
            return f"{found} ({address})" if found else address

        return name

    # -- currencies ------------------------------------------------------------------------------

    def currency(self, code: str) -> dict[str, Any]:
        code = code.upper()
        found = self.client.currency(code)
        if found is None:
            raise Refused(f"no currency {code} on this ledger", code=ResultCode.NO_CURRENCY.value)
        return found

    def amount(self, text: str, currency: dict[str, Any], *, allow_zero: bool = False) -> int:
        try:
            return parse_amount(text, int(currency["decimals"]), allow_zero=allow_zero)
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


def fmt(value: int, code: str, currency: dict[str, Any]) -> str:
    return units(value, code, currency.get("kind"), int(currency.get("decimals", 0)))


def holding(account: dict[str, Any], code: str) -> dict[str, Any] | None:
    for balance in account.get("balances", []):
        if balance.get("currency") == code:
            return dict(balance)
    return None


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


@dataclass
class TxRequest:
    """Everything a command needs to turn operations into a submitted (or built) transaction."""

    operations: list[Operation]
    currencies: dict[str, dict[str, Any]] = field(default_factory=dict)
    memo: str = ""
    build_only: bool = False
    wait: bool = False
    timeout_s: float = DEFAULT_WAIT_S
    valid_ledgers: int = DEFAULT_VALID_LEDGERS


def execute(
    s: Session,
    request: TxRequest,
    source: bytes,
    account: dict[str, Any],
    signer: Callable[[], Keypair] | None,
) -> dict[str, Any]:
    """Build the transaction from ``source`` (whose account JSON is ``account``), then either print
    it as a transaction file (build-only) or sign with ``signer()`` and submit it."""
    seq = max(int(account.get("sequence", 0)), int(account.get("pending_sequence", 0))) + 1
    ledger = int(account.get("ledger", 0))
    if request.valid_ledgers < 1:
        raise BadInput("--valid-ledgers must be at least 1", code="bad_usage")
    body = TransactionBody(
        source, seq, ledger + request.valid_ledgers, memo_bytes(request.memo), tuple(request.operations)
    )
    network = s.client.network_id()
    tx = build_transaction(network, body)
    summary = describe_body(tx.body, request.currencies)
    if request.build_only:
        data = TxFile(network, tx, request.currencies).to_json(summary)
        typer.echo(json.dumps(data, indent=2))
        s.note(f"built transaction {tx.hash.hex()} (unsigned); sign it with `tally tx sign FILE`")
        return data
    if signer is None:
        raise BadInput("nothing to sign with", code="bad_usage")
    keypair = signer()
    weight = sum(
        int(x["weight"])
        for x in account.get("signers", [])
        if x.get("address") == encode_account(keypair.public_key)
    )
    threshold = int(account.get("threshold", 1))
    if weight < threshold:
        raise Refused(
            f"account {encode_account(source)} needs signatures worth {threshold}; this wallet's key weighs "
            f"{weight}: build it with --build-only, collect signatures with `tally tx sign`, then `tally tx submit`",
            code=ResultCode.BAD_AUTH.value,
        )
    tx = tx.with_signature(keypair)
    return submit(s, tx, request.currencies, wait=request.wait, timeout_s=request.timeout_s)


def submit(
    s: Session, tx: Transaction, currencies: dict[str, dict[str, Any]], *, wait: bool, timeout_s: float
) -> dict[str, Any]:
    result = s.client.submit(tx, wait_s=min(max(timeout_s, 0.1), 60.0) if wait else 0.0)
    summary = describe_body(tx.body, currencies)
    data = {
        "hash": result.get("hash") or tx.hash.hex(),
        "status": result.get("status"),
        "code": result.get("code"),
        "explanation": result.get("explanation"),
        "ledger": result.get("ledger"),
        "source": encode_account(tx.body.source),
        "sequence": tx.body.seq,
        "summary": summary,
    }
    status = data["status"]
    if status in ("failed", "rejected"):
        code = str(data["code"] or "refused")
        raise Refused(
            f"refused by the ledger: {code}: {data['explanation'] or ''} (transaction {data['hash']})",
            code=code,
        )

    def human(console: Console) -> None:
        for line in describe_body(tx.body, currencies, s.namer()):
            console.print(line, markup=False)
        if status == "applied":
            console.print(f"applied in ledger {data['ledger']} (transaction {data['hash']})", markup=False)
        else:
            console.print(
                f"submitted, {status} (transaction {data['hash']}); "
                f"check with `tally tx status {data['hash']}`",
                markup=False,
            )

    if wait and status != "applied":
        s.note(f"note: still {status} after waiting {timeout_s:g} s")
    s.emit(data, human)
    return data
