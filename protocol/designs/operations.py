"""The operations protocol version 3 adds, and their canonical encoding (without the operation
code, which ``protocol.operations`` owns and prefixes).

* guaranteed time credits: ``Accredit`` (the guarantor), ``CreditHours`` (an accredited
  organisation);
* spend-locally money: ``RegisterBusiness``, ``RemoveBusiness`` (the issuer);
* exchange between communities: ``ExchangePay`` (a member, through the clearing accounts);
* social key recovery: ``SetGuardians``, ``CancelRecovery`` (the owner), ``ApproveRecovery`` (a
  guardian), ``FinishRecovery`` (anyone, once the delay has passed).

Decoding checks types and hard bounds; ``well_formed`` is the state-free check (``malformed``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import assert_never

from protocol import codec
from protocol.fields import decode_amount, decode_code, decode_key, valid_code
from protocol.governance.fund import fund_address

MAX_SERVICE_CHARS = 80
MAX_NAME_CHARS = 40
MAX_CATEGORY_CHARS = 24
MAX_OFFER_CHARS = 80
MAX_HOPS = 4  # the encoding's bound: paths of several hops can come in a later version
MAX_HOPS_NOW = 1  # what the rules of version 3 accept: one hop, between two communities
MAX_GUARDIANS = 10


@dataclass(frozen=True, slots=True)
class Accredit:
    """The guarantor accredits ``organisation`` to credit up to ``quota`` hours in all (minor
    units), or withdraws the accreditation (``active`` false; what it credited stays credited)."""

    currency: str
    organisation: bytes
    quota: int
    active: bool = True


@dataclass(frozen=True, slots=True)
class CreditHours:
    """An accredited organisation credits ``amount`` (minor units of hours) to a volunteer for the
    service described (on the ledger, for the reports)."""

    currency: str
    volunteer: bytes
    amount: int
    service: str


@dataclass(frozen=True, slots=True)
class RegisterBusiness:
    """Register (or update) a business that may be paid in a spend-locally currency: a short
    name, a category and an optional discount offer shown to holders."""

    currency: str
    business: bytes
    name: str
    category: str
    offer: str = ""


@dataclass(frozen=True, slots=True)
class RemoveBusiness:
    currency: str
    business: bytes


@dataclass(frozen=True, slots=True)
class Hop:
    """One conversion of an exchange path: into ``currency``, under the agreement between it and
    the previous currency as it stood at ``version`` (a changed agreement makes it stale)."""

    currency: str
    version: int


@dataclass(frozen=True, slots=True)
class ExchangePay:
    """Pay ``amount`` of the last hop's currency to ``destination``, paying at most ``send_max``
    of ``currency`` (the source's): the source pays its community's clearing account, the other
    community's clearing account pays the recipient, in one transaction."""

    destination: bytes
    amount: int
    currency: str
    send_max: int
    hops: tuple[Hop, ...]

    @property
    def path(self) -> tuple[str, ...]:
        """The currencies from the payer's to the recipient's."""
        return (self.currency, *(hop.currency for hop in self.hops))


@dataclass(frozen=True, slots=True)
class SetGuardians:
    """The source account names guardians who may, together, replace its key after ``delay_s``
    seconds; no guardians (and threshold 0) removes the arrangement. Cancels a recovery under way."""

    guardians: tuple[bytes, ...]
    threshold: int
    delay_s: int


@dataclass(frozen=True, slots=True)
class ApproveRecovery:
    """A guardian of ``account`` approves replacing its key with ``new_key``."""

    account: bytes
    new_key: bytes


@dataclass(frozen=True, slots=True)
class CancelRecovery:
    """The owner (with the account's current key) cancels a recovery under way."""


@dataclass(frozen=True, slots=True)
class FinishRecovery:
    """Replace ``account``'s key once enough guardians approved and the delay passed (anyone may
    send it: typically the owner, from the new key's own account)."""

    account: bytes


DesignOperation = (
    Accredit
    | CreditHours
    | RegisterBusiness
    | RemoveBusiness
    | ExchangePay
    | SetGuardians
    | ApproveRecovery
    | CancelRecovery
    | FinishRecovery
)


def encode_design_operation(op: DesignOperation) -> tuple[object, ...]:
    """The fields of ``op`` after its operation code."""
    match op:
        case Accredit(currency, organisation, quota, active):
            return (currency, organisation, quota, active)
        case CreditHours(currency, volunteer, amount, service):
            return (currency, volunteer, amount, service)
        case RegisterBusiness(currency, business, name, category, offer):
            return (currency, business, name, category, offer)
        case RemoveBusiness(currency, business):
            return (currency, business)
        case ExchangePay(destination, amount, currency, send_max, hops):
            return (destination, amount, currency, send_max, tuple((h.currency, h.version) for h in hops))
        case SetGuardians(guardians, threshold, delay_s):
            return (guardians, threshold, delay_s)
        case ApproveRecovery(account, new_key):
            return (account, new_key)
        case CancelRecovery():
            return ()
        case FinishRecovery(account):
            return (account,)
        case _:
            assert_never(op)


def _accredit(f: tuple[object, ...]) -> Accredit:
    currency, organisation, quota, active = codec.array(f, 4, "accredit")
    return Accredit(
        decode_code(currency),
        decode_key(organisation, "organisation"),
        decode_amount(quota, "quota"),
        codec.boolean(active, "active"),
    )


def _credit_hours(f: tuple[object, ...]) -> CreditHours:
    currency, volunteer, amount, service = codec.array(f, 4, "credit_hours")
    return CreditHours(
        decode_code(currency),
        decode_key(volunteer, "volunteer"),
        decode_amount(amount, "hours"),
        codec.text(service, "service", max_len=MAX_SERVICE_CHARS),
    )


def _register(f: tuple[object, ...]) -> RegisterBusiness:
    currency, business, name, category, offer = codec.array(f, 5, "register_business")
    return RegisterBusiness(
        decode_code(currency), decode_key(business, "business"), *business_texts(name, category, offer)
    )


def business_texts(name: object, category: object, offer: object) -> tuple[str, str, str]:
    """Decode a business's name, category and offer (shared with the proposal action)."""
    return (
        codec.text(name, "business name", max_len=MAX_NAME_CHARS),
        codec.text(category, "business category", max_len=MAX_CATEGORY_CHARS),
        codec.text(offer, "business offer", max_len=MAX_OFFER_CHARS),
    )


def _remove(f: tuple[object, ...]) -> RemoveBusiness:
    currency, business = codec.array(f, 2, "remove_business")
    return RemoveBusiness(decode_code(currency), decode_key(business, "business"))


def _exchange_pay(f: tuple[object, ...]) -> ExchangePay:
    destination, amount, currency, send_max, hops = codec.array(f, 5, "exchange_pay")
    return ExchangePay(
        decode_key(destination, "exchange destination"),
        decode_amount(amount, "exchange amount"),
        decode_code(currency),
        decode_amount(send_max, "exchange send max"),
        tuple(
            Hop(decode_code(code), codec.integer(version, "agreement version", hi=codec.UINT32_MAX))
            for code, version in (
                codec.array(h, 2, "exchange hop") for h in codec.seq(hops, "exchange path", max_len=MAX_HOPS)
            )
        ),
    )


def _set_guardians(f: tuple[object, ...]) -> SetGuardians:
    guardians, threshold, delay = codec.array(f, 3, "set_guardians")
    return SetGuardians(
        tuple(decode_key(g, "guardian") for g in codec.seq(guardians, "guardians", max_len=MAX_GUARDIANS)),
        codec.integer(threshold, "guardian threshold", hi=255),
        codec.integer(delay, "recovery delay", hi=codec.UINT32_MAX),
    )


def _approve(f: tuple[object, ...]) -> ApproveRecovery:
    account, new_key = codec.array(f, 2, "approve_recovery")
    return ApproveRecovery(decode_key(account, "account"), decode_key(new_key, "new key"))


def _cancel(f: tuple[object, ...]) -> CancelRecovery:
    codec.array(f, 0, "cancel_recovery")
    return CancelRecovery()


def _finish(f: tuple[object, ...]) -> FinishRecovery:
    (account,) = codec.array(f, 1, "finish_recovery")
    return FinishRecovery(decode_key(account, "account"))


DESIGN_DECODERS: dict[type, Callable[[tuple[object, ...]], DesignOperation]] = {
    Accredit: _accredit,
    CreditHours: _credit_hours,
    RegisterBusiness: _register,
    RemoveBusiness: _remove,
    ExchangePay: _exchange_pay,
    SetGuardians: _set_guardians,
    ApproveRecovery: _approve,
    CancelRecovery: _cancel,
    FinishRecovery: _finish,
}
"""Each operation's decoder of the fields after the code (``protocol.operations`` maps codes)."""


def printable(text: str, *, required: bool = True) -> bool:
    """Text people read on the ledger: printable (no control or line characters) and, when
    ``required``, not blank."""
    return text.isprintable() and (bool(text.strip()) or not required)


def business_well_formed(code: str, business: bytes, name: str, category: str, offer: str) -> bool:
    return (
        business != fund_address(code)
        and printable(name)
        and printable(category)
        and printable(offer, required=False)
    )


def well_formed(op: DesignOperation, source: bytes) -> bool:
    """State-free sanity of a version-3 operation."""
    match op:
        case Accredit(code, organisation, _quota, _active):
            return valid_code(code) and organisation != fund_address(code)
        case CreditHours(code, volunteer, amount, service):
            return (
                valid_code(code)
                and amount > 0
                and volunteer not in (source, fund_address(code))
                and printable(service)
            )
        case RegisterBusiness(code, business, name, category, offer):
            return valid_code(code) and business_well_formed(code, business, name, category, offer)
        case RemoveBusiness(code, _business):
            return valid_code(code)
        case ExchangePay(_destination, amount, _code, send_max, hops):
            # (paying oneself is allowed here: it converts one's own money into another currency)
            path = op.path
            return (
                all(valid_code(c) for c in path)
                and len(set(path)) == len(path)
                and 1 <= len(hops) <= MAX_HOPS_NOW
                and all(hop.version >= 1 for hop in hops)
                and amount > 0
                and send_max > 0
            )
        case SetGuardians() | CancelRecovery():
            return True  # the guardians' rules have their own result code, bad_guardians
        case ApproveRecovery(account, new_key):
            return new_key != account
        case FinishRecovery():
            return True
        case _:
            assert_never(op)
