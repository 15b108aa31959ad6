"""Typed views of the node's governance answers (``node/api/governance.py``,
``node/api/governance_json.py``): proposals, their actions (parsed back into the protocol's own
action types, so the wallet describes them with ``wallet.describe_governance``), commons funds,
member directories and a currency's governance keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from protocol.addresses import decode_account
from protocol.governance.actions import (
    ACTION_NAMES,
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
from protocol.governance.rules import GovernancePolicy, GovernanceRules, admission_from_text
from wallet.errors import BadResponse
from wallet.fields import UINT32_MAX, Fields

ProposalState = Literal["open", "passed", "rejected", "failed"]
_STATES: tuple[str, ...] = get_args(ProposalState)
_NAMES = {name: kind for kind, name in ACTION_NAMES.items()}


@dataclass(frozen=True, slots=True)
class CurrencyGovernance:
    """The governance keys of ``GET /currencies/{code}``."""

    policy: GovernancePolicy
    voting_period_s: int
    quorum_pct: int
    majority_pct: int
    admission: str  # stewards | vouch:N | vote
    levy_ppm: int
    fund: str
    proposals: int
    open_proposals: int

    @classmethod
    def parse(cls, f: Fields) -> CurrencyGovernance | None:
        if f.opt_text("governance", 16) is None:
            return None  # a node from before governance
        return cls(
            _policy(f),
            f.integer("voting_period_s", 0, UINT32_MAX),
            f.integer("quorum_pct", 0, 255),
            f.integer("majority_pct", 0, 255),
            f.text("admission", 16),
            f.integer("levy_ppm", 0, 1_000_000),
            f.address("fund"),
            f.integer("proposals", 0, UINT32_MAX),
            f.integer("open_proposals", 0, UINT32_MAX),
        )

    def rules(self) -> GovernanceRules:
        admission, vouches = admission_from_text(self.admission)
        return GovernanceRules(
            self.policy, self.voting_period_s, self.quorum_pct, self.majority_pct, admission, vouches
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "governance": self.policy.value,
            "voting_period_s": self.voting_period_s,
            "quorum_pct": self.quorum_pct,
            "majority_pct": self.majority_pct,
            "admission": self.admission,
            "levy_ppm": self.levy_ppm,
            "fund": self.fund,
            "proposals": self.proposals,
            "open_proposals": self.open_proposals,
        }


def _policy(f: Fields) -> GovernancePolicy:
    text = f.text("governance", 16)
    try:
        return GovernancePolicy(text)
    except ValueError:
        raise BadResponse(f"{f.where}.governance: unknown policy {text!r}") from None


def _key(f: Fields, key: str) -> bytes:
    return decode_account(f.address(key))


def parse_action(f: Fields) -> Action:
    """One action of ``proposal_json`` back as the protocol's action."""
    kind = _NAMES.get(f.text("action", 40))
    if kind is None:
        raise BadResponse(f"{f.where}.action: an action this wallet does not know")
    if kind in (SetDefaultCreditLimit, SetFundCreditLimit):
        return cast(Action, kind(f.integer("credit_limit", 0)))
    if kind is SetMemberCreditLimit:
        return SetMemberCreditLimit(_key(f, "member"), f.integer("credit_limit", 0))
    if kind is Admit:
        return Admit(_key(f, "member"), f.opt_integer("credit_limit", 0))
    if kind in (Reinstate, Suspend, Expel):
        return cast(Action, kind(_key(f, "member")))
    if kind is SetStewards:
        return SetStewards(
            tuple(decode_account(a) for a in f.addresses("stewards")), f.integer("steward_threshold", 1, 255)
        )
    if kind is SetRules:
        admission, vouches = admission_from_text(f.text("admission", 16))
        return SetRules(
            GovernanceRules(
                _policy(f),
                f.integer("voting_period_s", 0, UINT32_MAX),
                f.integer("quorum_pct", 0, 255),
                f.integer("majority_pct", 0, 255),
                admission,
                vouches,
            )
        )
    if kind in (SetDemurrage, SetLevy):
        return cast(Action, kind(f.integer("rate_ppm", 0, 1_000_000)))
    if kind is SetMaxBalance:
        return SetMaxBalance(f.integer("max_balance", 0))
    return PayFromFund(_key(f, "to"), f.integer("amount", 1))


