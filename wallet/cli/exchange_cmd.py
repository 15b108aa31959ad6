"""``tally exchange …``: exchange between communities (protocol version 3).

Each community agrees the rate and limits through its own governance (``agree`` makes its
proposal: signed by its stewards it runs at once, where members govern it goes to their vote); a
member then pays in her currency and the recipient gets his (``pay``), through the two
communities' clearing accounts. ``list`` and ``show`` tell who owes whom between communities.
"""

from __future__ import annotations

import math
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from protocol.amounts import parse_amount
from protocol.designs.actions import MAX_RATE_TERM, AgreeExchange
from protocol.designs.exchange import cost
from protocol.designs.operations import ExchangePay, Hop
from protocol.errors import AmountError
from protocol.governance.operations import MAX_TITLE_CHARS, Propose
from wallet.cli.common import Session, amount, check_amount_text, run_transaction, session
from wallet.cli.options import JsonOpt, NodeOpt, TxOptions, transaction_command
from wallet.describe import Units
from wallet.designs_views import AgreementView, parse_agreements
from wallet.errors import BadInput, Refused
from wallet.views import CurrencyView

app = typer.Typer(
    name="exchange",
    no_args_is_help=True,
    help="Exchange between communities: agree a rate and limits, pay across currencies, see who owes whom.",
)

CodeArg = Annotated[str, typer.Argument(metavar="CODE", help="Your community's currency.")]
PartnerArg = Annotated[str, typer.Argument(metavar="PARTNER", help="The other community's currency.")]


def rate_terms(rate: str, own: CurrencyView, partner: CurrencyView) -> tuple[int, int]:
    """``--rate 10`` (1 unit of ``own`` is worth 10 of ``partner``), or a fraction like ``1/12``
    (the other side of a 12 agreement, exactly), as (num, den) of minor units: ``num`` of the
    partner's for ``den`` of one's own, reduced."""
    top, slash, bottom = rate.partition("/")
    try:
        scaled = parse_amount(top, 8)
        per = parse_amount(bottom, 8) if slash else 10**8
    except AmountError as exc:
        raise BadInput(f"bad --rate: {exc}", code="bad_usage") from None
    num, den = scaled * 10**partner.decimals, per * 10**own.decimals
    divisor = math.gcd(num, den)
    num, den = num // divisor, den // divisor
    if max(num, den) > MAX_RATE_TERM:
        raise BadInput("--rate is too fine-grained for these two currencies", code="bad_usage")
    return num, den


def agreement(s: Session, code: str, partner: str) -> AgreementView | None:
    return s.client.read(f"/exchange/{code}/{partner}", AgreementView.parse, "agreement")


@app.command("agree")
@transaction_command
def agree(
    code: CodeArg,
    partner: PartnerArg,
    rate: Annotated[
        str,
        typer.Option(
            "--rate", metavar="R", help="What one unit of CODE is worth in PARTNER, e.g. 10, 0.5 or 1/12."
        ),
    ],
    limit: Annotated[
        str, typer.Option("--limit", metavar="X", help="How far CODE's clearing account may go (CODE units).")
    ],
    partner_limit: Annotated[
        str,
        typer.Option(
            "--partner-limit", metavar="X", help="How far PARTNER's clearing account may go (its units)."
        ),
    ],
    title: Annotated[str | None, typer.Option("--title", help="The proposal's title.")] = None,
    *,
    tx: TxOptions,
) -> None:
    """Propose, for your community, to exchange with another at a rate and within limits.

    The exchange runs once both communities agreed to the same terms, each through its own
    governance: signed by enough stewards the proposal runs at once; where members govern, they
    vote. Agreeing to other terms later pauses exchanges until the partner agrees again; limits
    of 0 stop them while positions can still be unwound.

    Examples:
      tally exchange agree HOUR LETS --rate 10 --limit 20 --partner-limit 200 --wallet steward --wait
      tally exchange agree LETS HOUR --rate 1/10 --limit 200 --partner-limit 20 --wallet steward --wait
    """
    with session(tx.as_json, tx.node) as s:
        own, other = s.currency(code), s.currency(partner)
        if own.code == other.code:
            raise BadInput("a community exchanges with another one: name two currencies", code="bad_usage")
        num, den = rate_terms(rate, own, other)
        terms = AgreeExchange(
            other.code,
            num,
            den,
            amount(limit, own.decimals, allow_zero=True),
            amount(partner_limit, other.decimals, allow_zero=True),
        )
        text = (title or f"exchange with {other.code}: 1 {own.code} = {rate} {other.code}")[:MAX_TITLE_CHARS]
        op = Propose(own.code, text, b"", (terms,))
        units = {own.code: own.units, other.code: other.units}
        run_transaction(s, tx, [op], units, s.source_key(tx.wallet, tx.source))


