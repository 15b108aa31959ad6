"""``tally board post|list|show|withdraw``: the offers and requests board (off-ledger listings).

A listing is signed by its author's wallet and posted to a node, which checks that the author is a
member of the currency and gossips it to the others. A payment settles a listing when its memo
links to it: ``tally send … --for REF`` or ``tally pay`` on a request made with ``--for``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console

from protocol.addresses import decode_account, encode_account
from protocol.listings import (
    MAX_LIFETIME_MS,
    Category,
    ListingBody,
    ListingKind,
    build_listing,
    build_withdrawal,
)
from wallet.board_views import ListingView
from wallet.cli.common import Session, amount, session
from wallet.cli.options import JsonOpt, NodeOpt, PasswordFileOpt, WalletOpt
from wallet.cli.request_cmd import find_listing
from wallet.describe import Units
from wallet.errors import BadInput, NodeError, Refused

app = typer.Typer(
    name="board",
    help="The offers and requests board: post what you offer or need, find others, settle with a payment.",
    no_args_is_help=True,
)

DAY_MS = 86_400_000
MAX_DAYS = MAX_LIFETIME_MS // DAY_MS
# Refusals by the board's rules (exit 1); anything else the node refuses is bad input (exit 2).
RULE_REFUSALS = frozenset(
    {
        "not_member",
        "no_currency",
        "rate_limited",
        "member_full",
        "currency_full",
        "board_full",
        "withdrawn_before",
        "expired",
        "from_the_future",
    }
)
_KINDS = {kind.value: kind for kind in ListingKind}
_CATEGORIES = {category.value: category for category in Category}

KindArg = Annotated[
    str, typer.Argument(metavar="KIND", help="offer (you can help) or request (you need help).")
]
CategoryOpt = Annotated[
    str | None,
    typer.Option("--category", "-c", help=f"One of: {', '.join(_CATEGORIES)}.", show_default=False),
]
ListingArg = Annotated[
    str, typer.Argument(metavar="LISTING", help="A listing's id or its 20-character reference.")
]


def _kind(text: str) -> ListingKind:
    if text.lower() not in _KINDS:
        raise BadInput(f"{text!r} is not a kind of listing: use offer or request", code="bad_usage")
    return _KINDS[text.lower()]


def _category(text: str) -> Category:
    if text.lower() not in _CATEGORIES:
        raise BadInput(f"{text!r} is not a category: use one of {', '.join(_CATEGORIES)}", code="bad_usage")
    return _CATEGORIES[text.lower()]


def _post(s: Session, item: bytes) -> str:
    try:
        return s.client.board_post(item).status
    except NodeError as exc:
        if exc.code in RULE_REFUSALS:
            raise Refused(exc.message, code=exc.code) from None
        raise


def _units(s: Session, listings: list[ListingView]) -> dict[str, Units]:
    units = {}
    for code in {x.currency for x in listings}:
        found = s.client.currency(code)
        units[code] = found.units if found is not None else Units(None, 0)
    return units


def _amount_text(listing: ListingView, units: dict[str, Units]) -> str:
    if listing.amount == 0:
        return "to be agreed"
    return units[listing.currency].text(listing.amount, listing.currency)


def _date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def _json(listing: ListingView, units: dict[str, Units]) -> dict[str, object]:
    return listing.to_json() | {"amount_text": _amount_text(listing, units)}


@app.command("post")
def post(
    kind_text: KindArg,
    currency: Annotated[str, typer.Argument(metavar="CURRENCY", help="The currency it is for, e.g. HOUR.")],
    title: Annotated[str, typer.Argument(metavar="TITLE", help="A short title (at most 80 characters).")],
    text: Annotated[str, typer.Option("--text", "-t", help="More words (at most 600 characters).")] = "",
    category: CategoryOpt = None,
    topic: Annotated[str, typer.Option("--topic", help="Your own word for it, e.g. 'fruit trees'.")] = "",
    amount_text: Annotated[
        str | None,
        typer.Option("--amount", metavar="AMOUNT", help="Hours or amount (default: to be agreed)."),
    ] = None,
    days: Annotated[int, typer.Option("--days", help=f"How long it stays up (1 to {MAX_DAYS}).")] = 30,
    wallet: WalletOpt = None,
    password_file: PasswordFileOpt = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Post an offer or a request for a currency you are a member of (signed by your wallet).

    Examples:
      tally board post offer HOUR "Garden help" --category garden --amount 2 --text "Saturdays"
      tally board post request HOUR "A lift to the clinic" -c transport --days 7
    """
    with session(as_json, node) as s:
        kind = _kind(kind_text)
        chosen = _category(category) if category is not None else Category.OTHER
        if not 1 <= days <= MAX_DAYS:
            raise BadInput(f"--days must be from 1 to {MAX_DAYS}", code="bad_usage")
        info = s.currency(currency)
        value = 0 if amount_text is None else amount(amount_text, info.decimals)
        name, keypair = s.unlock(wallet, password_file)
        now = int(time.time() * 1000)
        body = ListingBody(
            kind, keypair.public_key, info.code, chosen, topic, title, text, value, now, now + days * DAY_MS
        )
        try:
            listing = build_listing(s.client.network_id(), body, keypair)
        except ValueError as exc:
            raise BadInput(f"cannot post this listing: {exc}", code="bad_listing") from None
        _post(s, listing.encode())
        shown = s.client.listing(listing.id.hex())
        if shown is None:  # pragma: no cover - the node just took it
            raise BadInput("the node took the listing but cannot show it", code="bad_response")
        units = {info.code: info.units}
        s.emit(
            _json(shown, units),
            [
                f"Posted {kind.value} '{title}' in {info.code} ({_amount_text(shown, units)}) as {name}",
                f"reference {shown.ref}; up until {_date(shown.expires_ms)}",
            ],
        )


