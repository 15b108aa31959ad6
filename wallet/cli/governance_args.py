"""Reading governance input from the command line: durations (``30s``, ``7d``), percentages,
``MEMBER=AMOUNT`` pairs, proposal ids (``DEMOS-3``), and the rules a currency is created or
re-governed with."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from protocol.governance.rules import (
    DEFAULT_RULES,
    MAX_VOTING_PERIOD_S,
    MIN_VOTING_PERIOD_S,
    GovernancePolicy,
    GovernanceRules,
    admission_from_text,
)
from wallet.errors import BadInput

GovernanceOpt = Annotated[
    str | None,
    typer.Option("--governance", metavar="members|stewards", help="Who decides proposals (stewards)."),
]
VotingPeriodOpt = Annotated[
    str | None, typer.Option("--voting-period", metavar="30s|10m|2h|7d", help="How long votes run (7d).")
]
QuorumOpt = Annotated[
    int | None, typer.Option("--quorum-pct", min=0, max=100, help="Share of members who must vote (25).")
]
MajorityOpt = Annotated[
    int | None,
    typer.Option(
        "--majority-pct", min=50, max=100, help="Share of yes among yes + no (50: more yes than no)."
    ),
]
AdmissionOpt = Annotated[
    str | None,
    typer.Option("--admission", metavar="stewards|vouch:N|vote", help="How newcomers join (stewards)."),
]
DemurrageOpt = Annotated[
    str | None, typer.Option("--demurrage", metavar="PCT", help="Yearly demurrage on positive balances, %.")
]

_DURATION = re.compile(r"(\d{1,9})\s*(s|m|h|d)?")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, None: 1}
_PROPOSAL_ID = re.compile(r"([A-Za-z0-9]{1,12})-(\d{1,10})")
_PERCENT = re.compile(r"(\d{1,3})(?:\.(\d{1,4}))?\s*%?")


def parse_duration(text: str, what: str = "--voting-period") -> int:
    """``30s``, ``5m``, ``2h``, ``7d`` (or plain seconds) → seconds, within the voting bounds."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None:
        raise BadInput(f"{what} {text!r}: write a duration like 30s, 10m, 2h or 7d", code="bad_usage")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if not MIN_VOTING_PERIOD_S <= seconds <= MAX_VOTING_PERIOD_S:
        raise BadInput(f"{what} must be between 30s and 90d (got {text})", code="bad_voting_period")
    return seconds


def parse_rate(text: str, what: str) -> int:
    """A percentage (``2.5`` or ``2.5%``) → parts per million."""
    match = _PERCENT.fullmatch(text.strip())
    if match is None:
        raise BadInput(f"{what} {text!r}: write a percentage like 5 or 2.5", code="bad_usage")
    ppm = int(match.group(1)) * 10_000 + int((match.group(2) or "").ljust(4, "0"))
    if ppm > 1_000_000:
        raise BadInput(f"{what} {text!r} is more than 100 %", code="bad_usage")
    return ppm


def parse_pair(text: str, what: str) -> tuple[str, str]:
    """``bob=5`` → ("bob", "5")."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise BadInput(f"{what} {text!r}: write MEMBER=AMOUNT, e.g. bob=5", code="bad_usage")
    return name.strip(), value.strip()


def parse_proposal_id(text: str) -> tuple[str, int]:
    """``DEMOS-3`` → ("DEMOS", 3)."""
    match = _PROPOSAL_ID.fullmatch(text.strip())
    if match is None or int(match.group(2)) < 1:
        raise BadInput(
            f"{text!r} is not a proposal id: write CODE-NUMBER, e.g. DEMOS-3", code="bad_proposal_id"
        )
    return match.group(1).upper(), int(match.group(2))


def rules_from_flags(
    base: GovernanceRules | None,
    *,
    governance: str | None,
    voting_period: str | None,
    quorum_pct: int | None,
    majority_pct: int | None,
    admission: str | None,
) -> GovernanceRules | None:
    """The rules the flags describe on top of ``base`` (the currency's rules, or the defaults);
    None when no flag was given."""
    if (
        governance is None
        and voting_period is None
        and quorum_pct is None
        and majority_pct is None
        and admission is None
    ):
        return None
    rules = base or DEFAULT_RULES
    policy = rules.policy
    if governance is not None:
        try:
            policy = GovernancePolicy(governance.strip().lower())
        except ValueError:
            raise BadInput(
                f"--governance {governance!r}: use members or stewards", code="bad_usage"
            ) from None
    policy_admission, vouches = rules.admission, rules.vouches_needed
    if admission is not None:
        try:
            policy_admission, vouches = admission_from_text(admission)
        except ValueError as exc:
            raise BadInput(f"--admission: {exc}", code="bad_usage") from None
    return GovernanceRules(
        policy,
        rules.voting_period_s if voting_period is None else parse_duration(voting_period),
        rules.quorum_pct if quorum_pct is None else quorum_pct,
        rules.majority_pct if majority_pct is None else majority_pct,
        policy_admission,
        vouches,
    )
