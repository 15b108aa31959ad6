"""JSON shapes of governance (protocol version 2): its operations and actions, proposals, the
commons fund, a currency's governance keys.

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
from protocol.governance.entries import Proposal
from protocol.governance.fund import fund_address
from protocol.governance.operations import CastVote, GovernanceOperation, LeaveCurrency, Propose, Vouch
from protocol.governance.proposals import passes
from protocol.governance.rules import GovernanceRules
from protocol.state import Currency, Holding


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


def proposal_json(proposal: Proposal) -> dict[str, Any]:
    """A proposal and its count; ``deadline`` is in ms since the epoch (ledger close time), and
    ``passing`` says whether the votes cast so far would pass it."""
    return {
        "proposal": proposal.id,
        "currency": proposal.currency,
        "number": proposal.number,
        "title": proposal.title,
        "text_hash": proposal.text_hash.hex() if proposal.text_hash else None,
        "proposer": encode_account(proposal.proposer),
        "actions": [action_json(a) for a in proposal.actions],
        "decided_by": proposal.policy.value,
        "status": proposal.status.value,
        "yes": proposal.yes,
        "no": proposal.no,
        "abstain": proposal.abstain,
        "electorate": proposal.electorate,
        "quorum_pct": proposal.quorum_pct,
        "majority_pct": proposal.majority_pct,
        "passing": passes(proposal),
        "created_ms": proposal.created_ms,
        "deadline": proposal.deadline_ms,
        "failure": None if proposal.failure is None else proposal.failure.value,
        "failure_explanation": None if proposal.failure is None else proposal.failure.explanation,
        "failed_action": None if proposal.failed_action < 0 else proposal.failed_action,
    }


def fund_json(currency: Currency, fund: Holding | None) -> dict[str, Any]:
    """A currency's commons fund: what it holds (credit it may use, in mutual currencies) and
    what feeds it."""
    balance = 0 if fund is None else fund.balance
    limit = 0 if fund is None else fund.credit_limit
    return {
        "code": currency.code,
        "address": encode_account(fund_address(currency.code)),
        "balance": balance,
        "credit_limit": limit,
        "available": balance + limit if currency.kind.is_mutual_credit else max(balance, 0),
        "levy_ppm": currency.extension.levy_ppm,
        "demurrage_ppm": currency.demurrage_ppm,
    }


def currency_governance_json(currency: Currency) -> dict[str, Any]:
    """The governance keys of ``GET /currencies/{code}`` (beside the version-1 ones)."""
    ext = currency.extension
    return {
        **rules_json(ext.rules),
        "levy_ppm": ext.levy_ppm,
        "fund": encode_account(fund_address(currency.code)),
        "proposals": ext.proposals,
        "open_proposals": ext.open_proposals,
    }
