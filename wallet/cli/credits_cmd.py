"""``tally credits …``: guaranteed time credits (protocol version 3).

The guarantor accredits organisations with hour quotas (``accredit``, ``revoke``); where the
members govern, ``--propose`` puts it to their vote instead. An accredited organisation credits a
volunteer's hours for a described service (``give``). Anyone reads the guarantor's report (the
credits outstanding, each organisation's quota and use) and an organisation's (``report``).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from protocol.addresses import encode_account
from protocol.designs.actions import SetAccreditation
from protocol.designs.operations import MAX_SERVICE_CHARS, Accredit, CreditHours, printable
from protocol.governance.operations import Propose
from protocol.operations import Operation
from wallet.cli.common import Session, amount, check_amount_text, run_transaction, session
from wallet.cli.options import JsonOpt, NodeOpt, TxOptions, transaction_command
from wallet.designs_views import GuarantorReportView, OrganisationReportView
from wallet.errors import BadInput, Refused
from wallet.home import parse_address
from wallet.views import CurrencyView

app = typer.Typer(
    name="credits",
    no_args_is_help=True,
    help="Guaranteed time credits: accredit organisations with hour quotas, credit volunteers' "
    "hours, and read the guarantor's and the organisations' reports.",
)

CodeArg = Annotated[str, typer.Argument(metavar="CODE", help="The guaranteed time currency.")]
OrgArg = Annotated[
    str, typer.Argument(metavar="ORGANISATION", help="The organisation: an address, wallet or contact name.")
]
ProposeOpt = Annotated[
    bool,
    typer.Option(
        "--propose", help="Put it to the members' vote as a proposal (currencies their members govern)."
    ),
]


def _accreditation(
    found: CurrencyView, organisation: bytes, quota: int, active: bool, propose: bool, title: str
) -> Operation:
    if not propose:
        return Accredit(found.code, organisation, quota, active)
    return Propose(found.code, title, b"", (SetAccreditation(organisation, quota, active),))


@app.command("accredit")
@transaction_command
def accredit(
    code: CodeArg,
    organisation: OrgArg,
    quota: Annotated[
        str, typer.Option("--quota", metavar="HOURS", help="How many hours it may credit in all, e.g. 500.")
    ],
    propose: ProposeOpt = False,
    *,
    tx: TxOptions,
) -> None:
    """Accredit an organisation to credit volunteers' hours, or change its quota (the guarantor).

    The quota bounds everything it ever credits; lowering it below what it credited stops
    further credits. The organisation becomes a member of the currency.

    Examples:
      tally credits accredit CARE care-org --quota 500 --wallet city --wait
      tally credits accredit CARE tly1q… --quota 800 --propose --wallet alice
    """
    with session(tx.as_json, tx.node) as s:
        found = s.currency(code)
        key = s.home.resolve_address(organisation)
        hours = amount(quota, found.decimals, allow_zero=True)
        title = f"accredit an organisation for {quota} h"
        op = _accreditation(found, key, hours, True, propose, title)
        run_transaction(s, tx, [op], {found.code: found.units}, s.source_key(tx.wallet, tx.source))


@app.command("revoke")
@transaction_command
def revoke(code: CodeArg, organisation: OrgArg, propose: ProposeOpt = False, *, tx: TxOptions) -> None:
    """Withdraw an organisation's accreditation: it credits no more hours (the guarantor).

    What it credited stays credited; holders can no longer redeem with it.

    Examples:
      tally credits revoke CARE care-org --wallet city --wait
    """
    with session(tx.as_json, tx.node) as s:
        found = s.currency(code)
        key = s.home.resolve_address(organisation)
        op = _accreditation(found, key, 0, False, propose, "withdraw an accreditation")
        run_transaction(s, tx, [op], {found.code: found.units}, s.source_key(tx.wallet, tx.source))


@app.command("give")
@transaction_command
def give(
    code: CodeArg,
    volunteer: Annotated[
        str,
        typer.Argument(metavar="VOLUNTEER", help="The member who gave the time: address, wallet or contact."),
    ],
    hours: Annotated[str, typer.Argument(metavar="HOURS", help="Hours given, e.g. 1.50.")],
    service: Annotated[
        str, typer.Option("--service", metavar="TEXT", help="What was done, e.g. 'visiting Mrs. M'.")
    ],
    *,
    tx: TxOptions,
) -> None:
    """Credit a volunteer's hours for a service (an accredited organisation, within its quota).

    Examples:
      tally credits give CARE alice 3 --service "visits and shopping" --wallet care-org --wait
    """
    with session(tx.as_json, tx.node) as s:
        check_amount_text(hours)
        if len(service) > MAX_SERVICE_CHARS or not printable(service):
            raise BadInput(f"--service must be 1-{MAX_SERVICE_CHARS} printable characters", code="bad_usage")
        found = s.currency(code)
        op = CreditHours(
            found.code, s.home.resolve_address(volunteer), amount(hours, found.decimals), service
        )
        run_transaction(s, tx, [op], {found.code: found.units}, s.source_key(tx.wallet, tx.source))


@app.command("report")
def report(
    code: CodeArg,
    organisation: Annotated[
        str | None,
        typer.Argument(
            metavar="[ORGANISATION]", help="One organisation's report (default: the guarantor's)."
        ),
    ] = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The guarantor's report (credits outstanding, every organisation's quota and use) or one
    organisation's (its quota, what it credited and to whom, what was redeemed with it).

    Examples:
      tally credits report CARE
      tally credits report CARE care-org --json
    """
    with session(as_json, node) as s:
        found = s.currency(code)
        if organisation is None:
            _guarantor_report(s, found)
        else:
            _organisation_report(s, found, s.home.resolve_address(organisation))


