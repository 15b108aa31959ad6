"""``tally account …``: show an account, set its signers (multisig / shared accounts)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from protocol.addresses import encode_account
from protocol.operations import SetSigners, signers_are_valid
from protocol.results import ResultCode
from wallet.cli.common import (
    DEFAULT_VALID_LEDGERS,
    DEFAULT_WAIT_S,
    BuildOnlyOpt,
    FromOpt,
    JsonOpt,
    MemoOpt,
    NodeOpt,
    PasswordFileOpt,
    TimeoutOpt,
    TxRequest,
    ValidOpt,
    WaitOpt,
    WalletOpt,
    execute,
    session,
)
from wallet.errors import BadInput, Refused

app = typer.Typer(
    name="account",
    no_args_is_help=True,
    help="Accounts: show sequence and signers; make an account shared (multisig).",
)


@app.command("show")
def show(
    account: Annotated[
        str | None,
        typer.Argument(
            metavar="[ACCOUNT]", help="An address, wallet or contact name (default: your wallet)."
        ),
    ] = None,
    wallet: WalletOpt = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """An account's sequence number, signers and signing threshold.

    Examples:
      tally account show
      tally account show shared --json
    """
    with session(as_json, node) as s:
        key = s.home.resolve_address(account) if account else s.wallet_address(wallet)[1]
        data = s.client.account(key)
        out = {
            k: data.get(k)
            for k in ("address", "sequence", "pending_sequence", "threshold", "signers", "ledger")
        }

        def human(console: Console) -> None:
            namer = s.namer()
            console.print(
                f"{namer(key)}: sequence {data.get('sequence')}, ledger {data.get('ledger')}", markup=False
            )
            console.print(f"signatures worth {data.get('threshold')} needed; signers:", markup=False)
            for x in data.get("signers", []):
                from wallet.home import parse_address

                console.print(f"  {namer(parse_address(x['address']))} weight {x['weight']}", markup=False)

        s.emit(out, human)


@app.command("set-signers")
def set_signers(
    signer: Annotated[
        list[str],
        typer.Option(
            "--signer",
            metavar="ACCOUNT:WEIGHT",
            help="A signer and its weight (1-255); repeat for each signer.",
        ),
    ],
    threshold: Annotated[
        int,
        typer.Option("--threshold", min=1, max=255, help="Total weight of signatures needed from now on."),
    ],
    memo: MemoOpt = "",
    wait: WaitOpt = False,
    timeout: TimeoutOpt = DEFAULT_WAIT_S,
    build_only: BuildOnlyOpt = False,
    source: FromOpt = None,
    wallet: WalletOpt = None,
    password_file: PasswordFileOpt = None,
    valid_ledgers: ValidOpt = DEFAULT_VALID_LEDGERS,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Replace an account's signers and threshold, e.g. a 2-of-3 shared account.

    The new signers replace the old ones entirely (include your own key to keep signing).

    Examples:
      tally account set-signers --signer alice:1 --signer bob:1 --signer carol:1 --threshold 2 --wait
    """
    with session(as_json, node) as s:
        pairs: list[tuple[bytes, int]] = []
        for item in signer:
            who, sep, weight = item.rpartition(":")
            if not sep or not weight.isdigit():
                raise BadInput(f"--signer {item!r}: expected ACCOUNT:WEIGHT, e.g. bob:1", code="bad_usage")
            pairs.append((s.home.resolve_address(who), int(weight)))
        if not signers_are_valid(tuple(pairs), threshold):
            raise Refused(
                "bad signers: keys must be distinct, weights 1-255, and the threshold reachable by "
                f"their total weight ({sum(w for _, w in pairs)})",
                code=ResultCode.BAD_SIGNERS.value,
            )
        source_key = s.source_key(wallet, source)
        if source_key not in {k for k, _ in pairs}:
            s.note(f"note: {encode_account(source_key)}'s own key is not among the new signers")
        account = s.client.account(source_key)
        request = TxRequest(
            [SetSigners(tuple(pairs), threshold)], {}, memo, build_only, wait, timeout, valid_ledgers
        )
        execute(s, request, source_key, account, lambda: s.unlock(wallet, password_file)[1])
