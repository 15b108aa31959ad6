"""The member's words for refusals of the designs of protocol version 3, built from the node's
figures (``node/design_refusals.py``): ``over quota: care-org has 1.00 h of its 10.00 h left,
asked 3.00 h``, ``stale rate: the agreement is at version 3, this payment was signed for 2``…

``DesignFigures`` are the figures only these codes send; ``wallet.views.Figures`` carries them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from protocol.results import ResultCode
from wallet.fields import Fields

if TYPE_CHECKING:
    from wallet.refusals import Refusal

R = ResultCode


@dataclass(frozen=True, slots=True)
class DesignFigures:
    quota: int | None = None
    credited: int | None = None
    version: int | None = None
    signed_version: int | None = None
    send_max: int | None = None
    partner: str | None = None
    limit: int | None = None
    position: int | None = None
    partner_limit: int | None = None
    partner_position: int | None = None
    due_ms: int | None = None
    approvals: int | None = None

    @classmethod
    def parse(cls, f: Fields) -> DesignFigures:
        return cls(
            f.opt_integer("quota", 0),
            f.opt_integer("credited", 0),
            f.opt_integer("version", 0),
            f.opt_integer("signed_version", 0),
            f.opt_integer("send_max", 0),
            f.opt_text("partner", 12),
            f.opt_integer("limit", 0),
            f.opt_integer("position"),
            f.opt_integer("partner_limit", 0),
            f.opt_integer("partner_position"),
            f.opt_integer("due_ms", 0),
            f.opt_integer("approvals", 0),
        )


NO_DESIGN_FIGURES = DesignFigures()


def _quota(r: Refusal) -> str:
    d = r.figures.designs
    left = None if d.quota is None or d.credited is None else max(0, d.quota - d.credited)
    return (
        f"over quota: {r.currency} lets this organisation credit {r.amount(d.quota)} in all; "
        f"{r.amount(left)} are left, asked {r.amount(r.figures.asked)} (its guarantor can raise the quota)"
    )


def _not_accredited(r: Refusal) -> str:
    return (
        f"{r.account(r.figures.account)} is not accredited to credit hours in {r.currency} "
        f"(its guarantor accredits with `tally credits accredit`)"
    )


def _only_with(spent: str, who: str, where: str) -> Callable[[Refusal], str]:
    """The message of a currency that holders may pay only to some accounts."""

    def explain(r: Refusal) -> str:
        return (
            f"{r.currency} {spent} only with {who}, and {r.account(r.figures.account)} is not one: "
            f"see `{where} {r.currency}`"
        )

    return explain


def _stale(r: Refusal) -> str:
    d = r.figures.designs
    return (
        f"stale rate: the communities' agreement is now at version {d.version}, this payment was signed "
        f"for version {d.signed_version}; see `tally exchange show` and pay again"
    )


def _send_max(r: Refusal) -> str:
    d = r.figures.designs
    return f"at the agreed rate this costs {r.amount(r.figures.asked)}, more than the most signed for ({r.amount(d.send_max)})"


def _exchange_limit(r: Refusal) -> str:
    d = r.figures.designs
    return (
        f"over the exchange limit: {r.currency}'s clearing account stands at {r.amount(d.position)} of "
        f"±{r.amount(d.limit)}, {d.partner}'s at {d.partner_position} of ±{d.partner_limit} minor units; "
        "a smaller amount, or a payment the other way, may pass"
    )


def _not_due(r: Refusal) -> str:
    due = r.figures.designs.due_ms
    when = "?" if due is None else datetime.fromtimestamp(due / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"the recovery is not due yet: it can finish from {when}; until then the owner's key can cancel it"


def _too_few(r: Refusal) -> str:
    d = r.figures.designs
    return f"too few guardians: {d.approvals} approved the same new key, {r.figures.threshold} must"


def _not_guardian(r: Refusal) -> str:
    return f"you are not one of the guardians {r.account(r.figures.account)} named"


DESIGN_MESSAGES: dict[str, Callable[[Refusal], str | None]] = {
    R.OVER_QUOTA.value: _quota,
    R.NOT_ACCREDITED.value: _not_accredited,
    R.NOT_REGISTERED.value: _only_with("is spent", "registered businesses", "tally currency businesses"),
    R.NOT_PROVIDER.value: _only_with(
        "credits are redeemed", "accredited care providers", "tally credits report"
    ),
    R.STALE_RATE.value: _stale,
    R.OVER_SEND_MAX.value: _send_max,
    R.OVER_EXCHANGE_LIMIT.value: _exchange_limit,
    R.RECOVERY_NOT_DUE.value: _not_due,
    R.TOO_FEW_GUARDIANS.value: _too_few,
    R.NOT_GUARDIAN.value: _not_guardian,
}
