"""``tally account …``: show an account, set its signers (multisig / shared accounts)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from protocol.addresses import encode_account
from protocol.operations import SetSigners
from wallet.cli.common import run_transaction, session
from wallet.cli.options import AccountArg, JsonOpt, NodeOpt, TxOptions, WalletOpt, transaction_command
from wallet.errors import BadInput
from wallet.home import parse_address

app = typer.Typer(
    name="account",
    no_args_is_help=True,
    help="Accounts: show sequence and signers; make an account shared (multisig).",
)


@app.command("show")
def show(
    account: AccountArg = None, wallet: WalletOpt = None, node: NodeOpt = None, as_json: JsonOpt = False
) -> None:
    """An account's sequence number, signers and signing threshold.

    Examples:
      tally account show
      tally account show shared --json
    """
    with session(as_json, node) as s:
        key = s.named_account(wallet, account)[1]
        data = s.client.account(key)
        out = {
            "address": data.address,
            "sequence": data.sequence,
            "pending_sequence": data.pending_sequence,
            "threshold": data.threshold,
            "signers": [signer.to_json() for signer in data.signers],
            "ledger": data.ledger,
        }

        def human(console: Console) -> None:
            namer = s.namer()
            console.print(f"{namer(key)}: sequence {data.sequence}, ledger {data.ledger}", markup=False)
            console.print(f"signatures worth {data.threshold} needed; signers:", markup=False)
            for signer in data.signers:
                console.print(
                    f"  {namer(parse_address(signer.address))} weight {signer.weight}", markup=False
                )

        s.emit(out, human)


@app.command("set-signers")
@transaction_command
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
    tx: TxOptions,
) -> None:
    """Replace an account's signers and threshold, e.g. a 2-of-3 shared account.

    The new signers replace the old ones entirely (include your own key to keep signing).

    Examples:
      tally account set-signers --signer alice:1 --signer bob:1 --signer carol:1 --threshold 2 --wait
    """
    with session(tx.as_json, tx.node) as s:
        pairs: list[tuple[bytes, int]] = []
        for item in signer:
            who, sep, weight = item.rpartition(":")
            if not sep or not weight.isdigit():
                raise BadInput(f"--signer {item!r}: expected ACCOUNT:WEIGHT, e.g. bob:1", code="bad_usage")
            pairs.append((s.home.resolve_address(who), int(weight)))
        source = s.source_key(tx.wallet, tx.source)
        if source not in {k for k, _ in pairs}:
            s.note(f"note: {encode_account(source)}'s own key is not among the new signers")
        run_transaction(s, tx, [SetSigners(tuple(pairs), threshold)], {}, source)
