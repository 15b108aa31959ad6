"""``tally proposal create|vote|show|list``: members decide their currency's rules together.

A proposal carries one or more actions, run together when it passes. Under a currency governed
by its members any member proposes, every member (as the currency stood when the proposal was
made) votes once, yes, no or abstain, and the ledger counts the votes at the deadline. Under a
currency governed by its stewards, a proposal signed by enough stewards runs at once.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from protocol.addresses import encode_account
from protocol.governance.actions import (
    Action,
    Admit,
    Expel,
    PayFromFund,
    Reinstate,
    SetDefaultCreditLimit,
    SetDemurrage,
    SetFundCreditLimit,
    SetLevy,
    SetMaxBalance,
    SetMemberCreditLimit,
    SetRules,
    SetStewards,
    Suspend,
)
from protocol.governance.operations import MAX_TITLE_CHARS, CastVote, Propose, VoteChoice
from protocol.hashing import blake2b256
from protocol.transactions import Transaction
from wallet.cli.common import Session, amount, run_transaction, session
from wallet.cli.governance_args import (
    AdmissionOpt,
    DemurrageOpt,
    GovernanceOpt,
    MajorityOpt,
    QuorumOpt,
    VotingPeriodOpt,
    parse_pair,
    parse_proposal_id,
    parse_rate,
    rules_from_flags,
)
from wallet.cli.options import JsonOpt, NodeOpt, TxOptions, transaction_command
from wallet.describe import Units
from wallet.describe_governance import describe_action
from wallet.errors import BadInput
from wallet.governance_views import ProposalView
from wallet.home import parse_address
from wallet.views import CurrencyView, TxResultView

app = typer.Typer(
    name="proposal",
    no_args_is_help=True,
    help="Proposals: change your currency's rules together, one member one vote.",
)

IdArg = Annotated[str, typer.Argument(metavar="ID", help="The proposal, e.g. DEMOS-3.")]
Members = Annotated[list[str] | None, typer.Option(metavar="MEMBER", help="Repeat for several.")]


class Choice(enum.Enum):
    YES = "yes"
    NO = "no"
    ABSTAIN = "abstain"


def _units(currency: CurrencyView) -> dict[str, Units]:
    return {currency.code: currency.units}


def _amount_words(currency: CurrencyView) -> Callable[[int, str], str]:
    def words(value: int, code: str) -> str:
        return currency.units.text(value, code)

    return words


@app.command("create")
@transaction_command
def create(
    currency: Annotated[str, typer.Option("--currency", metavar="CODE", help="The currency to change.")],
    title: Annotated[
        str | None, typer.Option("--title", help=f"A short title (at most {MAX_TITLE_CHARS} characters).")
    ] = None,
    text_file: Annotated[
        Path | None,
        typer.Option(
            "--text", metavar="FILE", help="A longer text; the ledger keeps its hash so anyone can check it."
        ),
    ] = None,
    set_default_credit_limit: Annotated[
        str | None, typer.Option("--set-default-credit-limit", metavar="X", help="Newcomers' credit limit.")
    ] = None,
    set_limit: Annotated[
        list[str] | None, typer.Option("--set-limit", metavar="MEMBER=X", help="One member's credit limit.")
    ] = None,
    admit: Annotated[
        list[str] | None, typer.Option("--admit", metavar="MEMBER", help="Admit a newcomer.")
    ] = None,
    reinstate: Annotated[
        list[str] | None,
        typer.Option("--reinstate", metavar="MEMBER", help="Lift a suspension or expulsion."),
    ] = None,
    suspend: Annotated[
        list[str] | None, typer.Option("--suspend", metavar="MEMBER", help="Freeze a member's account.")
    ] = None,
    expel: Annotated[
        list[str] | None,
        typer.Option(
            "--expel", metavar="MEMBER", help="Expel a member (their balance goes to the commons fund)."
        ),
    ] = None,
    stewards: Annotated[
        str | None, typer.Option("--stewards", metavar="A,B,C", help="New stewards (with --threshold).")
    ] = None,
    threshold: Annotated[
        int | None, typer.Option("--threshold", min=1, help="How many of the new stewards must sign.")
    ] = None,
    governance: GovernanceOpt = None,
    voting_period: VotingPeriodOpt = None,
    quorum_pct: QuorumOpt = None,
    majority_pct: MajorityOpt = None,
    admission: AdmissionOpt = None,
    demurrage: DemurrageOpt = None,
    levy: Annotated[
        str | None, typer.Option("--levy", metavar="PCT", help="Levy on payments, %, to the fund.")
    ] = None,
    max_balance: Annotated[
        str | None, typer.Option("--max-balance", metavar="X", help="Ceiling on any balance (0 = none).")
    ] = None,
    fund_credit_limit: Annotated[
        str | None, typer.Option("--fund-credit-limit", metavar="X", help="How far the commons fund may owe.")
    ] = None,
    pay_from_fund: Annotated[
        list[str] | None,
        typer.Option(
            "--pay-from-fund", metavar="MEMBER=X", help="Pay from the commons fund (participatory budgeting)."
        ),
    ] = None,
    *,
    tx: TxOptions,
) -> None:
    """Propose changes to a currency; all of them run together if the proposal passes.

    Examples:
      tally proposal create --currency DEMOS --set-default-credit-limit 20 --wallet alice --wait
      tally proposal create --currency DEMOS --pay-from-fund carol=15 --title "Seeds for the garden"
      tally proposal create --currency DEMOS --expel dave --text reasons.txt
      tally proposal create --currency DEMOS --admission vouch:2 --voting-period 7d
    """
    with session(tx.as_json, tx.node) as s:
        found = s.currency(currency.upper())
        flags = _Flags(
            set_default_credit_limit,
            set_limit or [],
            admit or [],
            reinstate or [],
            suspend or [],
            expel or [],
            stewards,
            threshold,
            governance,
            voting_period,
            quorum_pct,
            majority_pct,
            admission,
            demurrage,
            levy,
            max_balance,
            fund_credit_limit,
            pay_from_fund or [],
        )
        actions = _actions(s, found, flags)
        if not actions:
            raise BadInput(
                "say what the proposal changes, e.g. --set-default-credit-limit 20", code="bad_usage"
            )
        namer = s.namer()
        words = "; ".join(describe_action(a, found.code, _amount_words(found), namer) for a in actions)
        chosen = (title or words).strip()
        if len(chosen) > MAX_TITLE_CHARS:
            if title is not None:
                raise BadInput(
                    f"--title is {len(chosen)} characters; at most {MAX_TITLE_CHARS}", code="bad_usage"
                )
            chosen = chosen[: MAX_TITLE_CHARS - 1] + "…"
        text_hash = b""
        if text_file is not None:
            try:
                text_hash = blake2b256(text_file.read_bytes())
            except OSError as exc:
                raise BadInput(f"--text {text_file}: {exc.strerror}", code="bad_usage") from None
        source = s.source_key(tx.wallet, tx.source)
        op = Propose(found.code, chosen, text_hash, tuple(actions))
        run_transaction(s, tx, [op], _units(found), source, extra=lambda t, r: _made(s, found, t, r))


@dataclass(frozen=True, slots=True)
class _Flags:
    """What ``proposal create``'s flags ask for (amounts still as typed)."""

    set_default_credit_limit: str | None
    set_limit: list[str]
    admit: list[str]
    reinstate: list[str]
    suspend: list[str]
    expel: list[str]
    stewards: str | None
    threshold: int | None
    governance: str | None
    voting_period: str | None
    quorum_pct: int | None
    majority_pct: int | None
    admission: str | None
    demurrage: str | None
    levy: str | None
    max_balance: str | None
    fund_credit_limit: str | None
    pay_from_fund: list[str]


