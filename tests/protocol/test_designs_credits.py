"""Guaranteed time credits: a guarantor accredits organisations with hour quotas, they credit
volunteers' hours (the guarantor's liability, visible to all), holders redeem with accredited care
providers, and credits never decay."""

from __future__ import annotations

from designs_support import CITY, GUARANTEED, HOUR_QUOTA, ORG, accreditation, care_currency, run, town
from governance_support import ALICE, BOB, CAROL, DAY, MEMBERS_RULES, Chain

from protocol.designs.actions import SetAccreditation
from protocol.designs.credits import outstanding
from protocol.designs.operations import Accredit, CreditHours
from protocol.designs.terms import Acceptance, CurrencyTerms
from protocol.governance.actions import Expel
from protocol.governance.operations import CastVote, LeaveCurrency, Propose, VoteChoice
from protocol.operations import AdmitMember, Payment
from protocol.results import ResultCode
from protocol.versions import PROTOCOL_V3

R = ResultCode


def _credit(chain: Chain, amount: int, volunteer: object = ALICE, org: object = ORG) -> ResultCode:
    return run(chain, org, CreditHours("CARE", volunteer.public_key, amount, "visiting Mrs. M")).code  # type: ignore[arg-type, attr-defined]


def _liability(chain: Chain) -> int:
    return outstanding(chain.currency("CARE"), chain.holding(CITY, "CARE"))


def test_the_guarantor_owes_every_credit_and_everyone_can_see_it() -> None:
    chain = town()
    guarantor = chain.holding(CITY, "CARE")
    assert guarantor is not None
    assert guarantor.member  # the first member, with no credit of its own
    assert guarantor.credit_limit == 0
    assert _credit(chain, 300) is R.OK
    assert _credit(chain, 150, volunteer=BOB) is R.OK
    assert chain.balance(ALICE, "CARE") == 300
    assert chain.balance(CITY, "CARE") == -450
    assert _liability(chain) == 450
    found = accreditation(chain, ORG)
    assert (found.credited, found.remaining) == (450, HOUR_QUOTA - 450)


def test_quotas_bound_what_an_organisation_credits_in_all() -> None:
    chain = town()
    assert _credit(chain, 600) is R.OK
    assert _credit(chain, 401) is R.OVER_QUOTA
    assert _credit(chain, 400) is R.OK
    assert _credit(chain, 1) is R.OVER_QUOTA
    assert run(chain, CITY, Accredit("CARE", ORG.public_key, 1500)).ok  # the guarantor raises it
    assert _credit(chain, 500) is R.OK
    assert run(chain, CITY, Accredit("CARE", ORG.public_key, 100)).ok  # lowered below what it credited
    assert _credit(chain, 1) is R.OVER_QUOTA
    assert accreditation(chain, ORG).credited == 1500


def test_a_withdrawn_accreditation_stops_credits_but_keeps_them() -> None:
    chain = town()
    assert _credit(chain, 200) is R.OK
    assert run(chain, CITY, Accredit("CARE", ORG.public_key, HOUR_QUOTA, active=False)).ok
    assert _credit(chain, 1) is R.NOT_ACCREDITED
    assert chain.balance(ALICE, "CARE") == 200
    assert run(chain, CITY, Accredit("CARE", CAROL.public_key, 5, active=False)).code is R.NOT_ACCREDITED
    assert run(chain, ALICE, Accredit("CARE", ALICE.public_key, 5)).code is R.NOT_GUARANTOR


def test_accrediting_makes_the_organisation_a_member_and_volunteers_must_be_members() -> None:
    chain = town()
    assert run(chain, CITY, Accredit("CARE", CAROL.public_key, 500)).ok
    carol = chain.holding(CAROL, "CARE")
    assert carol is not None
    assert carol.member
    outsider = CreditHours("CARE", ORG.public_key, 10, "help")
    assert run(chain, CAROL, outsider).ok  # ORG is a member too
    assert run(chain, CAROL, CreditHours("CARE", b"\x09" * 32, 10, "help")).code is R.DESTINATION_NOT_MEMBER


def test_holders_redeem_only_with_accredited_care_providers() -> None:
    chain = town()
    assert _credit(chain, 300) is R.OK
    assert run(chain, ALICE, Payment(BOB.public_key, "CARE", 100)).code is R.NOT_PROVIDER
    assert run(chain, ALICE, Payment(ORG.public_key, "CARE", 100)).ok  # care received: redeemed
    assert accreditation(chain, ORG).redeemed == 100
    # the provider settles with the guarantor: the liability shrinks
    assert run(chain, ORG, Payment(CITY.public_key, "CARE", 100)).ok
    assert _liability(chain) == 200
    assert chain.balance(CITY, "CARE") == -200


def test_peers_pay_each_other_where_the_currency_allows_it() -> None:
    chain = Chain(PROTOCOL_V3)
    peers = CurrencyTerms(guaranteed=True, accept=Acceptance.ANYONE)
    assert run(chain, CITY, care_currency(terms=peers)).ok
    assert run(chain, CITY, Accredit("CARE", ORG.public_key, 500), AdmitMember("CARE", ALICE.public_key)).ok
    assert run(chain, CITY, AdmitMember("CARE", BOB.public_key)).ok
    assert _credit(chain, 300) is R.OK
    assert run(chain, ALICE, Payment(BOB.public_key, "CARE", 100)).ok
    assert run(chain, BOB, Payment(ORG.public_key, "CARE", 100)).ok
    assert accreditation(chain, ORG).redeemed == 100


def test_credits_never_decay_and_the_guarantor_cannot_walk_away() -> None:
    chain = town()
    assert _credit(chain, 300) is R.OK
    chain.close(after_ms=20 * 365 * DAY)
    assert chain.balance(ALICE, "CARE") == 300
    assert run(chain, CITY, LeaveCurrency("CARE")).code is R.ISSUER_PROTECTED
    expel = Propose("CARE", "no guarantor", b"", (Expel(CITY.public_key),))
    assert run(chain, CITY, expel).code is R.ISSUER_PROTECTED


def test_where_members_govern_accreditation_is_decided_by_vote() -> None:
    chain = Chain(PROTOCOL_V3)
    assert run(chain, CITY, care_currency(rules=MEMBERS_RULES)).ok
    assert chain.currency("CARE").extension.terms == GUARANTEED
    assert run(chain, CITY, AdmitMember("CARE", ALICE.public_key)).ok
    assert run(chain, CITY, Accredit("CARE", ORG.public_key, 500)).code is R.NEEDS_PROPOSAL
    proposal = Propose("CARE", "accredit the care home", b"", (SetAccreditation(ORG.public_key, 500),))
    assert run(chain, ALICE, proposal).ok
    assert run(chain, ALICE, CastVote("CARE", 1, VoteChoice.YES)).ok
    assert run(chain, CITY, CastVote("CARE", 1, VoteChoice.YES)).ok
    chain.close(after_ms=3600 * 1000)  # the deadline: counted, passed, run
    assert accreditation(chain, ORG, "CARE").quota == 500
    assert _credit(chain, 500) is R.OK
