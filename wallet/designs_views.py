"""Typed views of the node's answers about the designs of protocol version 3 (the shapes of
``node/api/designs.py``): businesses, credit reports, exchange agreements, guardians.

As in ``wallet.views``: every field the wallet uses is checked when the answer arrives; unknown
keys are ignored; amounts are integers in the currency's minor units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from protocol.codec import UINT32_MAX
from protocol.designs.actions import MAX_RATE_TERM
from protocol.designs.operations import MAX_CATEGORY_CHARS, MAX_NAME_CHARS, MAX_OFFER_CHARS, MAX_SERVICE_CHARS
from protocol.designs.terms import Acceptance
from protocol.operations import MAX_DECIMALS
from wallet.errors import BadResponse
from wallet.fields import Fields

# -- a currency's terms --------------------------------------------------------------------------

_ACCEPT = {a.value: a for a in Acceptance}


@dataclass(frozen=True, slots=True)
class TermsView:
    """``terms`` (and ``guarantor``) of ``GET /currencies/{code}``."""

    guaranteed: bool
    accept: Acceptance
    guarantor: str | None

    @classmethod
    def parse(cls, f: Fields) -> TermsView | None:
        """The currency's terms; None from a node older than protocol version 3."""
        terms = f.nested("terms")
        accept = terms.opt_text("accept", 32)
        if accept is None:
            return None
        if accept not in _ACCEPT:
            raise BadResponse(f"{terms.where}.accept: {accept!r} is not one of {', '.join(_ACCEPT)}")
        return cls(terms.flag("guaranteed"), _ACCEPT[accept], f.opt_address("guarantor"))

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"terms": {"guaranteed": self.guaranteed, "accept": self.accept.value}}
        if self.guarantor is not None:
            body["guarantor"] = self.guarantor
        return body


# -- spend-locally money -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BusinessView:
    address: str
    name: str
    category: str
    offer: str

    @classmethod
    def parse(cls, f: Fields) -> BusinessView:
        return cls(
            f.address("business"),
            f.text("name", MAX_NAME_CHARS),
            f.text("category", MAX_CATEGORY_CHARS),
            f.opt_text("offer", MAX_OFFER_CHARS) or "",
        )

    def to_json(self) -> dict[str, Any]:
        return {"business": self.address, "name": self.name, "category": self.category, "offer": self.offer}


def parse_businesses(f: Fields) -> tuple[BusinessView, ...]:
    """``GET /currencies/{code}/businesses``."""
    return f.list_of("items", BusinessView.parse)


