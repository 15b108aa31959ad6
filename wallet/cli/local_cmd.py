"""``tally currency register|unregister|businesses``: the registered businesses of a
spend-locally currency (protocol version 3).

The issuer registers and removes businesses; holders of such a currency can pay only them
(``tally send SHOP 5 PND`` is refused, exit 1, when SHOP is not registered). Added to the
``currency`` command group by ``wallet.cli.currency_cmd``.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from protocol.designs.operations import (
    MAX_CATEGORY_CHARS,
    MAX_NAME_CHARS,
    MAX_OFFER_CHARS,
    RegisterBusiness,
    RemoveBusiness,
    printable,
)
from protocol.designs.terms import Acceptance, CurrencyTerms
from wallet.cli.common import run_transaction, session
from wallet.cli.options import JsonOpt, NodeOpt, TxOptions, transaction_command
from wallet.describe import Namer
from wallet.designs_views import TermsView, parse_businesses
from wallet.errors import BadInput, Refused
from wallet.home import parse_address

CodeArg = Annotated[str, typer.Argument(metavar="CODE", help="The spend-locally currency's code.")]
AcceptOpt = Annotated[
    Acceptance | None,
    typer.Option(
        "--accept",
        case_sensitive=False,
        help="Whom holders may pay: anyone (default), registered (businesses only: spend-locally money, "
        "issued currencies) or providers (accredited organisations only: guaranteed credits).",
    ),
]
GuaranteedOpt = Annotated[
    bool,
    typer.Option(
        "--guaranteed",
        help="Time credits you guarantee: you accredit organisations with hour quotas (tally credits).",
    ),
]


def terms_from_flags(accept: Acceptance | None, guaranteed: bool) -> CurrencyTerms | None:
    """The terms ``currency create`` asks for; None without either flag (the older encoding)."""
    if accept is None and not guaranteed:
        return None
    return CurrencyTerms(guaranteed=guaranteed, accept=accept or Acceptance.ANYONE)


def terms_lines(code: str, terms: TermsView, namer: Namer) -> list[str]:
    """``currency info``'s words for a currency's terms."""
    lines = []
    if terms.guaranteed and terms.guarantor is not None:
        lines.append(
            f"  guaranteed time credits: {namer(parse_address(terms.guarantor))} owes every credit "
            f"(`tally credits report {code}`)"
        )
    if terms.accept is Acceptance.REGISTERED:
        lines.append(f"  spent only with registered businesses (`tally currency businesses {code}`)")
    elif terms.accept is Acceptance.PROVIDERS:
        lines.append("  redeemed only with accredited care providers")
    return lines


BusinessArg = Annotated[
    str, typer.Argument(metavar="ADDRESS", help="The business: an address, wallet or contact name.")
]


def _text(value: str, what: str, max_len: int, *, required: bool = True) -> str:
    if len(value) > max_len or not printable(value, required=required):
        raise BadInput(
            f"the {what} must be {'1' if required else '0'}-{max_len} printable characters", code="bad_usage"
        )
    return value


@transaction_command
def register(
    code: CodeArg,
    business: BusinessArg,
    name: Annotated[str, typer.Option("--name", metavar="NAME", help="A short name, e.g. 'Corner Shop'.")],
    category: Annotated[
        str, typer.Option("--category", metavar="TEXT", help="What it sells or does (default: general).")
    ] = "general",
    offer: Annotated[
        str, typer.Option("--offer", metavar="TEXT", help="An optional discount offer, e.g. '5 % off'.")
    ] = "",
    *,
    tx: TxOptions,
) -> None:
    """Register a business that holders of a spend-locally currency may pay (the issuer only).

    Registering it again updates its name, category and offer.

    Examples:
      tally currency register PND tly1q… --name "Corner Shop" --wallet brx-issuer --wait
      tally currency register PND bakery --name Bakery --category food --offer "a free roll with 10 PND"
    """
    with session(tx.as_json, tx.node) as s:
        found = s.currency(code)
        key = s.home.resolve_address(business)
        op = RegisterBusiness(
            found.code,
            key,
            _text(name, "name", MAX_NAME_CHARS),
            _text(category, "category", MAX_CATEGORY_CHARS),
            _text(offer, "offer", MAX_OFFER_CHARS, required=False),
        )
        run_transaction(s, tx, [op], {found.code: found.units}, s.source_key(tx.wallet, tx.source))


@transaction_command
def unregister(code: CodeArg, business: BusinessArg, tx: TxOptions) -> None:
    """Remove a registered business: from now on holders cannot pay it (the issuer only).

    Examples:
      tally currency unregister PND tly1q… --wallet brx-issuer --wait
    """
    with session(tx.as_json, tx.node) as s:
        found = s.currency(code)
        op = RemoveBusiness(found.code, s.home.resolve_address(business))
        run_transaction(s, tx, [op], {found.code: found.units}, s.source_key(tx.wallet, tx.source))


def businesses(code: CodeArg, node: NodeOpt = None, as_json: JsonOpt = False) -> None:
    """The businesses where a spend-locally currency can be spent, with their offers.

    Examples:
      tally currency businesses PND
      tally currency businesses PND --json
    """
    with session(as_json, node) as s:
        found = s.currency(code)
        items = s.client.read(f"/currencies/{found.code}/businesses", parse_businesses, "businesses")
        if items is None:
            raise Refused(
                f"{found.code} is not a spend-locally currency: it can be paid to anyone", code="wrong_kind"
            )
        out = {"code": found.code, "businesses": [b.to_json() for b in items]}

        def human(console: Console) -> None:
            if not items:
                console.print(f"{found.code} has no registered businesses yet.", markup=False)
                return
            namer = s.namer()
            table = Table("name", "category", "offer", "address", box=None)
            for b in items:
                table.add_row(b.name, b.category, b.offer or "-", namer(parse_address(b.address)))
            console.print(f"Where {found.code} is spent:", markup=False)
            console.print(table)

        s.emit(out, human)


def add_commands(app: typer.Typer) -> None:
    """Add ``register``, ``unregister`` and ``businesses`` to the ``currency`` group."""
    app.command("register")(register)
    app.command("unregister")(unregister)
    app.command("businesses")(businesses)