def _actions(s: Session, currency: CurrencyView, f: _Flags) -> list[Action]:
    """The actions the flags ask for, in a fixed order."""
    places = currency.decimals
    who = s.home.resolve_address
    actions: list[Action] = []
    if f.set_default_credit_limit is not None:
        actions.append(SetDefaultCreditLimit(amount(f.set_default_credit_limit, places, allow_zero=True)))
    for pair in f.set_limit:
        name, value = parse_pair(pair, "--set-limit")
        actions.append(SetMemberCreditLimit(who(name), amount(value, places, allow_zero=True)))
    actions += [Admit(who(name)) for name in f.admit]
    actions += [Reinstate(who(name)) for name in f.reinstate]
    actions += [Suspend(who(name)) for name in f.suspend]
    actions += [Expel(who(name)) for name in f.expel]
    if f.stewards is not None or f.threshold is not None:
        keys = tuple(who(x) for x in (f.stewards or "").split(",") if x.strip())
        if not keys:
            raise BadInput("--threshold needs --stewards A,B,C", code="bad_usage")
        actions.append(SetStewards(keys, f.threshold or 1))
    base = currency.governance.rules() if currency.governance is not None else None
    rules = rules_from_flags(
        base,
        governance=f.governance,
        voting_period=f.voting_period,
        quorum_pct=f.quorum_pct,
        majority_pct=f.majority_pct,
        admission=f.admission,
    )
    if rules is not None:
        actions.append(SetRules(rules))
    if f.demurrage is not None:
        actions.append(SetDemurrage(parse_rate(f.demurrage, "--demurrage")))
    if f.levy is not None:
        actions.append(SetLevy(parse_rate(f.levy, "--levy")))
    if f.max_balance is not None:
        actions.append(SetMaxBalance(amount(f.max_balance, places, allow_zero=True)))
    if f.fund_credit_limit is not None:
        actions.append(SetFundCreditLimit(amount(f.fund_credit_limit, places, allow_zero=True)))
    for pair in f.pay_from_fund:
        name, value = parse_pair(pair, "--pay-from-fund")
        actions.append(PayFromFund(who(name), amount(value, places)))
    return actions