@app.command("list")
def list_cmd(
    currency: Annotated[
        str | None, typer.Option("--currency", metavar="CODE", help="Only this currency.")
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="offer or request.")] = None,
    category: CategoryOpt = None,
    mine: Annotated[bool, typer.Option("--mine", help="Only your wallet's listings.")] = False,
    limit: Annotated[int, typer.Option("--limit", help="How many (1 to 100).")] = 50,
    wallet: WalletOpt = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Listings on the node's board, newest first.

    Examples:
      tally board list --currency HOUR --kind offer
      tally board list --category garden --json
      tally board list --mine
    """
    with session(as_json, node) as s:
        if not 1 <= limit <= 100:
            raise BadInput("--limit must be from 1 to 100", code="bad_usage")
        author = s.wallet_address(wallet)[1] if mine else None
        page = s.client.board(
            currency=currency.upper() if currency else None,
            kind=None if kind is None else _kind(kind).value,
            category=None if category is None else _category(category).value,
            author=author,
            limit=limit,
        )
        listings = list(page.items)
        units = _units(s, listings)
        out = {"items": [_json(x, units) for x in listings], "next": page.next}

        def human(console: Console) -> None:
            if not listings:
                console.print("Nothing on the board yet.", markup=False)
                return
            name = s.namer()
            for x in listings:
                console.print(
                    f"{x.ref}  {x.kind.value:<7} {x.category.value:<9} {x.title}  "
                    f"[{_amount_text(x, units)}; by {name(_key(x.author))}; until {_date(x.expires_ms)}; {x.status}]",
                    markup=False,
                )

        s.emit(out, human)


@app.command("show")
def show(listing_text: ListingArg, node: NodeOpt = None, as_json: JsonOpt = False) -> None:
    """One listing in full, with the payments that settled it.

    Examples:
      tally board show 3f2a9c01b2d4e5f60718
    """
    with session(as_json, node) as s:
        listing = find_listing(s, listing_text)
        units = _units(s, [listing])
        name = s.namer()
        lines = [
            f"{listing.kind.value} in {listing.currency}: {listing.title}",
            f"  category {listing.category.value}" + (f" ({listing.topic})" if listing.topic else ""),
            f"  {_amount_text(listing, units)}, by {name(_key(listing.author))}",
            f"  posted {_date(listing.created_ms)}, up until {_date(listing.expires_ms)}; {listing.status}",
            *(f"  {line}" for line in listing.text.splitlines()),
            *(
                f"  paid {units[listing.currency].text(p.amount, listing.currency)} by {name(_key(p.payer))} "
                f"to {name(_key(p.payee))} in ledger {p.ledger}"
                for p in listing.payments
            ),
            f"  id {listing.id}",
        ]
        s.emit(_json(listing, units), lines)


@app.command("withdraw")
def withdraw(
    listing_text: ListingArg,
    wallet: WalletOpt = None,
    password_file: PasswordFileOpt = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Take your listing off the board (a signed withdrawal the nodes pass on).

    Examples:
      tally board withdraw 3f2a9c01b2d4e5f60718
    """
    with session(as_json, node) as s:
        listing = find_listing(s, listing_text)
        name, keypair = s.unlock(wallet, password_file)
        if encode_account(keypair.public_key) != listing.author:
            raise BadInput(
                f"listing {listing.ref} is not {name}'s: only its author can withdraw it", code="not_author"
            )
        item = build_withdrawal(
            s.client.network_id(), keypair, bytes.fromhex(listing.id), int(time.time() * 1000)
        )
        status = _post(s, item.encode())
        s.emit(
            {"id": listing.id, "ref": listing.ref, "status": status},
            [f"Withdrew '{listing.title}' ({listing.ref})"],
        )


def _key(address: str) -> bytes:
    return decode_account(address)