def _guarantor_report(s: Session, found: CurrencyView) -> None:
    report = s.client.read(f"/currencies/{found.code}/credits", GuarantorReportView.parse, "credits")
    if report is None:
        raise Refused(f"{found.code} is not a currency of guaranteed time credits", code="wrong_kind")
    text, namer = found.units.text, s.namer()

    def human(console: Console) -> None:
        code = report.code
        lines = [
            f"{code}: guaranteed by {namer(parse_address(report.guarantor))}",
            f"  credits outstanding (the guarantor's liability): {text(report.outstanding, code)}",
            f"  credited in all: {text(report.credited, code)}",
        ]
        for line in lines:
            console.print(line, markup=False)
        if not report.organisations:
            console.print("  no organisation is accredited yet", markup=False)
            return
        table = Table("organisation", "quota", "credited", "remaining", "redeemed", "state", box=None)
        for o in report.organisations:
            table.add_row(
                namer(parse_address(o.organisation)),
                *(text(v, code) for v in (o.quota, o.credited, o.remaining, o.redeemed)),
                "accredited" if o.active else "withdrawn",
            )
        console.print(table)

    s.emit(report.to_json(), human)


def _organisation_report(s: Session, found: CurrencyView, organisation: bytes) -> None:
    path = f"/currencies/{found.code}/credits/{encode_account(organisation)}"
    report = s.client.read(path, OrganisationReportView.parse, "credits")
    if report is None:
        raise Refused(f"this account was never accredited in {found.code}", code="not_accredited")
    text, namer = found.units.text, s.namer()

    def human(console: Console) -> None:
        a, code = report.accreditation, report.code
        state = "accredited" if a.active else "accreditation withdrawn"
        console.print(f"{namer(organisation)} in {code}: {state}", markup=False)
        for label, value in (
            ("quota", a.quota),
            ("credited", a.credited),
            ("remaining", a.remaining),
            ("redeemed with it", a.redeemed),
            ("its balance", a.balance),
        ):
            console.print(f"  {label}: {text(value, code)}", markup=False)
        if report.credits:
            table = Table("ledger", "volunteer", "hours", "service", box=None)
            for c in report.credits:
                table.add_row(
                    str(c.ledger), namer(parse_address(c.volunteer)), text(c.amount, code), c.service
                )
            console.print(table)

    s.emit(report.to_json(), human)
