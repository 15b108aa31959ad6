"""``tally request`` and ``tally pay``: payment requests as ``tally:`` URIs and QR codes.

The URI format is ``protocol.payreq`` (the node's account page draws the same one). Paying a
request shows in plain words what will be paid and asks first: a QR code can come from anyone.
"""

from __future__ import annotations

import io
import sys
from typing import Annotated

import segno
import typer
from rich.console import Console

from protocol.addresses import encode_account
from protocol.amounts import format_amount
from protocol.listings import ID_SIZE, REF_CHARS, is_listing_ref, link_memo, listing_ref
from protocol.operations import Payment
from protocol.payreq import PaymentRequest, RequestError, build_uri, network_tag, parse_uri
from wallet.board_views import ListingView
from wallet.cli.common import (
    Session,
    amount,
    check_amount_text,
    confirm,
    memo_bytes,
    run_transaction,
    session,
)
from wallet.cli.options import (
    DEFAULT_WAIT_S,
    JsonOpt,
    NodeOpt,
    PasswordFileOpt,
    TimeoutOpt,
    TxOptions,
    WaitOpt,
    WalletOpt,
    YesOpt,
)
from wallet.errors import BadInput
from wallet.views import CurrencyView

ForOpt = Annotated[
    str | None,
    typer.Option(
        "--for",
        metavar="LISTING",
        help=f"The board listing this payment settles: its id or its {REF_CHARS}-character reference.",
    ),
]


def listing_reference(text: str) -> str:
    """A listing id (64 hex) or reference (20 hex) as the reference a memo or URI carries."""
    cleaned = text.strip().lower()
    if is_listing_ref(cleaned):
        return cleaned
    if len(cleaned) == 2 * ID_SIZE and is_listing_ref(cleaned[:REF_CHARS]):
        try:
            return listing_ref(bytes.fromhex(cleaned))
        except ValueError:
            pass
    raise BadInput(
        f"{text!r} is not a listing id: use the id or the {REF_CHARS}-character reference "
        "that `tally board list` shows",
        code="bad_listing",
    )


def find_listing(s: Session, text: str) -> ListingView:
    """The listing ``text`` (an id or a reference) names, from the node's board (exit 2 if none)."""
    ref = listing_reference(text)
    found = s.client.listing(ref)
    if found is None:
        raise BadInput(
            f"no listing {ref} on the node's board (withdrawn, expired or never seen)", code="no_listing"
        )
    return found


def settling_memo(s: Session, listing_text: str, currency: str, note: str) -> str:
    """The memo of a payment that settles a board listing: ``for:REF`` then ``note``. The listing
    must be on the node's board and in the payment's currency."""
    listing = find_listing(s, listing_text)
    ref = listing.ref
    if listing.currency != currency:
        raise BadInput(
            f"listing {ref} is in {listing.currency}; a payment in {currency} cannot settle it",
            code="bad_usage",
        )
    memo = link_memo(ref, note)
    memo_bytes(memo)
    return memo


def qr_text(uri: str) -> str:
    """The QR code of ``uri`` drawn with block characters (two rows per line)."""
    out = io.StringIO()
    segno.make(uri, error="m").terminal(out=out, compact=True)
    return out.getvalue()


