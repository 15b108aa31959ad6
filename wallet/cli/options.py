"""The wallet commands' options, declared once.

Single options (``NodeOpt``, ``JsonOpt``, …) are ``Annotated`` types a command uses as parameter
annotations. The ten options every transaction command shares (memo, wait, timeout, build-only,
from, wallet, password file, valid ledgers, node, json) are one group: a command declares a last
parameter ``tx: TxOptions`` and is decorated with ``@transaction_command``, which shows Typer the
ten options in its signature and hands the command one ``TxOptions``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any

import typer

from protocol.transactions import MAX_MEMO_BYTES

DEFAULT_VALID_LEDGERS = 1000
DEFAULT_WAIT_S = 30.0

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
        help="Read the wallet password from FILE's first line (for scripts; less safe than the prompt; "
        "the file must not be readable by group or others). $TALLY_PASSWORD works too.",
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
AccountArg = Annotated[
    str | None,
    typer.Argument(metavar="[ACCOUNT]", help="Any address, wallet or contact name (default: your wallet)."),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


@dataclass(frozen=True, slots=True)
class TxOptions:
    """The options shared by every command that builds a transaction (in ``--help`` order)."""

    memo: str = ""
    wait: bool = False
    timeout: float = DEFAULT_WAIT_S
    build_only: bool = False
    source: str | None = None  # --from
    wallet: str | None = None
    password_file: Path | None = None
    valid_ledgers: int = DEFAULT_VALID_LEDGERS
    node: str | None = None
    as_json: bool = False


_TX_OPTION_TYPES: dict[str, Any] = {
    "memo": MemoOpt,
    "wait": WaitOpt,
    "timeout": TimeoutOpt,
    "build_only": BuildOnlyOpt,
    "source": FromOpt,
    "wallet": WalletOpt,
    "password_file": PasswordFileOpt,
    "valid_ledgers": ValidOpt,
    "node": NodeOpt,
    "as_json": JsonOpt,
}
_TX_PARAMETERS = [
    inspect.Parameter(
        f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=_TX_OPTION_TYPES[f.name]
    )
    for f in fields(TxOptions)
]


def transaction_command(command: Callable[..., None]) -> Callable[..., None]:
    """Give ``command`` (whose last parameter is ``tx: TxOptions``) the shared transaction options.

    Typer reads a command's options from its signature, so the wrapper's signature is the
    command's own parameters followed by the ten shared ones; the wrapper gathers those ten into
    a ``TxOptions`` and calls the command with it.
    """
    own = inspect.signature(command, eval_str=True)
    if list(own.parameters)[-1:] != ["tx"]:
        raise TypeError(f"{command.__name__} must take `tx: TxOptions` as its last parameter")
    parameters = [p for name, p in own.parameters.items() if name != "tx"]

    def wrapper(*args: Any, **kwargs: Any) -> None:
        shared = TxOptions(**{p.name: kwargs.pop(p.name) for p in _TX_PARAMETERS if p.name in kwargs})
        command(*args, tx=shared, **kwargs)

    wrapper.__name__ = command.__name__
    wrapper.__qualname__ = command.__qualname__
    wrapper.__doc__ = command.__doc__
    wrapper.__module__ = command.__module__
    wrapper.__signature__ = own.replace(parameters=parameters + _TX_PARAMETERS)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters + _TX_PARAMETERS}
    return wrapper