def _made(
    s: Session, currency: CurrencyView, tx: Transaction, result: TxResultView
) -> tuple[dict[str, Any], list[str]]:
    """The new proposal's id, found once its ledger closed (the number is given by the ledger)."""
    if result.status != "applied" or result.ledger is None:
        return {"proposal": None}, ["the proposal's id is known once a ledger includes it (use --wait)"]
    op = next(o for o in tx.body.operations if isinstance(o, Propose))
    close_time = s.client.ledger_close_time(result.ledger)
    proposer = encode_account(tx.body.source)
    page = s.client.proposals(currency=currency.code, limit=50)
    for item in page.items:
        if item.proposer == proposer and item.created_ms == close_time and item.title == op.title:
            notes = [f"proposal {item.proposal} is {item.status}"]
            if item.status == "open":
                notes.append(
                    f"votes close {_when(item.deadline)}; vote with `tally proposal vote {item.proposal} yes`"
                )
            return {"proposal": item.proposal, "proposal_status": item.status}, notes
    return {"proposal": None}, ["the proposal was applied but could not be found; see `tally proposal list`"]


@app.command("vote")
@transaction_command
def vote(
    proposal_id: IdArg,
    choice: Annotated[Choice, typer.Argument(metavar="yes|no|abstain", case_sensitive=False)],
    *,
    tx: TxOptions,
) -> None:
    """Vote on a proposal: yes, no or abstain.

    Abstaining counts towards the quorum, not the majority. A vote is final: a second one is
    refused.

    Examples:
      tally proposal vote DEMOS-3 yes --wallet bob --wait
      tally proposal vote DEMOS-3 abstain
    """
    with session(tx.as_json, tx.node) as s:
        code, number = parse_proposal_id(proposal_id)
        found = s.currency(code)
        source = s.source_key(tx.wallet, tx.source)
        op = CastVote(found.code, number, VoteChoice(choice.value))
        run_transaction(s, tx, [op], _units(found), source)


