"""What a proposal may do from protocol version 3: accredit an organisation (guaranteed time
credits), register or remove a business (spend-locally money), and agree an exchange with another
community. So a currency governed by its members decides these by vote, and one governed by its
stewards by a steward-signed proposal, like every other rule (``protocol.governance``).

Encoded without the action code, which ``protocol.governance.actions`` owns and prefixes. The
rules they run are the same functions the direct operations use (``protocol.designs.credits``,
``local``, ``exchange``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import assert_never

from protocol import codec
from protocol.designs.operations import business_texts, business_well_formed
from protocol.fields import decode_amount, decode_code, decode_key, valid_code

MAX_RATE_TERM = 10**15  # a rate is num/den of minor units; both bounded, so products stay small


@dataclass(frozen=True, slots=True)
class SetAccreditation:
    """Accredit ``organisation`` with a quota of ``quota`` hours (minor units), change its quota,
    or withdraw the accreditation (``active`` false)."""

    organisation: bytes
    quota: int
    active: bool = True


@dataclass(frozen=True, slots=True)
class ListBusiness:
    """Register (or update) a business that may be paid in this spend-locally currency."""

    business: bytes
    name: str
    category: str
    offer: str = ""


@dataclass(frozen=True, slots=True)
class DelistBusiness:
    """Remove a registered business: from now on holders cannot pay it."""

    business: bytes


@dataclass(frozen=True, slots=True)
class AgreeExchange:
    """This community agrees to exchange with ``partner``'s: ``rate_num`` minor units of the
    partner's currency for every ``rate_den`` minor units of its own, its clearing account within
    ``own_limit`` (minor units of its own currency) and the partner's within ``partner_limit``.

    The exchange runs once both communities agreed to the same terms; agreeing to different terms
    than those in force starts a new version, and exchanges pause until the partner agrees too.
    Limits of 0 pause exchanges for good, while positions can still be unwound.
    """

    partner: str
    rate_num: int
    rate_den: int
    own_limit: int
    partner_limit: int


DesignAction = SetAccreditation | ListBusiness | DelistBusiness | AgreeExchange


def encode_design_action(action: DesignAction) -> tuple[object, ...]:
    """The fields of ``action`` after its action code."""
    match action:
        case SetAccreditation(organisation, quota, active):
            return (organisation, quota, active)
        case ListBusiness(business, name, category, offer):
            return (business, name, category, offer)
        case DelistBusiness(business):
            return (business,)
        case AgreeExchange(partner, num, den, own, other):
            return (partner, num, den, own, other)
        case _:
            assert_never(action)


def _accreditation(f: tuple[object, ...]) -> SetAccreditation:
    organisation, quota, active = codec.array(f, 3, "set accreditation")
    return SetAccreditation(
        decode_key(organisation, "organisation"),
        decode_amount(quota, "quota"),
        codec.boolean(active, "active"),
    )


def _list(f: tuple[object, ...]) -> ListBusiness:
    business, name, category, offer = codec.array(f, 4, "register business")
    return ListBusiness(decode_key(business, "business"), *business_texts(name, category, offer))


def _delist(f: tuple[object, ...]) -> DelistBusiness:
    (business,) = codec.array(f, 1, "remove business")
    return DelistBusiness(decode_key(business, "business"))


def _agree(f: tuple[object, ...]) -> AgreeExchange:
    partner, num, den, own, other = codec.array(f, 5, "agree exchange")
    return AgreeExchange(
        decode_code(partner),
        codec.integer(num, "rate numerator", hi=MAX_RATE_TERM),
        codec.integer(den, "rate denominator", hi=MAX_RATE_TERM),
        decode_amount(own, "own limit"),
        decode_amount(other, "partner limit"),
    )


DESIGN_ACTION_DECODERS: dict[type, Callable[[tuple[object, ...]], DesignAction]] = {
    SetAccreditation: _accreditation,
    ListBusiness: _list,
    DelistBusiness: _delist,
    AgreeExchange: _agree,
}


def design_action_well_formed(action: DesignAction, code: str) -> bool:
    """State-free sanity (the fund never takes part: ``action_well_formed`` checks named accounts)."""
    match action:
        case SetAccreditation() | DelistBusiness():
            return True
        case ListBusiness(business, name, category, offer):
            return business_well_formed(code, business, name, category, offer)
        case AgreeExchange(partner, num, den, _own, _other):
            return valid_code(partner) and partner != code and num >= 1 and den >= 1
        case _:
            assert_never(action)
