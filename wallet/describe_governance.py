"""Governance operations (protocol version 2) in plain words, for ``describe_operation``."""

from __future__ import annotations

from collections.abc import Callable
from typing import assert_never

from protocol.designs.actions import AgreeExchange, DelistBusiness, ListBusiness, SetAccreditation
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
from protocol.governance.operations import CastVote, GovernanceOperation, LeaveCurrency, Propose, Vouch
from wallet.describe_designs import describe_design_action

Namer = Callable[[bytes], str]
Amount = Callable[[int, str], str]


def describe_governance(op: GovernanceOperation, amount: Amount, name: Namer) -> str:
    match op:
        case Propose(currency, title, _hash, actions):
            listed = "; ".join(describe_action(a, currency, amount, name) for a in actions)
            return f"propose to {currency} “{title}”: {listed}"
        case CastVote(currency, number, choice):
            return f"vote {choice.value} on proposal {currency}-{number}"
        case Vouch(currency, candidate):
            return f"vouch for {name(candidate)} to join {currency}"
        case LeaveCurrency(currency):
            return f"leave {currency} (a positive balance goes to its commons fund)"
        case _:
            assert_never(op)


def describe_action(action: Action, code: str, amount: Amount, name: Namer) -> str:
    match action:
        case SetDefaultCreditLimit(limit):
            return f"set the default credit limit to {amount(limit, code)}"
        case SetMemberCreditLimit(member, limit):
            return f"set the credit limit of {name(member)} to {amount(limit, code)}"
        case Admit(member, limit):
            return f"admit {name(member)}" + (
                "" if limit is None else f" with credit limit {amount(limit, code)}"
            )
        case Reinstate(member):
            return f"reinstate {name(member)}"
        case Suspend(member):
            return f"suspend {name(member)}"
        case Expel(member):
            return f"expel {name(member)} (their balance moves to the commons fund)"
        case SetStewards(stewards, threshold):
            return f"make {', '.join(name(s) for s in stewards)} the stewards, {threshold} of them must sign"
        case SetRules(rules):
            return (
                f"governance by {rules.policy.value}: votes last {rules.voting_period_s} s, quorum "
                f"{rules.quorum_pct} %, majority {rules.majority_pct} %; admission {rules.admission_text}"
            )
        case SetDemurrage(rate):
            return f"set demurrage to {rate / 10_000:g} % a year"
        case SetLevy(rate):
            return f"set the levy to {rate / 10_000:g} % of each payment"
        case SetMaxBalance(ceiling):
            return (
                "remove the balance ceiling"
                if ceiling == 0
                else f"set the balance ceiling to {amount(ceiling, code)}"
            )
        case SetFundCreditLimit(limit):
            return f"let the commons fund owe up to {amount(limit, code)}"
        case PayFromFund(destination, value):
            return f"pay {amount(value, code)} from the commons fund to {name(destination)}"
        case SetAccreditation() | ListBusiness() | DelistBusiness() | AgreeExchange():
            return describe_design_action(action, code, amount, name)
        case _:
            assert_never(action)
