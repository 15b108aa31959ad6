"""The governance pages: ``/web/proposals?currency=CODE`` (a currency's open proposals, then the
decided ones newest first, paged; without a currency every open proposal on the ledger),
``/web/proposals/{id}`` (one proposal: its actions in plain words, the count with what it needs to
pass, the deadline, how it ended and in which ledger) and the count's fragment, which the live
script fetches again when a vote arrives or the deadline passes.

They read what ``GET /proposals`` reads (``node.governance_reads``); titles people wrote go
through the templates' autoescaping like every memo.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from node.api.explorer import ExplorerNode
from node.api.governance import PROPOSAL_ID
from node.api.governance_json import proposal_json
from node.clock import wall_ms
from node.governance_reads import GovernanceReads
from node.web import charts, inputs
from node.web import format as fmt
from node.web.context import shared_context
from node.web.site import Page, PageError
from protocol.governance.entries import Proposal, ProposalStatus
from protocol.governance.proposals import MAX_OPEN_PROPOSALS, passes
from protocol.operations import valid_code
from protocol.state import Currency

DECIDED_PAGE = 20
OPEN_SHOWN = 100  # open proposals of every currency on the page without ?currency=
REFRESH_EVERY_MS = 60_000  # the live script refreshes an open count at least this often


@dataclass(frozen=True, slots=True)
class Tally:
    """A proposal's count as the page shows it: the votes so far against what passing needs."""

    proposal: Proposal
    json: dict[str, Any]  # the API's view (actions and failure as the API names them)
    turnout: int
    quorum_votes: int  # votes (yes, no or abstain) the quorum needs
    quorum_met: bool
    majority_yes: int  # yes votes the majority needs, given the yes and no cast so far
    majority_met: bool
    passing: bool  # whether it would pass if counted now
    deadline_text: str  # "in 3 h 20 min" / "2 h ago"
    decided_ledger: int | None
    bar: Any  # the SVG (markupsafe.Markup)

    @property
    def is_open(self) -> bool:
        return self.proposal.status is ProposalStatus.OPEN


def count(page: Page, proposal: Proposal, decided_ledger: int | None, now_ms: int) -> Tally:
    yes, no, abstain, electorate = proposal.yes, proposal.no, proposal.abstain, proposal.electorate
    turnout = yes + no + abstain
    decisive = yes + no
    return Tally(
        proposal=proposal,
        json=proposal_json(proposal),
        turnout=turnout,
        quorum_votes=-(-proposal.quorum_pct * electorate // 100),
        quorum_met=turnout * 100 >= proposal.quorum_pct * electorate,
        majority_yes=max(-(-proposal.majority_pct * decisive // 100), no + 1),
        majority_met=yes > no and yes * 100 >= proposal.majority_pct * decisive,
        passing=passes(proposal),
        deadline_text=fmt.relative(proposal.deadline_ms, now_ms, page.gettext),
        decided_ledger=decided_ledger,
        bar=charts.vote_bar(
            f"votes-{proposal.number}",
            page.gettext("Votes so far, out of %(count)s members") % {"count": electorate},
            [
                charts.Share("yes", yes, page.gettext("Yes: %(count)s") % {"count": yes}),
                charts.Share("no", no, page.gettext("No: %(count)s") % {"count": no}),
                charts.Share("abstain", abstain, page.gettext("Abstain: %(count)s") % {"count": abstain}),
            ],
            electorate,
            proposal.quorum_pct,
        ),
    )


class GovernancePages:
    def __init__(self, node: ExplorerNode) -> None:
        self.node = node
        self.reads = node.reads
        self.governance = GovernanceReads(node.reads.store)

    def _tally(self, page: Page, proposal: Proposal) -> Tally:
        decided = None
        if proposal.status is not ProposalStatus.OPEN:
            decided = self.reads.ledger_closed_at_or_after(proposal.deadline_ms)
        return count(page, proposal, decided, wall_ms())

    def _proposal(self, page: Page) -> Proposal:
        text = page.request.path_params["proposal_id"]
        match = PROPOSAL_ID.fullmatch(text.upper()) if len(text) <= 24 else None
        number = int(match.group(2)) if match else 0
        if match is None or not valid_code(match.group(1)) or not 1 <= number <= inputs.UINT32_MAX:
            raise PageError(
                400,
                inputs.say(
                    page.gettext("A proposal is named by its currency and number, like %(example)s."),
                    example=inputs.verbatim("HOUR-3"),
                ),
            )
        found = self.governance.proposal(match.group(1), number)
        if found is None:
            raise PageError(
                404,
                inputs.say(
                    page.gettext("There is no proposal %(id)s on this ledger."),
                    id=inputs.verbatim(f"{match.group(1)}-{number}"),
                ),
            )
        return found

    async def proposal_page(self, page: Page) -> Response:
        proposal = self._proposal(page)
        tally = self._tally(page, proposal)
        context: dict[str, Any] = {**shared_context(self.node, page), "tally": tally, "p": proposal}
        if tally.is_open:
            context["events"] = (
                f"/events?currency={proposal.currency}&ledgers=1&last_event_id={self.reads.last.seq}"
            )
        return page.render("proposal.html", context)

    async def tally_fragment(self, page: Page) -> Response:
        proposal = self._proposal(page)
        return page.render(
            "fragments/proposal_tally.html",
            {**shared_context(self.node, page), "tally": self._tally(page, proposal), "p": proposal},
        )

    async def proposals_page(self, page: Page) -> Response:
        params = page.request.query_params
        code = params.get("currency")
        if not code:
            items = self.governance.open_proposals(OPEN_SHOWN)
            return page.render(
                "proposals.html",
                {
                    **shared_context(self.node, page),
                    "currency": None,
                    "open": [self._tally(page, p) for p in items],
                    "decided": [],
                    "older": None,
                    "paged": False,
                    "currencies": [c for c in self.reads.currencies() if c.extension.proposals],
                },
            )
        currency = inputs.currency(page, self.reads, code)
        before = inputs.page_number(page, params.get("before"))
        decided, older = self._decided(currency, before)
        return page.render(
            "proposals.html",
            {
                **shared_context(self.node, page),
                "currency": currency,
                "open": [] if before is not None else [self._tally(page, p) for p in self._open(currency)],
                "decided": [self._tally(page, p) for p in decided],
                "older": older,
                "paged": before is not None,
                "currencies": [],
            },
        )

    def _open(self, currency: Currency) -> list[Proposal]:
        """A currency's open proposals (at most ``MAX_OPEN_PROPOSALS``), soonest deadline first."""
        wanted = currency.extension.open_proposals
        if wanted <= 0:
            return []
        found = self.governance.proposals(
            currency, min(wanted, MAX_OPEN_PROPOSALS), status=ProposalStatus.OPEN
        ).items
        return sorted(found, key=lambda p: (p.deadline_ms, p.number))

    def _decided(self, currency: Currency, before: int | None) -> tuple[list[Proposal], int | None]:
        """A page of decided proposals, newest first, and the cursor of the next page."""
        scanned = self.governance.proposals(currency, DECIDED_PAGE + MAX_OPEN_PROPOSALS, before=before)
        decided = [p for p in scanned.items if p.status is not ProposalStatus.OPEN]
        shown = decided[:DECIDED_PAGE]
        more = len(decided) > DECIDED_PAGE or scanned.next_before is not None
        return shown, shown[-1].number if shown and more else None
