"""``tally currency …``: create a currency, show it, admit members, set credit limits, mint, redeem."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console

from protocol.addresses import encode_account
from protocol.amounts import parse_amount
from protocol.errors import AmountError
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
    Session,
    TimeoutOpt,
    TxRequest,
    ValidOpt,
    WaitOpt,
    WalletOpt,
    check_amount_text,
    execute,
    fmt,
    holding,
    session,
)
from wallet.errors import BadInput, Refused

R = ResultCode
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


def _units(info: dict[str, Any]) -> dict[str, Any]:
    return {"kind": info.get("kind"), "decimals": int(info.get("decimals", 0))}


def _amount(text: str, decimals: int, *, allow_zero: bool = False) -> int:
    try:
        return parse_amount(text, decimals, allow_zero=allow_zero)
    except AmountError as exc:
        raise BadInput(f"bad amount: {exc}", code="bad_amount") from None


class _Tx:
    """Common flags of the currency commands that send a transaction."""

    def __init__(self, memo: str, wait: bool, timeout: float, build_only: bool, valid_ledgers: int) -> None:
        self.memo, self.wait, self.timeout, self.build_only, self.valid = (
            memo,
            wait,
            timeout,
            build_only,
            valid_ledgers,
        )


def _run(
    s: Session,
    flags: _Tx,
    ops: list[Any],
    units: dict[str, dict[str, Any]],
    source: bytes,
    wallet: str | None,
    password_file: Any,
) -> None:
    account = s.client.account(source)
    request = TxRequest(ops, units, flags.memo, flags.build_only, flags.wait, flags.timeout, flags.valid)
    execute(s, request, source, account, lambda: s.unlock(wallet, password_file)[1])


def _steward_check(s: Session, info: dict[str, Any], source: bytes, build_only: bool) -> None:
    if build_only:
        return  # the stewards sign the file one after the other
    stewards = info.get("stewards", [])
    if encode_account(source) not in stewards:
        raise Refused(
            f"{encode_account(source)} is not a steward of {info['code']} (stewards: {', '.join(stewards)})",
            code=R.BAD_STEWARD_AUTH.value,
        )
    if int(info.get("steward_threshold", 1)) > 1:
        raise Refused(
            f"{info['code']} needs {info['steward_threshold']} steward signatures: use --build-only, "
            "then `tally tx sign` by each steward and `tally tx submit`",
            code=R.BAD_STEWARD_AUTH.value,
        )


@app.command("create")
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
    """Create a currency; you become its issuer.

    Examples:
      tally currency create HOURS --kind time --credit-limit 10 --wait
      tally currency create LETS --kind mutual --credit-limit 100 --stewards alice,bob,carol --threshold 2
      tally currency create TOKEN --kind issued --decimals 2
    """
    with session(as_json, node) as s:
        code = _code(code)
        places = TIME_DECIMALS if kind is CurrencyKind.TIME else (2 if decimals is None else decimals)
        if kind is CurrencyKind.TIME and decimals not in (None, TIME_DECIMALS):
            raise BadInput("time currencies count hours with exactly 2 decimals", code="bad_usage")
        limit = _amount(credit_limit, places, allow_zero=True)
        if kind is CurrencyKind.ISSUED and limit:
            raise BadInput("an issued currency has no credit: holders never go below zero", code="bad_usage")
        ceiling = _amount(max_balance, places, allow_zero=True)
        source_key = s.source_key(wallet, source)
        steward_keys = (
            tuple(s.home.resolve_address(x) for x in stewards.split(",") if x.strip())
            if stewards
            else (source_key,)
        )
        if len(set(steward_keys)) != len(steward_keys):
            raise BadInput("a steward is listed twice", code="bad_usage")
        if not 1 <= threshold <= len(steward_keys):
            raise BadInput(
                f"--threshold must be from 1 to the number of stewards ({len(steward_keys)})",
                code="bad_usage",
            )
        if s.client.currency(code) is not None:
            raise Refused(f"a currency {code} already exists", code=R.CURRENCY_EXISTS.value)
        op = CreateCurrency(code, kind, places, steward_keys, threshold, limit, ceiling)
        units = {code: {"kind": kind.value, "decimals": places}}
        _run(
            s,
            _Tx(memo, wait, timeout, build_only, valid_ledgers),
            [op],
            units,
            source_key,
            wallet,
            password_file,
        )
        if not as_json and kind.is_mutual_credit and not build_only:
            s.note(f"next: admit members (yourself too) with `tally currency admit {code} NAME`")


@app.command("info")
def info(code: CodeArg, node: NodeOpt = None, as_json: JsonOpt = False) -> None:
    """A currency's rules, stewards, members and supply.

    Examples:
      tally currency info HOURS
    """
    with session(as_json, node) as s:
        data = s.currency(_code(code))
        c = str(data["code"])
        out = {
            **data,
            "default_credit_limit_text": fmt(int(data["default_credit_limit"]), c, data),
            "max_balance_text": fmt(int(data["max_balance"]), c, data),
            "supply_text": fmt(int(data["supply"]), c, data),
        }

        def human(console: Console) -> None:
            namer = s.namer()
            from wallet.home import parse_address

            lines = [
                f"{c}: {data['kind']} currency, {data['decimals']} decimals",
                f"  issuer: {namer(parse_address(data['issuer']))}",
                f"  stewards ({data['steward_threshold']} must sign): "
                + ", ".join(namer(parse_address(x)) for x in data["stewards"]),
                f"  members: {data['members']}",
                f"  in circulation: {out['supply_text']}",
            ]
            if data["kind"] != "issued":
                lines.append(f"  default credit limit: {out['default_credit_limit_text']}")
            if int(data["max_balance"]):
                lines.append(f"  ceiling: {out['max_balance_text']}")
            for line in lines:
                console.print(line, markup=False)

        s.emit(out, human)


@app.command("admit")
def admit(
    code: CodeArg,
    member: MemberArg,
    credit_limit: Annotated[
        str | None,
        typer.Option(
            "--credit-limit", metavar="X", help="This member's credit limit (default: the currency's)."
        ),
    ] = None,
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
    """Admit a member to a mutual-credit or time currency (stewards only).

    Examples:
      tally currency admit HOURS bob --wait
      tally currency admit LETS tly1q… --credit-limit 50 --build-only > admit.json
    """
    with session(as_json, node) as s:
        info_ = s.currency(_code(code))
        c = str(info_["code"])
        if info_.get("kind") == "issued":
            raise Refused(
                f"{c} is an issued currency: anyone may hold it, there is no membership",
                code=R.WRONG_KIND.value,
            )
        member_key = s.home.resolve_address(member)
        limit = (
            None if credit_limit is None else _amount(credit_limit, int(info_["decimals"]), allow_zero=True)
        )
        source_key = s.source_key(wallet, source)
        _steward_check(s, info_, source_key, build_only)
        existing = holding(s.client.account(member_key), c)
        if existing is not None and existing.get("member"):
            raise Refused(
                f"{encode_account(member_key)} is already a member of {c}", code=R.ALREADY_MEMBER.value
            )
        _run(
            s,
            _Tx(memo, wait, timeout, build_only, valid_ledgers),
            [AdmitMember(c, member_key, limit)],
            {c: _units(info_)},
            source_key,
            wallet,
            password_file,
        )


@app.command("set-limit")
def set_limit(
    code: CodeArg,
    member: MemberArg,
    credit_limit: Annotated[str, typer.Argument(metavar="X", help="The new credit limit.")],
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
    """Change a member's credit limit (stewards only). Lowering it below their debt is allowed:
    the debt may then only shrink.

    Examples:
      tally currency set-limit HOURS bob 20 --wait
    """
    with session(as_json, node) as s:
        info_ = s.currency(_code(code))
        c = str(info_["code"])
        if info_.get("kind") == "issued":
            raise Refused(f"{c} is an issued currency: there is no credit", code=R.WRONG_KIND.value)
        limit = _amount(credit_limit, int(info_["decimals"]), allow_zero=True)
        member_key = s.home.resolve_address(member)
        source_key = s.source_key(wallet, source)
        _steward_check(s, info_, source_key, build_only)
        existing = holding(s.client.account(member_key), c)
        if existing is None or not existing.get("member"):
            raise Refused(
                f"not a member: {encode_account(member_key)} is not a member of {c}", code=R.NOT_MEMBER.value
            )
        _run(
            s,
            _Tx(memo, wait, timeout, build_only, valid_ledgers),
            [SetCreditLimit(c, member_key, limit)],
            {c: _units(info_)},
            source_key,
            wallet,
            password_file,
        )


def _issuer_check(info_: dict[str, Any], source: bytes) -> None:
    if info_.get("kind") != "issued":
        raise Refused(
            f"{info_['code']} is {info_.get('kind')} credit: it is created by payments, never minted",
            code=R.WRONG_KIND.value,
        )
    if info_.get("issuer") != encode_account(source):
        raise Refused(
            f"only {info_['code']}'s issuer ({info_.get('issuer')}) may do this", code=R.NOT_ISSUER.value
        )


@app.command("mint")
def mint(
    code: CodeArg,
    to: Annotated[str, typer.Argument(metavar="TO", help="Who receives the new units.")],
    amount: Annotated[str, typer.Argument(metavar="AMOUNT")],
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
    """Issue new units of an issued currency (its issuer only), e.g. against national money received.

    Examples:
      tally currency mint TOKEN bob 100 --wait
    """
    with session(as_json, node) as s:
        check_amount_text(amount)
        info_ = s.currency(_code(code))
        c = str(info_["code"])
        destination = s.home.resolve_address(to)
        value = _amount(amount, int(info_["decimals"]))
        source_key = s.source_key(wallet, source)
        _issuer_check(info_, source_key)
        _run(
            s,
            _Tx(memo, wait, timeout, build_only, valid_ledgers),
            [Mint(c, destination, value)],
            {c: _units(info_)},
            source_key,
            wallet,
            password_file,
        )


@app.command("redeem")
def redeem(
    code: CodeArg,
    amount: Annotated[str, typer.Argument(metavar="AMOUNT")],
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
    """Take units out of circulation from the issuer's own balance (issuer only).

    A holder redeems by paying the issuer (`tally send ISSUER X CODE`); the issuer settles off the
    ledger and then redeems those units, so supply always equals what holders hold.

    Examples:
      tally currency redeem TOKEN 25 --wait
    """
    with session(as_json, node) as s:
        check_amount_text(amount)
        info_ = s.currency(_code(code))
        c = str(info_["code"])
        value = _amount(amount, int(info_["decimals"]))
        source_key = s.source_key(wallet, source)
        _issuer_check(info_, source_key)
        mine = holding(s.client.account(source_key), c)
        balance = int(mine["balance"]) if mine else 0
        if balance < value:
            raise Refused(
                f"underfunded: the issuer holds {fmt(balance, c, info_)}, asked {fmt(value, c, info_)}",
                code=R.UNDERFUNDED.value,
            )
        _run(
            s,
            _Tx(memo, wait, timeout, build_only, valid_ledgers),
            [Redeem(c, value)],
            {c: _units(info_)},
            source_key,
            wallet,
            password_file,
        )
