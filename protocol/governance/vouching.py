"""Admission by vouching (admission policy ``vouch:N``).

A member in good standing vouches for a newcomer; when N distinct members have, the newcomer is
admitted with the default credit limit, in the same operation as the N-th vouch.

What vouching commits a voucher to: a public, permanent statement on the ledger that they know
the newcomer and expect them to take part in good faith. The ledger keeps the list of vouchers
(``Candidacy``) for everyone to see, and the community may weigh it later (for example when
deciding on an expulsion). It moves no money: a voucher is never charged for the newcomer's
debts (those, if the newcomer is expelled, go to the commons fund like anyone's). A vouch is
final; it cannot be withdrawn, and each member vouches for a newcomer once.
"""

from __future__ import annotations

from protocol.context import LedgerContext
from protocol.governance import standing
from protocol.governance.entries import Candidacy, candidacy_key
from protocol.governance.operations import Vouch
from protocol.governance.rules import AdmissionPolicy
from protocol.governance.transfer import BLOCKED, member_refusal
from protocol.results import ResultCode
from protocol.state import StateOverlay

R = ResultCode


def vouch(state: StateOverlay, op: Vouch, source: bytes, ctx: LedgerContext) -> ResultCode:
    currency = state.currency(op.currency)
    if currency is None:
        return R.NO_CURRENCY
    if not currency.kind.is_mutual_credit:
        return R.WRONG_KIND
    rules = currency.extension.rules
    if rules.admission is not AdmissionPolicy.VOUCH:
        return R.WRONG_ADMISSION_POLICY
    refusal = member_refusal(state.holding(source, op.currency))
    if refusal is not None:
        return refusal
    candidate = state.holding(op.candidate, op.currency)
    if candidate is not None and candidate.role in BLOCKED:
        return BLOCKED[candidate.role]
    if candidate is not None and candidate.member:
        return R.ALREADY_MEMBER
    found = state.get(candidacy_key(op.candidate, op.currency))
    vouchers = found.vouchers if isinstance(found, Candidacy) and not found.admitted else ()
    if source in vouchers:
        return R.ALREADY_VOUCHED
    vouchers = (*vouchers, source)
    admitted = len(vouchers) >= rules.vouches_needed
    if admitted:
        result = standing.admit(state, currency, op.candidate, None, ctx)
        if result is not R.OK:
            return result
    state.put(Candidacy(op.candidate, op.currency, vouchers, admitted))
    return R.OK
