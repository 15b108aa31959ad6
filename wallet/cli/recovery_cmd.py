"""``tally recovery …``: social key recovery (protocol version 3).

The owner names guardians, how many of them must agree and a delay (``guardians``). If the key
is lost, the owner makes a new wallet and gives its address to the guardians, who each approve
it (``approve``); once enough did, the delay runs, during which the old key can still ``cancel``.
When it has passed, anyone ``finish``es it, and the new wallet signs for the old account with
``--from OLD_ADDRESS``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console

from protocol.addresses import encode_account
from protocol.designs.operations import (
    MAX_GUARDIANS,
    ApproveRecovery,
    CancelRecovery,
    FinishRecovery,
    SetGuardians,
)
from protocol.designs.recovery import MAX_DELAY_S, MIN_DELAY_S
from wallet.cli.common import run_transaction, session
from wallet.cli.options import AccountArg, JsonOpt, NodeOpt, TxOptions, WalletOpt, transaction_command
from wallet.describe_designs import duration_text
from wallet.designs_views import RecoveryView
from wallet.errors import BadInput, BadResponse
from wallet.home import parse_address

app = typer.Typer(
    name="recovery",
    no_args_is_help=True,
    help="Social key recovery: guardians who can, together and after a delay you choose, replace "
    "a lost key; you can cancel with your key meanwhile.",
)
_DURATION = re.compile(r"(\d{1,9})\s*([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}
OwnerArg = Annotated[
    str, typer.Argument(metavar="ACCOUNT", help="The account whose key is lost: address or name.")
]


def parse_duration(text: str) -> int:
    """``3d``, ``12h``, ``30m``, ``90s`` or plain seconds → seconds (bounds of the ledger's rule)."""
    match = _DURATION.fullmatch(text.strip().lower())
    seconds = int(match.group(1)) * _UNITS[match.group(2)] if match else -1
    if not MIN_DELAY_S <= seconds <= MAX_DELAY_S:
        raise BadInput(
            f"--delay must be {MIN_DELAY_S} s to {MAX_DELAY_S // 86_400} days, written like 3d, 12h, 30m or 90s",
            code="bad_usage",
        )
    return seconds


@app.command("guardians")
@transaction_command
def guardians(
    names: Annotated[
        str | None,
        typer.Argument(metavar="[A,B,C]", help="The guardians: addresses, wallets or contact names (1-10)."),
    ] = None,
    threshold: Annotated[
        int, typer.Option("--threshold", min=1, max=MAX_GUARDIANS, help="How many must agree.")
    ] = 2,
    delay: Annotated[
        str, typer.Option("--delay", metavar="TIME", help="How long you can still cancel: 3d, 12h, 30m…")
    ] = "3d",
    none: Annotated[
        bool, typer.Option("--none", help="Remove the guardians (no recovery possible).")
    ] = False,
    *,
    tx: TxOptions,
) -> None:
    """Name your guardians (replacing earlier ones, and cancelling any recovery under way).

    Examples:
      tally recovery guardians bob,carol,dave --threshold 2 --delay 3d --wait
      tally recovery guardians --none --wait
    """
    with session(tx.as_json, tx.node) as s:
        if none:
            op = SetGuardians((), 0, 0)
        else:
            listed = [n.strip() for n in (names or "").split(",") if n.strip()]
            if not 1 <= len(listed) <= MAX_GUARDIANS:
                raise BadInput(
                    f"name 1 to {MAX_GUARDIANS} guardians, separated by commas (or --none)", code="bad_usage"
                )
            keys = tuple(s.home.resolve_address(n) for n in listed)
            if len(set(keys)) != len(keys):
                raise BadInput("a guardian is listed twice", code="bad_usage")
            if threshold > len(keys):
                raise BadInput(
                    f"--threshold must be at most the number of guardians ({len(keys)})", code="bad_usage"
                )
            op = SetGuardians(keys, threshold, parse_duration(delay))
        run_transaction(s, tx, [op], {}, s.source_key(tx.wallet, tx.source))


@app.command("approve")
@transaction_command
def approve(
    account: OwnerArg,
    new_key: Annotated[str, typer.Argument(metavar="NEW_KEY", help="The owner's new wallet address.")],
    tx: TxOptions,
) -> None:
    """As a guardian, approve replacing an account's key with the owner's new one.

    Check with the owner in person that the new address is theirs: once enough guardians
    approved the same key and the delay passed, that key controls the account.

    Examples:
      tally recovery approve alice tly1q…new --wallet bob --wait
    """
    with session(tx.as_json, tx.node) as s:
        op = ApproveRecovery(s.home.resolve_address(account), s.home.resolve_address(new_key))
        run_transaction(s, tx, [op], {}, s.source_key(tx.wallet, tx.source))


@app.command("cancel")
@transaction_command
def cancel(tx: TxOptions) -> None:
    """Cancel a recovery of your account's key (you still have the key: nobody may replace it).

    Examples:
      tally recovery cancel --wallet alice --wait
    """
    with session(tx.as_json, tx.node) as s:
        run_transaction(s, tx, [CancelRecovery()], {}, s.source_key(tx.wallet, tx.source))


@app.command("finish")
@transaction_command
def finish(account: OwnerArg, tx: TxOptions) -> None:
    """Finish a recovery once its delay has passed: the new key takes over the account.

    Anyone may send it; typically the owner, from the new wallet.

    Examples:
      tally recovery finish tly1q…old --wallet alice-new --wait
      tally send bob 2 HOUR --from tly1q…old --wallet alice-new   # the new key signs for the old account
    """
    with session(tx.as_json, tx.node) as s:
        op = FinishRecovery(s.home.resolve_address(account))
        run_transaction(s, tx, [op], {}, s.source_key(tx.wallet, tx.source))


@app.command("show")
def show(
    account: AccountArg = None, wallet: WalletOpt = None, node: NodeOpt = None, as_json: JsonOpt = False
) -> None:
    """An account's guardians and any recovery of its key under way.

    Examples:
      tally recovery show
      tally recovery show alice --json
    """
    with session(as_json, node) as s:
        _, key = s.named_account(wallet, account)
        found = s.client.read(f"/accounts/{encode_account(key)}/recovery", RecoveryView.parse, "recovery")
        if found is None:
            raise BadResponse("the node does not know key recovery (protocol version 3): upgrade it")
        namer = s.namer()

        def human(console: Console) -> None:
            if not found.guardians:
                console.print(
                    f"{namer(key)} names no guardians: a lost key cannot be replaced.", markup=False
                )
                return
            listed = ", ".join(namer(parse_address(g)) for g in found.guardians)
            console.print(
                f"{namer(key)}: {found.threshold} of {listed} may replace the key, "
                f"{duration_text(found.delay_s)} after they agree",
                markup=False,
            )
            for guardian, new in found.approvals:
                console.print(
                    f"  {namer(parse_address(guardian))} approved {namer(parse_address(new))}", markup=False
                )
            if found.new_key is not None:
                when = "now" if found.due else "from " + _utc(found.due_ms or 0)
                console.print(
                    f"  recovery under way to {namer(parse_address(found.new_key))}: it can finish {when}; "
                    "the owner can cancel with `tally recovery cancel` until then",
                    markup=False,
                )

        s.emit(found.to_json(), human)


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
