"""A currency's governance rules: who decides (its stewards or its members, one member one vote),
how long a vote runs, the quorum and majority, and how newcomers are admitted.

Chosen when the currency is created, changed only by a passed proposal. Balances never weigh a
vote: every member in good standing counts once, whatever they hold or owe.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from protocol import codec
from protocol.errors import DecodeError
from protocol.fields import CurrencyKind
from protocol.results import ResultCode

MIN_VOTING_PERIOD_S = 30  # a ledger closes at least every few seconds while votes arrive
MAX_VOTING_PERIOD_S = 90 * 24 * 3600  # also bounds the deadline queue (protocol.governance.deadlines)
MIN_MAJORITY_PCT = 50
MAX_VOUCHES = 10


class GovernancePolicy(enum.Enum):
    """Who decides proposals; the value is its stable name."""

    STEWARDS = "stewards"  # the steward multisig: a proposal signed by enough stewards runs at once
    MEMBERS = "members"  # one member, one vote, counted at the deadline


class AdmissionPolicy(enum.Enum):
    """How a newcomer becomes a member; the value is its stable name."""

    STEWARDS = "stewards"  # enough stewards sign an admit_member operation
    VOUCH = "vouch"  # ``vouches_needed`` members vouch (see protocol.governance.vouching)
    VOTE = "vote"  # a proposal with an admit action passes


_POLICY_CODES = {GovernancePolicy.STEWARDS: 0, GovernancePolicy.MEMBERS: 1}
_POLICY_BY_CODE = {code: policy for policy, code in _POLICY_CODES.items()}
_ADMISSION_CODES = {AdmissionPolicy.STEWARDS: 0, AdmissionPolicy.VOUCH: 1, AdmissionPolicy.VOTE: 2}
_ADMISSION_BY_CODE = {code: policy for policy, code in _ADMISSION_CODES.items()}


@dataclass(frozen=True, slots=True)
class GovernanceRules:
    """A proposal passes when, at its deadline, the votes cast (yes, no and abstain) reach
    ``quorum_pct`` % of its electorate, yes outnumbers no, and yes is at least ``majority_pct`` %
    of yes + no. Under the ``stewards`` policy the voting fields are kept but unused."""

    policy: GovernancePolicy = GovernancePolicy.STEWARDS
    voting_period_s: int = 7 * 24 * 3600
    quorum_pct: int = 25
    majority_pct: int = 50
    admission: AdmissionPolicy = AdmissionPolicy.STEWARDS
    vouches_needed: int = 0  # 1..MAX_VOUCHES under ``vouch``, otherwise 0

    @property
    def admission_text(self) -> str:
        """``stewards``, ``vouch:N`` or ``vote`` (the form the CLI and API use)."""
        if self.admission is AdmissionPolicy.VOUCH:
            return f"vouch:{self.vouches_needed}"
        name: str = self.admission.value
        return name


DEFAULT_RULES = GovernanceRules()


def rules_refusal(rules: GovernanceRules, kind: CurrencyKind) -> ResultCode | None:
    """Why these rules cannot govern a currency of ``kind``, or None when they can.

    Issued currencies have holders, not members, so only their stewards can govern and admit
    (a vote among holders would let anyone with a few cents open accounts and outvote a town).
    """
    if not MIN_VOTING_PERIOD_S <= rules.voting_period_s <= MAX_VOTING_PERIOD_S:
        return ResultCode.BAD_VOTING_PERIOD
    vouches_ok = (
        1 <= rules.vouches_needed <= MAX_VOUCHES
        if rules.admission is AdmissionPolicy.VOUCH
        else rules.vouches_needed == 0
    )
    if not (0 <= rules.quorum_pct <= 100 and MIN_MAJORITY_PCT <= rules.majority_pct <= 100 and vouches_ok):
        return ResultCode.BAD_GOVERNANCE_RULES
    if kind is CurrencyKind.ISSUED and (
        rules.policy is not GovernancePolicy.STEWARDS or rules.admission is not AdmissionPolicy.STEWARDS
    ):
        return ResultCode.WRONG_KIND
    return None


def founders_needed(rules: GovernanceRules) -> int:
    """Up to how many members the stewards admit directly (``admit_member``).

    Always under the ``stewards`` admission policy. Under ``vouch:N`` until there are N members
    (before that nobody could gather N vouches), and under ``vote`` until there is one member (a
    proposal needs a member to make it when members govern): a new community must be able to
    start.
    """
    match rules.admission:
        case AdmissionPolicy.STEWARDS:
            return 1 << 63
        case AdmissionPolicy.VOUCH:
            return rules.vouches_needed
        case AdmissionPolicy.VOTE:
            return 1


def admission_from_text(text: str) -> tuple[AdmissionPolicy, int]:
    """``"vouch:3"`` → (VOUCH, 3); ``"stewards"`` / ``"vote"`` → (policy, 0).

    Raises:
        ValueError: not one of the three forms (the message lists them).
    """
    name, _, count = text.strip().lower().partition(":")
    try:
        policy = AdmissionPolicy(name)
    except ValueError:
        raise ValueError(f"{text!r} is not an admission policy: use stewards, vouch:N or vote") from None
    if policy is AdmissionPolicy.VOUCH:
        if not count.isascii() or not count.isdigit() or not 1 <= int(count) <= MAX_VOUCHES:
            raise ValueError(f"vouch needs a number of vouches from 1 to {MAX_VOUCHES}, e.g. vouch:3")
        return policy, int(count)
    if count:
        raise ValueError(f"{name} takes no number (only vouch:N does)")
    return policy, 0


def encode_rules(rules: GovernanceRules) -> tuple[object, ...]:
    return (
        _POLICY_CODES[rules.policy],
        rules.voting_period_s,
        rules.quorum_pct,
        rules.majority_pct,
        _ADMISSION_CODES[rules.admission],
        rules.vouches_needed,
    )


def decode_rules(obj: object) -> GovernanceRules:
    """Decode rules (types and hard bounds only; ``rules_refusal`` judges the values)."""
    policy, period, quorum, majority, admission, vouches = codec.array(obj, 6, "governance rules")
    policy_code = codec.integer(policy, "governance policy", hi=255)
    admission_code = codec.integer(admission, "admission policy", hi=255)
    if policy_code not in _POLICY_BY_CODE:
        raise DecodeError(f"governance rules: unknown policy {policy_code}")
    if admission_code not in _ADMISSION_BY_CODE:
        raise DecodeError(f"governance rules: unknown admission policy {admission_code}")
    return GovernanceRules(
        _POLICY_BY_CODE[policy_code],
        codec.integer(period, "voting period", hi=codec.UINT32_MAX),
        codec.integer(quorum, "quorum", hi=255),
        codec.integer(majority, "majority", hi=255),
        _ADMISSION_BY_CODE[admission_code],
        codec.integer(vouches, "vouches needed", hi=255),
    )