@app.command("pay")
@transaction_command
def pay(
    to: Annotated[str, typer.Argument(metavar="TO", help="Recipient: an address, wallet or contact name.")],
    amount_text: Annotated[str, typer.Argument(metavar="AMOUNT", help="What the recipient gets, e.g. 10.")],
    currency: Annotated[str, typer.Argument(metavar="CURRENCY", help="The recipient's currency, e.g. LETS.")],
    pay_in: Annotated[str, typer.Option("--pay-in", metavar="CODE", help="Your currency, e.g. HOUR.")],
    most: Annotated[
        str | None,
        typer.Option(
            "--max", metavar="X", help="The most you pay in your currency (default: the exact cost)."
        ),
    ] = None,
    *,
    tx: TxOptions,
) -> None:
    """Pay someone in their currency with yours, at the rate the two communities agreed.

    The transaction names the agreement's version: if the communities change it before your
    payment is applied, it is refused (stale_rate) and nothing moves.

    Examples:
      tally exchange pay bob 10 LETS --pay-in HOUR --wallet alice --wait
      tally exchange pay alice 1.50 HOUR --pay-in LETS --max 16 --wallet bob
    """
    with session(tx.as_json, tx.node) as s:
        check_amount_text(amount_text)
        receive, give = s.currency(currency), s.currency(pay_in)
        if receive.code == give.code:
            raise BadInput("paying in the same currency is `tally send`", code="bad_usage")
        found = agreement(s, give.code, receive.code)
        if found is None or not found.in_force:
            raise Refused(
                f"refused (no_agreement): {give.code} and {receive.code} have no exchange agreement in force "
                f"(see `tally exchange show {give.code} {receive.code}`)",
                code="no_agreement",
            )
        value = amount(amount_text, receive.decimals)
        price = cost(value, found.rate_from(give.code))
        send_max = price if most is None else amount(most, give.decimals)
        if not tx.as_json:
            s.note(f"at the agreed rate this costs {give.units.text(price, give.code)}")
        op = ExchangePay(
            s.home.resolve_address(to), value, give.code, send_max, (Hop(receive.code, found.version),)
        )
        units = {give.code: give.units, receive.code: receive.units}
        run_transaction(s, tx, [op], units, s.source_key(tx.wallet, tx.source))


@app.command("show")
def show(code: CodeArg, partner: PartnerArg, node: NodeOpt = None, as_json: JsonOpt = False) -> None:
    """One agreement: its rate, limits and version, both clearing accounts, who owes whom.

    Examples:
      tally exchange show HOUR LETS
    """
    with session(as_json, node) as s:
        own, other = s.currency(code), s.currency(partner)
        found = agreement(s, own.code, other.code)
        if found is None:
            raise Refused(f"{own.code} and {other.code} never agreed an exchange", code="no_agreement")
        units = {own.code: own.units, other.code: other.units}
        s.emit(found.to_json(), lambda console: _print_agreement(console, found, units))


@app.command("list")
def list_(
    currency: Annotated[
        str | None, typer.Option("--currency", metavar="CODE", help="Only this community's agreements.")
    ] = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every exchange agreement and who owes whom; with --currency, that community's net
    position too (the sum of its clearing accounts: above zero it owes the others).

    Examples:
      tally exchange list
      tally exchange list --currency HOUR --json
    """
    with session(as_json, node) as s:
        params = None if currency is None else {"currency": s.currency(currency).code}
        items = s.client.read("/exchange", parse_agreements, "exchange", params=params) or ()
        units = _units(s, items)
        out: dict[str, object] = {"items": [a.to_json() for a in items]}
        code = None if params is None else params["currency"]
        net = 0 if code is None else sum(a.side(code).balance for a in items)
        if code is not None:
            out |= {"code": code, "net": net}

        def human(console: Console) -> None:
            if not items:
                console.print("No exchange agreements yet.", markup=False)
            for found in items:
                _print_agreement(console, found, units)
            if code is not None and code in units:
                console.print(f"{code}'s net position: {units[code].text(net, code)}", markup=False)

        s.emit(out, human)


def _units(s: Session, items: tuple[AgreementView, ...]) -> dict[str, Units]:
    codes = {code for a in items for code in (a.a, a.b)}
    return {code: s.currency(code).units for code in sorted(codes)}


def _print_agreement(console: Console, found: AgreementView, units: dict[str, Units]) -> None:
    a, b = found.a, found.b
    state = (
        "in force"
        if found.in_force
        else "waiting for " + " and ".join(side.code for side in found.sides if not side.agreed)
    )
    one_a = 10 ** units[a].decimals
    console.print(
        f"{a} ⇄ {b}, version {found.version}, {state}: 1 {a} = "
        f"{units[b].text(found.rate_num * one_a // found.rate_den, b)}",
        markup=False,
    )
    table = Table("community", "clearing balance", "limit", box=None)
    for side in found.sides:
        unit = units[side.code]
        table.add_row(side.code, unit.text(side.balance, side.code), unit.text(side.limit, side.code))
    console.print(table)
    if found.debtor is None:
        console.print("  balanced: nobody owes anything", markup=False)
    else:
        creditor = b if found.debtor == a else a
        console.print(
            f"  {found.debtor} owes {creditor}: {units[found.debtor].text(found.debtor_amount, found.debtor)} "
            f"({units[creditor].text(found.creditor_amount, creditor)})",
            markup=False,
        )
