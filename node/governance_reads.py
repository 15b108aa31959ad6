"""Governance as the API reads it: proposals (one, a currency's newest first, or every open one
network-wide) and commons funds, from the committed state of the last closed ledger.

Proposals are numbered 1, 2, … per currency, so a currency's list is point reads from its latest
number down; the open ones of every currency are exactly the deadline queue's entries, so listing
them needs no scan of the state either.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.governance.entries import (
    DEADLINE_INDEX_KEY,
    DeadlineBucket,
    DeadlineIndex,
    Proposal,
    ProposalStatus,
    deadline_bucket_key,
    proposal_key,
)
from protocol.governance.fund import fund_address
from protocol.state import Currency, Holding, StateOverlay, StateReader

MAX_SCANNED = 2_000  # proposals read for one filtered page; the cursor continues from there


@dataclass(frozen=True, slots=True)
class ProposalPage:
    items: list[Proposal]
    next_before: int | None  # pass as ``before`` for the next page (None: no more)


class GovernanceReads:
    def __init__(self, state: StateReader) -> None:
        self._state = state

    def _overlay(self) -> StateOverlay:
        return StateOverlay(self._state)

    def proposal(self, code: str, number: int) -> Proposal | None:
        found = self._overlay().get(proposal_key(code, number))
        return found if isinstance(found, Proposal) else None

    def proposals(
        self,
        currency: Currency,
        limit: int,
        *,
        before: int | None = None,
        status: ProposalStatus | None = None,
    ) -> ProposalPage:
        """A currency's proposals, newest first, numbered below ``before``, of ``status`` if given."""
        overlay = self._overlay()
        top = (
            currency.extension.proposals if before is None else min(before - 1, currency.extension.proposals)
        )
        items: list[Proposal] = []
        number = top
        scanned = 0
        while number >= 1 and len(items) < limit and scanned < MAX_SCANNED:
            found = overlay.get(proposal_key(currency.code, number))
            scanned += 1
            if isinstance(found, Proposal) and (status is None or found.status is status):
                items.append(found)
            number -= 1
        return ProposalPage(items, number + 1 if number >= 1 else None)

    def open_proposals(self, limit: int) -> list[Proposal]:
        """Open proposals of every currency, soonest deadline first."""
        overlay = self._overlay()
        index = overlay.get(DEADLINE_INDEX_KEY)
        found: list[Proposal] = []
        for hour in index.hours if isinstance(index, DeadlineIndex) else ():
            bucket = overlay.get(deadline_bucket_key(hour))
            for _deadline, code, number in bucket.items if isinstance(bucket, DeadlineBucket) else ():
                proposal = overlay.get(proposal_key(code, number))
                if isinstance(proposal, Proposal):
                    found.append(proposal)
                if len(found) >= limit:
                    return found
        return found

    def fund(self, code: str) -> Holding | None:
        return self._overlay().holding(fund_address(code), code)
