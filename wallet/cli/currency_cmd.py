"""``tally currency …``: create a currency, show it, admit members, set credit limits, mint, redeem.

The commands read the currency (its decimals turn ``1.50`` into minor units) and leave every rule
to the node: who may admit, mint or redeem, membership, funds. A refusal comes back with the
node's figures (``wallet.refusals``).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from protocol.operations import (
    MAX_DECIMALS,
    TIME_DECIMALS,
    AdmitMember,
    CreateCurrency,
    CurrencyKind,
    Mint,
    Redeem,
    SetCreditLimit,
    valid_code,
)
from wallet.cli.common import amount, check_amount_text, run_transaction, session
from wallet.cli.governance_args import (
    AdmissionOpt,
    DemurrageOpt,
    GovernanceOpt,
    MajorityOpt,
    QuorumOpt,
    VotingPeriodOpt,
    parse_rate,
    rules_from_flags,
)
from wallet.cli.local_cmd import AcceptOpt, GuaranteedOpt, terms_from_flags, terms_lines
from wallet.cli.options import JsonOpt, NodeOpt, TxOptions, transaction_command
from wallet.describe import Units
from wallet.errors import BadInput
from wallet.home import parse_address

app = typer.Typer(
    name="currency",
    no_args_is_help=True,
    help="Community currencies: create one (mutual credit, time bank, issued), admit members, "
    "set credit limits, mint and redeem.",
)

CodeArg = Annotated[str, typer.Argument(metavar="CODE", help="Currency code: 1-12 of A-Z and 0-9.")]
MemberArg = Annotated[
    str, typer.Argument(metavar="MEMBER", help="The member: an address, wallet or contact name.")
]


def _code(text: str) -> str:
    code = text.upper()
    if not valid_code(code):
        raise BadInput(
            f"{text!r} is not a currency code: use 1-12 letters A-Z and digits", code="bad_currency_code"
        )
    return code


@app.command("create")
@transaction_command
def create(
    code: CodeArg,
    kind: Annotated[
        CurrencyKind,
        typer.Option(
            "--kind", case_sensitive=False, help="mutual (LETS), time (time bank, hours) or issued (backed)."
        ),
    ],
    decimals: Annotated[
        int | None,
        typer.Option(
            "--decimals",
            min=0,
            max=MAX_DECIMALS,
            help="Decimal places (time currencies always have 2; default 2).",
        ),
    ] = None,
    credit_limit: Annotated[
        str,
        typer.Option(
            "--credit-limit", metavar="X", help="Default credit limit of new members (mutual/time)."
        ),
    ] = "0",
    max_balance: Annotated[
        str, typer.Option("--max-balance", metavar="X", help="Ceiling on any balance (0 = none).")
    ] = "0",
    stewards: Annotated[
        str | None,
        typer.Option(
            "--stewards", metavar="A,B,C", help="Stewards who admit members and set limits (default: you)."
        ),
    ] = None,
    threshold: Annotated[int, typer.Option("--threshold", min=1, help="How many stewards must sign.")] = 1,
    governance: GovernanceOpt = None,
    voting_period: VotingPeriodOpt = None,
    quorum_pct: QuorumOpt = None,
    majority_pct: MajorityOpt = None,
    admission: AdmissionOpt = None,
    demurrage: DemurrageOpt = None,
    accept: AcceptOpt = None,
    guaranteed: GuaranteedOpt = False,
    *,
    tx: TxOptions,
) -> None:
    """Create a currency; you become its issuer.

    Examples:
      tally currency create HOURS --kind time --credit-limit 10 --wait
      tally currency create LETS --kind mutual --credit-limit 100 --stewards alice,bob,carol --threshold 2
      tally currency create TOKEN --kind issued --decimals 2
      tally currency create DEMOS --kind mutual --credit-limit 10 --governance members --voting-period 30s
      tally currency create PND --kind issued --accept registered --wallet brx-issuer --wait
      tally currency create CARE --kind time --guaranteed --accept providers --wallet city --wait
    """
    with session(tx.as_json, tx.node) as s:
        code = _code(code)
        places = TIME_DECIMALS if kind is CurrencyKind.TIME else (2 if decimals is None else decimals)
        if kind is CurrencyKind.TIME and decimals not in (None, TIME_DECIMALS):
            raise BadInput("time currencies count hours with exactly 2 decimals", code="bad_usage")
        limit = amount(credit_limit, places, allow_zero=True)
        if kind is CurrencyKind.ISSUED and limit:
            raise BadInput("an issued currency has no credit: holders never go below zero", code="bad_usage")
        ceiling = amount(max_balance, places, allow_zero=True)
        source = s.source_key(tx.wallet, tx.source)
        steward_keys = (
            tuple(s.home.resolve_address(x) for x in stewards.split(",") if x.strip())
            if stewards
            else (source,)
        )
        if len(set(steward_keys)) != len(steward_keys):
            raise BadInput("a steward is listed twice", code="bad_usage")
        if not 1 <= threshold <= len(steward_keys):
            raise BadInput(
                f"--threshold must be from 1 to the number of stewards ({len(steward_keys)})",
                code="bad_usage",
            )
        rules = rules_from_flags(
            None,
            governance=governance,
            voting_period=voting_period,
            quorum_pct=quorum_pct,
            majority_pct=majority_pct,
            admission=admission,
        )
        rate = 0 if demurrage is None else parse_rate(demurrage, "--demurrage")
        op = CreateCurrency(
            code,
            kind,
            places,
            steward_keys,
            threshold,
            limit,
            ceiling,
            rate,
            rules,
            terms_from_flags(accept, guaranteed),
        )
        run_transaction(s, tx, [op], {code: Units(kind, places)}, source)
        if not tx.as_json and kind.is_mutual_credit and not tx.build_only:
            s.note(f"next: admit members (yourself too) with `tally currency admit {code} NAME`")


@app.command("info")
def info(code: CodeArg, node: NodeOpt = None, as_json: JsonOpt = False) -> None:
    """A currency's rules, stewards, members and supply.

    Examples:
      tally currency info HOURS
    """
    with session(as_json, node) as s:
        data = s.currency(_code(code))
        c, units = data.code, data.units
        out = {
            **data.to_json(),
            "default_credit_limit_text": units.text(data.default_credit_limit, c),
            "max_balance_text": units.text(data.max_balance, c),
            "supply_text": units.text(data.supply, c),
        }

        def human(console: Console) -> None:
            namer = s.namer()
            lines = [
                f"{c}: {data.kind.value} currency, {data.decimals} decimals",
                f"  issuer: {namer(parse_address(data.issuer))}",
                f"  stewards ({data.steward_threshold} must sign): "
                + ", ".join(namer(parse_address(x)) for x in data.stewards),
                f"  members: {data.members}",
                f"  in circulation: {out['supply_text']}",
            ]
            if data.kind.is_mutual_credit:
                lines.append(f"  default credit limit: {out['default_credit_limit_text']}")
            if data.max_balance:
                lines.append(f"  ceiling: {out['max_balance_text']}")
            rules = data.governance
            if rules is not None:
                if rules.policy.value == "members":
                    lines.append(
                        f"  governed by its members: votes last {rules.voting_period_s} s, quorum "
                        f"{rules.quorum_pct} %, majority {rules.majority_pct} %"
                    )
                else:
                    lines.append("  governed by its stewards")
                lines.append(f"  admission: {rules.admission}; open proposals: {rules.open_proposals}")
                if rules.levy_ppm or data.demurrage_ppm:
                    lines.append(
                        f"  levy {rules.levy_ppm / 10_000:g} %, demurrage {data.demurrage_ppm / 10_000:g} % a year"
                    )
            if data.terms is not None:
                lines += terms_lines(data.code, data.terms, namer)
            for line in lines:
                console.print(line, markup=False)

        s.emit(out, human)


@app.command("admit")
@transaction_command
def admit(
    code: CodeArg,
    member: MemberArg,
    credit_limit: Annotated[
        str | None,
        typer.Option(
            "--credit-limit", metavar="X", help="This member's credit limit (default: the currency's)."
        ),
    ] = None,
    *,
    tx: TxOptions,
) -> None:
    """Admit a member to a mutual-credit or time currency (stewards only).

    Examples:
      tally currency admit HOURS bob --wait
      tally currency admit LETS tly1q… --credit-limit 50 --build-only > admit.json
    """
    with session(tx.as_json, tx.node) as s:
        found = s.currency(_code(code))
        member_key = s.home.resolve_address(member)
        limit = None if credit_limit is None else amount(credit_limit, found.decimals, allow_zero=True)
        source = s.source_key(tx.wallet, tx.source)
        op = AdmitMember(found.code, member_key, limit)
        run_transaction(s, tx, [op], {found.code: found.units}, source)


@app.command("set-limit")
@transaction_command
def set_limit(
    code: CodeArg,
    member: MemberArg,
    credit_limit: Annotated[str, typer.Argument(metavar="X", help="The new credit limit.")],
    tx: TxOptions,
) -> None:
    """Change a member's credit limit (stewards only). Lowering it below their debt is allowed:
    the debt may then only shrink.

    Examples:
      tally currency set-limit HOURS bob 20 --wait
    """
    with session(tx.as_json, tx.node) as s:
        found = s.currency(_code(code))
        limit = amount(credit_limit, found.decimals, allow_zero=True)
        member_key = s.home.resolve_address(member)
        source = s.source_key(tx.wallet, tx.source)
        op = SetCreditLimit(found.code, member_key, limit)
        run_transaction(s, tx, [op], {found.code: found.units}, source)


@app.command("mint")
@transaction_command
def mint(
    code: CodeArg,
    to: Annotated[str, typer.Argument(metavar="TO", help="Who receives the new units.")],
    amount_text: Annotated[str, typer.Argument(metavar="AMOUNT")],
    tx: TxOptions,
) -> None:
    """Issue new units of an issued currency (its issuer only), e.g. against national money received.

    Examples:
      tally currency mint TOKEN bob 100 --wait
    """
    with session(tx.as_json, tx.node) as s:
        check_amount_text(amount_text)
        found = s.currency(_code(code))
        destination = s.home.resolve_address(to)
        value = amount(amount_text, found.decimals)
        source = s.source_key(tx.wallet, tx.source)
        run_transaction(s, tx, [Mint(found.code, destination, value)], {found.code: found.units}, source)


@app.command("redeem")
@transaction_command
def redeem(
    code: CodeArg,
    amount_text: Annotated[str, typer.Argument(metavar="AMOUNT")],
    tx: TxOptions,
) -> None:
    """Take units out of circulation from the issuer's own balance (issuer only).

    A holder redeems by paying the issuer (`tally send ISSUER X CODE`); the issuer settles off the
    ledger and then redeems those units, so supply always equals what holders hold.

    Examples:
      tally currency redeem TOKEN 25 --wait
    """
    with session(tx.as_json, tx.node) as s:
        check_amount_text(amount_text)
        found = s.currency(_code(code))
        value = amount(amount_text, found.decimals)
        source = s.source_key(tx.wallet, tx.source)
        run_transaction(s, tx, [Redeem(found.code, value)], {found.code: found.units}, source)