@dataclass(frozen=True, slots=True)
class ProposalView:
    """``GET /proposals/{id}`` (and each item of ``GET /proposals``)."""

    proposal: str  # CODE-NUMBER
    currency: str
    number: int
    title: str
    text_hash: str | None
    proposer: str
    actions: tuple[Action, ...]
    decided_by: str
    status: ProposalState
    yes: int
    no: int
    abstain: int
    electorate: int
    quorum_pct: int
    majority_pct: int
    passing: bool
    created_ms: int
    deadline: int
    failure: str | None
    failure_explanation: str | None
    failed_action: int | None

    @classmethod
    def parse(cls, f: Fields) -> ProposalView:
        status = f.text("status", 16)
        if status not in _STATES:
            raise BadResponse(f"{f.where}.status: expected one of {', '.join(_STATES)}, got {status!r}")
        return cls(
            f.text("proposal", 24),
            f.text("currency", 12),
            f.integer("number", 1, UINT32_MAX),
            f.text("title", 80),
            f.opt_text("text_hash", 64),
            f.address("proposer"),
            f.list_of("actions", parse_action),
            f.text("decided_by", 16),
            cast(ProposalState, status),
            f.integer("yes", 0),
            f.integer("no", 0),
            f.integer("abstain", 0),
            f.integer("electorate", 0),
            f.integer("quorum_pct", 0, 255),
            f.integer("majority_pct", 0, 255),
            f.flag("passing"),
            f.integer("created_ms", 0),
            f.integer("deadline", 0),
            f.opt_text("failure", 64),
            f.opt_text("failure_explanation"),
            f.opt_integer("failed_action", 0, 255),
        )


@dataclass(frozen=True, slots=True)
class ProposalPage:
    items: tuple[ProposalView, ...]
    next: str | None

    @classmethod
    def parse(cls, f: Fields) -> ProposalPage:
        return cls(f.list_of("items", ProposalView.parse), f.opt_text("next", 16))


@dataclass(frozen=True, slots=True)
class FundView:
    """``GET /currencies/{code}/fund``."""

    code: str
    address: str
    balance: int
    credit_limit: int
    available: int
    levy_ppm: int
    demurrage_ppm: int

    @classmethod
    def parse(cls, f: Fields) -> FundView:
        return cls(
            f.text("code", 12),
            f.address("address"),
            f.integer("balance"),
            f.integer("credit_limit", 0),
            f.integer("available"),
            f.integer("levy_ppm", 0, 1_000_000),
            f.integer("demurrage_ppm", 0, 1_000_000),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "address": self.address,
            "balance": self.balance,
            "credit_limit": self.credit_limit,
            "available": self.available,
            "levy_ppm": self.levy_ppm,
            "demurrage_ppm": self.demurrage_ppm,
        }


@dataclass(frozen=True, slots=True)
class MemberView:
    """One holder in ``GET /currencies/{code}/members``."""

    address: str
    balance: int
    credit_limit: int
    available: int
    member: bool
    role: str
    last_activity_ms: int | None  # the close time of the ledger of their last transaction in it

    @classmethod
    def parse(cls, f: Fields) -> MemberView:
        last = f.nested("last_activity")
        return cls(
            f.address("address"),
            f.integer("balance"),
            f.integer("credit_limit", 0),
            f.integer("available"),
            f.flag("member"),
            f.opt_text("role", 16) or ("member" if f.flag("member") else "holder"),
            last.opt_integer("close_time_ms", 0),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "balance": self.balance,
            "credit_limit": self.credit_limit,
            "available": self.available,
            "member": self.member,
            "role": self.role,
            "last_activity_ms": self.last_activity_ms,
        }


@dataclass(frozen=True, slots=True)
class MembersPage:
    code: str
    items: tuple[MemberView, ...]
    next: str | None

    @classmethod
    def parse(cls, f: Fields) -> MembersPage:
        return cls(f.text("code", 12), f.list_of("items", MemberView.parse), f.opt_text("next", 120))
