"""Spend-locally money (after the Brixton Pound): an issued currency that holders spend only with
registered businesses.

The issuer mints to anyone (people buy it with national money) and registers businesses with a
short name, a category and an optional discount offer (``RegisterBusiness``; a passed proposal
where members govern: ``ListBusiness``). A holder pays only registered businesses; businesses pay
each other, give change to anyone, and redeem with the issuer by paying it
(``protocol.designs.payments`` applies the rule). Removing a business keeps its entry, inactive.
"""

from __future__ import annotations

from dataclasses import replace

from protocol.designs.credits import direct_refusal
from protocol.designs.entries import Business, business_key
from protocol.designs.operations import RegisterBusiness, RemoveBusiness
from protocol.designs.terms import Acceptance
from protocol.results import ResultCode
from protocol.state import Currency, StateOverlay

R = ResultCode


def business(state: StateOverlay, code: str, account: bytes) -> Business | None:
    found = state.get(business_key(code, account))
    return found if isinstance(found, Business) else None


def is_business(state: StateOverlay, code: str, account: bytes) -> bool:
    """Whether ``account`` is registered now as a business of currency ``code``."""
    found = business(state, code, account)
    return found is not None and found.active


def _registered_currency(state: StateOverlay, code: str, source: bytes) -> Currency | ResultCode:
    currency = state.currency(code)
    if currency is None:
        return R.NO_CURRENCY
    if currency.extension.terms.accept is not Acceptance.REGISTERED:
        return R.WRONG_KIND
    return direct_refusal(currency, source, R.NOT_ISSUER) or currency


def register_operation(state: StateOverlay, op: RegisterBusiness, source: bytes) -> ResultCode:
    currency = _registered_currency(state, op.currency, source)
    if isinstance(currency, ResultCode):
        return currency
    return register(state, currency, op.business, op.name, op.category, op.offer)


def remove_operation(state: StateOverlay, op: RemoveBusiness, source: bytes) -> ResultCode:
    currency = _registered_currency(state, op.currency, source)
    if isinstance(currency, ResultCode):
        return currency
    return remove(state, currency, op.business)


def register(
    state: StateOverlay, currency: Currency, account: bytes, name: str, category: str, offer: str
) -> ResultCode:
    """Register ``account`` (again, or with new details) as a business of ``currency``."""
    if currency.extension.terms.accept is not Acceptance.REGISTERED:
        return R.WRONG_KIND
    state.put(Business(currency.code, account, name, category, offer))
    return R.OK


def remove(state: StateOverlay, currency: Currency, account: bytes) -> ResultCode:
    if currency.extension.terms.accept is not Acceptance.REGISTERED:
        return R.WRONG_KIND
    found = business(state, currency.code, account)
    if found is None or not found.active:
        return R.NOT_REGISTERED
    state.put(replace(found, active=False))
    return R.OK