@app.command("show")
def show(proposal_id: IdArg, node: NodeOpt = None, as_json: JsonOpt = False) -> None:
    """A proposal: what it changes, the votes so far, the deadline, the outcome.

    Examples:
      tally proposal show DEMOS-3
      tally proposal show DEMOS-3 --json
    """
    with session(as_json, node) as s:
        code, number = parse_proposal_id(proposal_id)
        found = s.client.proposal(f"{code}-{number}")
        if found is None:
            raise BadInput(f"there is no proposal {code}-{number} on this ledger", code="no_proposal")
        currency = s.currency(code)
        s.emit(_proposal_json(found), lambda console: _print(s, console, found, currency, full=True))


@app.command("list")
def list_(
    currency: Annotated[
        str | None, typer.Option("--currency", metavar="CODE", help="One currency (default: every open one).")
    ] = None,
    status: Annotated[
        str | None, typer.Option("--status", metavar="open|passed|rejected|failed", help="Only these.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100, help="At most this many.")] = 20,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Proposals, newest first: of one currency, or the open ones of every currency.

    Examples:
      tally proposal list
      tally proposal list --currency DEMOS --status passed
    """
    with session(as_json, node) as s:
        if status is not None and status not in ("open", "passed", "rejected", "failed"):
            raise BadInput("--status is open, passed, rejected or failed", code="bad_usage")
        code = currency.upper() if currency else None
        page = s.client.proposals(currency=code, status=status or (None if code else "open"), limit=limit)
        units = {c: s.currency(c) for c in {p.currency for p in page.items}}

        def human(console: Console) -> None:
            if not page.items:
                console.print("no proposals", markup=False)
            for item in page.items:
                _print(s, console, item, units[item.currency], full=False)

        s.emit({"items": [_proposal_json(p) for p in page.items], "next": page.next}, human)


def _proposal_json(p: ProposalView) -> dict[str, Any]:
    return {
        "proposal": p.proposal,
        "currency": p.currency,
        "number": p.number,
        "title": p.title,
        "status": p.status,
        "yes": p.yes,
        "no": p.no,
        "abstain": p.abstain,
        "electorate": p.electorate,
        "quorum_pct": p.quorum_pct,
        "majority_pct": p.majority_pct,
        "passing": p.passing,
        "deadline": p.deadline,
        "created_ms": p.created_ms,
        "proposer": p.proposer,
        "decided_by": p.decided_by,
        "text_hash": p.text_hash,
        "failure": p.failure,
        "failure_explanation": p.failure_explanation,
        "failed_action": p.failed_action,
        "actions": [describe_action(a, p.currency, lambda v, c: str(v), encode_account) for a in p.actions],
    }


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _print(s: Session, console: Console, p: ProposalView, currency: CurrencyView, *, full: bool) -> None:
    namer = s.namer()
    cast = p.yes + p.no + p.abstain
    state = {"open": f"open until {_when(p.deadline)}", "passed": "passed", "rejected": "rejected"}
    head = state.get(p.status, f"failed: {p.failure_explanation or p.failure}")
    console.print(f"{p.proposal}  {p.title}  [{head}]", markup=False)
    if p.decided_by == "members":
        console.print(
            f"  votes: {p.yes} yes, {p.no} no, {p.abstain} abstain — {cast} of {p.electorate} members voted; "
            f"needs {p.quorum_pct} % to vote and {p.majority_pct} % yes",
            markup=False,
        )
    if full:
        console.print(
            f"  proposed by {namer(parse_address(p.proposer))} on {_when(p.created_ms)}", markup=False
        )
        for action in p.actions:
            console.print(
                f"  - {describe_action(action, p.currency, _amount_words(currency), namer)}", markup=False
            )
        if p.status == "open":
            console.print(f"  if counted now it would {'pass' if p.passing else 'not pass'}", markup=False)
