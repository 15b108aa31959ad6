"""The designs of protocol version 3 as the API reads them, from the committed state of the last
closed ledger: a spend-locally currency's businesses, a guaranteed currency's reports (for the
guarantor and per organisation), the exchange agreements with their clearing positions, and an
account's guardians.

Lists come from one range of state keys each (``protocol.designs.entries`` puts a currency's
entries under one prefix), bounded by ``MAX_LISTED``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from node.reads import LedgerReads
from protocol.designs.clearing import clearing_address
from protocol.designs.credits import outstanding
from protocol.designs.entries import (
    ACCREDITATION_PREFIX,
    AGREEMENT_PREFIX,
    BUSINESS_PREFIX,
    Accreditation,
    Business,
    ExchangeAgreement,
    Guardianship,
    accreditation_key,
    agreement_key,
    guardianship_key,
)
from protocol.designs.operations import CreditHours
from protocol.results import ResultCode
from protocol.state import Currency, StateOverlay

MAX_LISTED = 500  # businesses, organisations or agreements in one answer
MAX_HISTORY_SCANNED = 500  # an organisation's transactions read for its report
_Listed = TypeVar("_Listed", Accreditation, Business)


@dataclass(frozen=True, slots=True)
class Position:
    """An agreement and its two clearing accounts' balances, and who owes whom."""

    agreement: ExchangeAgreement
    balance_a: int  # the clearing account of ``a`` (minor units of a)
    balance_b: int

    def balance_of(self, code: str) -> int:
        return self.balance_a if code == self.agreement.a else self.balance_b

    @property
    def debtor(self) -> str | None:
        """The community whose members took more than they gave through the exchange: its
        clearing account holds its own currency for the other, the other's owes its members."""
        a, b = self.agreement.a, self.agreement.b
        if self.balance_a > 0 or (self.balance_a == 0 and self.balance_b < 0):
            return a
        if self.balance_b > 0 or (self.balance_b == 0 and self.balance_a < 0):
            return b
        return None

    @property
    def creditor(self) -> str | None:
        debtor = self.debtor
        return None if debtor is None else self.agreement.partner_of(debtor)


@dataclass(frozen=True, slots=True)
class CreditRecord:
    ledger: int
    close_time_ms: int
    tx_hash: bytes
    volunteer: bytes
    amount: int
    service: str


@dataclass(frozen=True, slots=True)
class OrganisationReport:
    accreditation: Accreditation
    balance: int  # the organisation's own balance of the currency
    credits: list[CreditRecord]  # its latest credits, newest first


@dataclass(frozen=True, slots=True)
class GuarantorReport:
    currency: Currency
    guarantor_balance: int
    outstanding: int  # credits held by anyone but the guarantor: its liability
    organisations: list[tuple[Accreditation, int]]  # each with its own balance


class DesignReads:
    def __init__(self, reads: LedgerReads) -> None:
        self._reads = reads
        self._store = reads.store

    def _overlay(self) -> StateOverlay:
        return StateOverlay(self._store)

    def _entries(self, prefix: bytes, code: str, kind: type[_Listed]) -> list[_Listed]:
        """The entries of ``kind`` under ``prefix ‖ code ‖ account`` of exactly this code (not of
        a longer code that starts with it), by account."""
        found = self._store.state_entries(prefix + code.encode("ascii"), limit=MAX_LISTED * 2)
        return [e for e in found if isinstance(e, kind) and e.currency == code][:MAX_LISTED]

    # -- spend-locally money ---------------------------------------------------------------------

    def businesses(self, code: str) -> list[Business]:
        """The businesses registered now, by address."""
        return [e for e in self._entries(BUSINESS_PREFIX, code, Business) if e.active]

    # -- guaranteed time credits -----------------------------------------------------------------

    def guarantor_report(self, currency: Currency) -> GuarantorReport:
        overlay = self._overlay()
        guarantor = overlay.holding(currency.issuer, currency.code)
        organisations = []
        for entry in self._entries(ACCREDITATION_PREFIX, currency.code, Accreditation):
            holding = overlay.holding(entry.organisation, currency.code)
            organisations.append((entry, 0 if holding is None else holding.balance))
        return GuarantorReport(
            currency,
            0 if guarantor is None else guarantor.balance,
            outstanding(currency, guarantor),
            organisations,
        )

    def organisation_report(
        self, currency: Currency, organisation: bytes, limit: int
    ) -> OrganisationReport | None:
        overlay = self._overlay()
        found = overlay.get(accreditation_key(currency.code, organisation))
        if not isinstance(found, Accreditation):
            return None
        holding = overlay.holding(organisation, currency.code)
        credits: list[CreditRecord] = []
        for ledger, _index, tx_hash in self._store.account_history(organisation, limit=MAX_HISTORY_SCANNED):
            record = self._reads.transaction(tx_hash)
            if record is None or record.code is not ResultCode.OK or record.tx.body.source != organisation:
                continue
            for op in record.tx.body.operations:
                if isinstance(op, CreditHours) and op.currency == currency.code:
                    credits.append(
                        CreditRecord(
                            ledger, record.close_time_ms, tx_hash, op.volunteer, op.amount, op.service
                        )
                    )
            if len(credits) >= limit:
                break
        return OrganisationReport(found, 0 if holding is None else holding.balance, credits[:limit])

    # -- exchange between communities -------------------------------------------------------------

    def positions(self, code: str | None = None) -> list[Position]:
        """Every agreement (or those of ``code``'s community) with its clearing balances."""
        overlay = self._overlay()
        found = self._store.state_entries(AGREEMENT_PREFIX, limit=MAX_LISTED)
        return [
            self._position(overlay, entry)
            for entry in found
            if isinstance(entry, ExchangeAgreement) and code in (None, entry.a, entry.b)
        ]

    def position(self, code: str, partner: str) -> Position | None:
        overlay = self._overlay()
        found = overlay.get(agreement_key(code, partner))
        return self._position(overlay, found) if isinstance(found, ExchangeAgreement) else None

    @staticmethod
    def _position(overlay: StateOverlay, agreement: ExchangeAgreement) -> Position:
        balances = []
        for code, partner in ((agreement.a, agreement.b), (agreement.b, agreement.a)):
            holding = overlay.holding(clearing_address(code, partner), code)
            balances.append(0 if holding is None else holding.balance)
        return Position(agreement, balances[0], balances[1])

    # -- key recovery ----------------------------------------------------------------------------

    def guardianship(self, account: bytes) -> Guardianship | None:
        found = self._overlay().get(guardianship_key(account))
        return found if isinstance(found, Guardianship) else None
