"""``tally balance`` and ``tally send``."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from protocol.addresses import encode_account
from protocol.operations import Payment
from wallet.cli.common import Session, amount, check_amount_text, run_transaction, session
from wallet.cli.options import AccountArg, JsonOpt, NodeOpt, TxOptions, WalletOpt, transaction_command
from wallet.cli.request_cmd import ForOpt, settling_memo
from wallet.errors import BadInput
from wallet.views import CurrencyView


def balance(
    account: AccountArg = None, wallet: WalletOpt = None, node: NodeOpt = None, as_json: JsonOpt = False
) -> None:
    """Balances per currency: balance, credit limit and what is still available to spend.

    Amounts are in each currency's own units (hours for time currencies, e.g. -1.50 h).

    Examples:
      tally balance
      tally balance --wallet shop --json
      tally balance bob
    """
    with session(as_json, node) as s:
        name, key = s.named_account(wallet, account)
        data = s.client.account(key)
        balances = [
            {
                **b.to_json(),
                "balance_text": b.units.text(b.balance, b.currency),
                "credit_limit_text": b.units.text(b.credit_limit, b.currency),
                "available_text": b.units.text(b.available, b.currency),
            }
            for b in data.balances
        ]
        out = {"wallet": name, "address": encode_account(key), "ledger": data.ledger, "balances": balances}

        def human(console: Console) -> None:
            title = f"{name} ({encode_account(key)})" if name else encode_account(key)
            console.print(f"{title} at ledger {data.ledger}", markup=False)
            if not balances:
                console.print(
                    "No currency yet: ask a steward to admit you, or receive an issued currency.",
                    markup=False,
                )
                return
            table = Table("currency", "kind", "balance", "credit limit", "available", "member", box=None)
            for b, shown in zip(data.balances, balances, strict=True):
                mutual = b.kind is not None and b.kind.is_mutual_credit
                table.add_row(
                    b.currency,
                    str(shown["kind"]),
                    str(shown["balance_text"]),
                    str(shown["credit_limit_text"]) if mutual else "-",
                    str(shown["available_text"]),
                    ("yes" if b.member else "no") if mutual else "-",
                )
            console.print(table)

        s.emit(out, human)


@transaction_command
def send(
    to: Annotated[str, typer.Argument(metavar="TO", help="Recipient: an address, wallet or contact name.")],
    amount_text: Annotated[str, typer.Argument(metavar="AMOUNT", help="Decimal amount, e.g. 1.50.")],
    currency: Annotated[str, typer.Argument(metavar="CURRENCY", help="Currency code, e.g. HOURS.")],
    for_listing: ForOpt = None,
    *,
    tx: TxOptions,
) -> None:
    """Pay someone: builds, signs (fetching your sequence number) and submits a payment.

    The node checks the payment against the ledger's rules (membership, credit limit, funds) and
    a refusal says why in numbers, e.g. "over credit limit: available 8.50 h, asked 12.00 h".
    With --for the payment settles a board listing: its memo starts with for:REF (the rest of
    --memo follows), and the listing shows the payment. To pay many people at once (from a
    CSV file), use `tally send-batch`.

    Examples:
      tally send bob 1.50 HOURS --memo "gardening" --wait
      tally send tly1q… 20 LETS --wallet shop
      tally send bob 5 LETS --from shared --build-only > tx.json
      tally send bob 2 HOURS --for 3f2a9c01b2d4e5f60718 --memo "thanks"
    """
    with session(tx.as_json, tx.node) as s:
        source = s.source_key(tx.wallet, tx.source)
        payment, info = resolve_payment(s, source, to, amount_text, currency)
        if for_listing is not None:
            tx = replace(tx, memo=settling_memo(s, for_listing, info.code, tx.memo))
        run_transaction(s, tx, [payment], {info.code: info.units}, source)


Blame = Callable[[str], AbstractContextManager[object]]
"""Around the reading of one field (``to``, ``amount``, ``currency``): how its errors are told."""


def resolve_payment(
    s: Session, source: bytes, to: str, amount_text: str, currency: str, blame: Blame = nullcontext
) -> tuple[Payment, CurrencyView]:
    """A payment from ``source`` as ``tally send`` reads one: recipient (address, wallet or
    contact name), decimal amount, currency code; the currency's details come with it.

    Raises:
        BadInput: an unknown name, a bad address or amount, a payment to ``source`` itself.
        Refused: the node does not know the currency.
    """
    with blame("amount"):
        check_amount_text(amount_text)
    with blame("to"):
        destination = s.home.resolve_address(to)
        if destination == source:
            raise BadInput("you cannot pay your own account", code="malformed")
    with blame("currency"):
        info = s.currency(currency)
    with blame("amount"):
        value = amount(amount_text, info.decimals)
    return Payment(destination, info.code, value), info