def request(
    amount_text: Annotated[str, typer.Argument(metavar="AMOUNT", help="Decimal amount, e.g. 1.50.")],
    currency: Annotated[str, typer.Argument(metavar="CURRENCY", help="Currency code, e.g. HOUR.")],
    memo: Annotated[str, typer.Option("--memo", "-m", help="What the payment is for.")] = "",
    for_listing: ForOpt = None,
    qr: Annotated[bool, typer.Option("--qr/--no-qr", help="Draw the QR code (default: yes).")] = True,
    wallet: WalletOpt = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Ask to be paid: prints a tally: URI and its QR code for the payer's phone or terminal.

    The payer runs `tally pay URI`, which shows what it will pay and asks first. The request
    names this network, so a testnet request cannot be paid on another network.

    Examples:
      tally request 1.50 HOUR --memo gardening
      tally request 20 LETS --wallet shop --json
      tally request 2 HOUR --for 3f2a9c01b2d4e5f60718
    """
    with session(as_json, node) as s:
        check_amount_text(amount_text)
        name, recipient = s.wallet_address(wallet)
        info = s.currency(currency)
        value = amount(amount_text, info.decimals)
        memo_bytes(memo)
        ref = None if for_listing is None else listing_reference(for_listing)
        payreq = PaymentRequest(
            recipient,
            network_tag(s.client.network_id()),
            info.code,
            format_amount(value, info.decimals),
            memo,
            ref,
        )
        try:
            uri = build_uri(payreq)
        except RequestError as exc:
            raise BadInput(str(exc), code="bad_request") from None
        shown = info.units.text(value, info.code)
        out = {
            "uri": uri,
            "wallet": name,
            "recipient": encode_account(recipient),
            "currency": info.code,
            "amount": value,
            "amount_text": shown,
            "memo": memo,
            "listing": ref,
            "network_tag": payreq.network_tag.hex(),
        }

        def human(console: Console) -> None:
            console.print(f"Request: pay {shown} to {name} ({encode_account(recipient)})", markup=False)
            if memo:
                console.print(f"for: {memo}", markup=False)
            if qr:
                sys.stdout.write(qr_text(uri))
            console.print(uri, markup=False)

        s.emit(out, human)


def pay(
    uri: Annotated[
        str, typer.Argument(metavar="URI", help="A tally: payment request (from `tally request`).")
    ],
    amount_text: Annotated[
        str | None,
        typer.Option("--amount", metavar="AMOUNT", help="The amount, when the request leaves it to you."),
    ] = None,
    currency: Annotated[
        str | None,
        typer.Option("--currency", metavar="CODE", help="The currency, when the request names none."),
    ] = None,
    yes: YesOpt = False,
    wait: WaitOpt = False,
    timeout: TimeoutOpt = DEFAULT_WAIT_S,
    wallet: WalletOpt = None,
    password_file: PasswordFileOpt = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Pay a payment request: shows what will be paid, to whom and what for, then asks.

    A request for another network, a malformed one or one in an unknown currency is refused
    (exit 2) before anything is signed. Without a terminal to ask in, pass --yes.

    Examples:
      tally pay "tally:tly1…?v=1&net=…&cur=HOUR&amt=1.50&memo=gardening"
      tally pay "$URI" --wallet alice --yes --wait
      tally pay "tally:tly1…?v=1&net=…" --amount 5 --currency LETS
    """
    with session(as_json, node) as s:
        try:
            payreq = parse_uri(uri)
        except RequestError as exc:
            raise BadInput(f"not a payment request: {exc}", code="bad_request") from None
        network = s.client.network_id()
        if not payreq.for_network(network):
            raise BadInput(
                f"this request is for another network (its tag {payreq.network_tag.hex()}, the node at "
                f"{s.client.url} is on {network_tag(network).hex()}): it cannot be paid here",
                code="wrong_network",
            )
        info = _request_currency(s, payreq, currency)
        value = _request_amount(payreq, amount_text, info)
        source = s.wallet_address(wallet)[1]
        if source == payreq.recipient:
            raise BadInput("this request is from your own wallet: you cannot pay yourself", code="malformed")
        memo = link_memo(payreq.listing, payreq.memo) if payreq.listing else payreq.memo
        shown = info.units.text(value, info.code)
        who = s.namer()(payreq.recipient)
        lines = [f"Pay {shown} to {who}"]
        if payreq.memo:
            lines.append(f"  for: {payreq.memo}")
        if payreq.listing:
            lines.append(f"  settles board listing {payreq.listing}")
        if s.home.name_of(payreq.recipient) is None:
            lines.append("  (this address is not one of your contacts or wallets)")
        for line in lines:
            typer.echo(line, err=True)
        confirm("Pay?", yes=yes, doing="paying", cancelled="nothing was paid")
        options = TxOptions(
            memo=memo,
            wait=wait,
            timeout=timeout,
            wallet=wallet,
            password_file=password_file,
            node=node,
            as_json=as_json,
        )
        run_transaction(
            s, options, [Payment(payreq.recipient, info.code, value)], {info.code: info.units}, source
        )


def _request_currency(s: Session, payreq: PaymentRequest, currency: str | None) -> CurrencyView:
    if payreq.currency is not None and currency is not None and currency.upper() != payreq.currency:
        raise BadInput(
            f"the request is in {payreq.currency}; --currency {currency} cannot change that", code="bad_usage"
        )
    code = payreq.currency or (currency.upper() if currency else None)
    if code is None:
        raise BadInput("the request names no currency: add --currency CODE", code="bad_usage")
    found = s.client.currency(code)
    if found is None:
        raise BadInput(f"the request is in {code}, a currency this network does not know", code="no_currency")
    return found


def _request_amount(payreq: PaymentRequest, amount_text: str | None, info: CurrencyView) -> int:
    if payreq.amount is not None and amount_text is not None:
        raise BadInput(
            f"the request asks for {payreq.amount} {info.code}; --amount cannot change that", code="bad_usage"
        )
    text = payreq.amount or amount_text
    if text is None:
        raise BadInput("the request leaves the amount to you: add --amount AMOUNT", code="bad_usage")
    return amount(text, info.decimals)
