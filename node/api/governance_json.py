"""JSON shapes of the governance operations and proposal actions (protocol version 2).

Kept beside ``views.py`` so its ``operation_json`` stays one small ``match``; amounts are integers
in the currency's minor units, keys are addresses, as everywhere in the API.
"""

from __future__ import annotations

from typing import Any, assert_never

from node.api.designs_json import design_action_json
from protocol.addresses import encode_account
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
    action_name,
)
from protocol.governance.operations import CastVote, GovernanceOperation, LeaveCurrency, Propose, Vouch
from protocol.governance.rules import GovernanceRules


def governance_operation_json(op: GovernanceOperation) -> dict[str, Any]:
    match op:
        case Propose(currency, title, text_hash, actions):
            return {
                "type": "propose",
                "currency": currency,
                "title": title,
                "text_hash": text_hash.hex() if text_hash else None,
                "actions": [action_json(a) for a in actions],
            }
        case CastVote(currency, number, choice):
            return {
                "type": "vote",
                "currency": currency,
                "proposal": f"{currency}-{number}",
                "choice": choice.value,
            }
        case Vouch(currency, candidate):
            return {"type": "vouch", "currency": currency, "candidate": encode_account(candidate)}
        case LeaveCurrency(currency):
            return {"type": "leave", "currency": currency}
        case _:
            assert_never(op)


def action_json(action: Action) -> dict[str, Any]:
    body: dict[str, Any] = {"action": action_name(action)}
    match action:
        case SetDefaultCreditLimit(limit) | SetFundCreditLimit(limit):
            body["credit_limit"] = limit
        case SetMemberCreditLimit(member, limit):
            body |= {"member": encode_account(member), "credit_limit": limit}
        case Admit(member, limit):
            body |= {"member": encode_account(member), "credit_limit": limit}
        case Reinstate(member) | Suspend(member) | Expel(member):
            body["member"] = encode_account(member)
        case SetStewards(stewards, threshold):
            body |= {"stewards": [encode_account(s) for s in stewards], "steward_threshold": threshold}
        case SetRules(rules):
            body |= rules_json(rules)
        case SetDemurrage(rate) | SetLevy(rate):
            body["rate_ppm"] = rate
        case SetMaxBalance(ceiling):
            body["max_balance"] = ceiling
        case PayFromFund(destination, amount):
            body |= {"to": encode_account(destination), "amount": amount}
        case SetAccreditation() | ListBusiness() | DelistBusiness() | AgreeExchange():
            body |= design_action_json(action)  # protocol version 3 (node.api.designs_json)
        case _:
            assert_never(action)
    return body


def rules_json(rules: GovernanceRules) -> dict[str, Any]:
    return {
        "governance": rules.policy.value,
        "voting_period_s": rules.voting_period_s,
        "quorum_pct": rules.quorum_pct,
        "majority_pct": rules.majority_pct,
        "admission": rules.admission_text,
    }