# -- guaranteed time credits ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccreditationView:
    organisation: str
    active: bool
    quota: int
    credited: int
    remaining: int
    redeemed: int
    balance: int

    @classmethod
    def parse(cls, f: Fields) -> AccreditationView:
        return cls(
            f.address("organisation"),
            f.flag("active"),
            f.integer("quota", 0),
            f.integer("credited", 0),
            f.integer("remaining", 0),
            f.integer("redeemed", 0),
            f.integer("balance"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "organisation": self.organisation,
            "active": self.active,
            "quota": self.quota,
            "credited": self.credited,
            "remaining": self.remaining,
            "redeemed": self.redeemed,
            "balance": self.balance,
        }


@dataclass(frozen=True, slots=True)
class GuarantorReportView:
    """``GET /currencies/{code}/credits``."""

    code: str
    decimals: int
    guarantor: str
    guarantor_balance: int
    outstanding: int
    credited: int
    organisations: tuple[AccreditationView, ...]

    @classmethod
    def parse(cls, f: Fields) -> GuarantorReportView:
        return cls(
            f.text("code", 12),
            f.integer("decimals", 0, MAX_DECIMALS),
            f.address("guarantor"),
            f.integer("guarantor_balance"),
            f.integer("outstanding"),
            f.integer("credited", 0),
            f.list_of("organisations", AccreditationView.parse),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "guarantor": self.guarantor,
            "guarantor_balance": self.guarantor_balance,
            "outstanding": self.outstanding,
            "credited": self.credited,
            "organisations": [o.to_json() for o in self.organisations],
        }


@dataclass(frozen=True, slots=True)
class CreditView:
    ledger: int
    close_time_ms: int
    tx: str
    volunteer: str
    amount: int
    service: str

    @classmethod
    def parse(cls, f: Fields) -> CreditView:
        return cls(
            f.integer("ledger", 1),
            f.integer("close_time_ms", 0),
            f.text("tx", 64),
            f.address("volunteer"),
            f.integer("amount", 1),
            f.text("service", MAX_SERVICE_CHARS),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "ledger": self.ledger,
            "close_time_ms": self.close_time_ms,
            "tx": self.tx,
            "volunteer": self.volunteer,
            "amount": self.amount,
            "service": self.service,
        }


@dataclass(frozen=True, slots=True)
class OrganisationReportView:
    """``GET /currencies/{code}/credits/{address}``."""

    code: str
    decimals: int
    accreditation: AccreditationView
    credits: tuple[CreditView, ...]

    @classmethod
    def parse(cls, f: Fields) -> OrganisationReportView:
        return cls(
            f.text("code", 12),
            f.integer("decimals", 0, MAX_DECIMALS),
            AccreditationView.parse(f),
            f.list_of("credits", CreditView.parse),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            **self.accreditation.to_json(),
            "credits": [c.to_json() for c in self.credits],
        }


# -- exchange between communities ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClearingView:
    code: str
    address: str
    balance: int
    limit: int
    agreed: bool


@dataclass(frozen=True, slots=True)
class AgreementView:
    """``GET /exchange/{code}/{partner}`` (and each item of ``GET /exchange``)."""

    a: str
    b: str
    version: int
    in_force: bool
    rate_num: int  # minor units of b for rate_den minor units of a
    rate_den: int
    sides: tuple[ClearingView, ClearingView]
    debtor: str | None
    debtor_amount: int
    creditor_amount: int

    @classmethod
    def parse(cls, f: Fields) -> AgreementView:
        a, b = f.text("a", 12), f.text("b", 12)
        rate = f.nested("rate")
        limits, agreed, clearing = f.nested("limits"), f.nested("agreed"), f.nested("clearing")

        def side(code: str) -> ClearingView:
            own = clearing.nested(code)
            return ClearingView(
                code,
                own.address("address"),
                own.integer("balance"),
                limits.integer(code, 0),
                agreed.flag(code),
            )

        owes = f.nested("owes")
        debtor = owes.opt_text("debtor", 12)
        if debtor is not None and debtor not in (a, b):
            raise BadResponse(f"{f.where}.owes.debtor: {debtor!r} is neither {a} nor {b}")
        return cls(
            a,
            b,
            f.integer("version", 1, UINT32_MAX),
            f.flag("in_force"),
            rate.integer("num", 1, MAX_RATE_TERM),
            rate.integer("den", 1, MAX_RATE_TERM),
            (side(a), side(b)),
            debtor,
            owes.opt_integer("debtor_amount", 0) or 0,
            owes.opt_integer("creditor_amount", 0) or 0,
        )

    def side(self, code: str) -> ClearingView:
        return self.sides[0] if code == self.a else self.sides[1]

    def rate_from(self, code: str) -> tuple[int, int]:
        """(num, den): ``num`` minor units of the partner's currency for ``den`` of ``code``'s."""
        return (self.rate_num, self.rate_den) if code == self.a else (self.rate_den, self.rate_num)

    def to_json(self) -> dict[str, Any]:
        creditor = None if self.debtor is None else (self.b if self.debtor == self.a else self.a)
        return {
            "a": self.a,
            "b": self.b,
            "version": self.version,
            "in_force": self.in_force,
            "rate": {"num": self.rate_num, "den": self.rate_den},
            "clearing": {
                s.code: {"address": s.address, "balance": s.balance, "limit": s.limit, "agreed": s.agreed}
                for s in self.sides
            },
            "owes": None
            if self.debtor is None
            else {
                "debtor": self.debtor,
                "creditor": creditor,
                "debtor_amount": self.debtor_amount,
                "creditor_amount": self.creditor_amount,
            },
        }


def parse_agreements(f: Fields) -> tuple[AgreementView, ...]:
    """``GET /exchange``."""
    return f.list_of("items", AgreementView.parse)


# -- key recovery --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecoveryView:
    """``GET /accounts/{address}/recovery``."""

    account: str
    guardians: tuple[str, ...]
    threshold: int
    delay_s: int
    approvals: tuple[tuple[str, str], ...]  # (guardian, new key)
    new_key: str | None  # the started recovery's new key
    due_ms: int | None
    due: bool

    @classmethod
    def parse(cls, f: Fields) -> RecoveryView:
        started = f.nested("recovery")
        new_key = started.opt_address("new_key")
        return cls(
            f.address("account"),
            f.addresses("guardians"),
            f.integer("threshold", 0, 255),
            f.integer("delay_s", 0, UINT32_MAX),
            f.list_of("approvals", lambda a: (a.address("guardian"), a.address("new_key"))),
            new_key,
            None if new_key is None else started.integer("due_ms", 0),
            False if new_key is None else started.flag("due"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "guardians": list(self.guardians),
            "threshold": self.threshold,
            "delay_s": self.delay_s,
            "approvals": [{"guardian": g, "new_key": k} for g, k in self.approvals],
            "recovery": None
            if self.new_key is None
            else {"new_key": self.new_key, "due_ms": self.due_ms, "due": self.due},
        }
