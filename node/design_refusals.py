"""The figures behind a refusal of a version-3 operation (see ``node.refusals``), so the wallet
can say why in numbers: how much of its quota an organisation has left, where an exchange's
clearing accounts stand against their limits, which agreement version is in force, when a
recovery is due.

| code | figures |
|---|---|
| ``over_quota`` | ``quota``, ``credited``, ``asked`` |
| ``not_accredited``, ``not_guardian`` | ``account`` |
| ``not_registered``, ``not_provider`` | ``account`` (the recipient) |
| ``stale_rate`` | ``version`` (in force), ``signed_version`` |
| ``over_send_max`` | ``asked`` (the cost at the agreed rate), ``send_max`` |
| ``over_exchange_limit`` | ``partner``, ``limit``, ``position``, ``partner_limit``, ``partner_position`` |
| ``recovery_not_due`` | ``due_ms`` |
| ``too_few_guardians`` | ``approvals`` (of the most approved key), ``threshold`` |
"""

from __future__ import annotations

from collections import Counter

from protocol.addresses import encode_account
from protocol.designs.clearing import clearing_address
from protocol.designs.credits import accreditation
from protocol.designs.exchange import agreement, cost, rate_from
from protocol.designs.operations import (
    ApproveRecovery,
    CreditHours,
    DesignOperation,
    ExchangePay,
    FinishRecovery,
)
from protocol.designs.recovery import guardianship
from protocol.operations import Payment
from protocol.results import ResultCode
from protocol.state import StateOverlay

Figures = dict[str, int | str]
R = ResultCode


def design_figures(state: StateOverlay, op: object, source: bytes, result: ResultCode) -> Figures:
    """The figures of ``result``, a refusal of ``op`` (an operation of any version: payments
    meet the version-3 terms too) from ``source``, against ``state``."""
    if result in (R.NOT_REGISTERED, R.NOT_PROVIDER) and isinstance(op, Payment | ExchangePay):
        return {"account": encode_account(op.destination if isinstance(op, Payment) else source)}
    if not isinstance(op, DesignOperation):
        return {}
    match op:
        case CreditHours(code, _volunteer, amount, _service):
            found = accreditation(state, code, source)
            if result is R.OVER_QUOTA and found is not None:
                return {"quota": found.quota, "credited": found.credited, "asked": amount}
            if result is R.NOT_ACCREDITED:
                return {"account": encode_account(source)}
        case ExchangePay():
            return _exchange_figures(state, op, result)
        case ApproveRecovery(account, _new_key) if result is R.NOT_GUARDIAN:
            return {"account": encode_account(account)}
        case FinishRecovery(account):
            found_plan = guardianship(state, account)
            if result is R.RECOVERY_NOT_DUE and found_plan is not None:
                return {"due_ms": found_plan.due_ms}
            if result is R.TOO_FEW_GUARDIANS and found_plan is not None:
                votes = Counter(key for _, key in found_plan.approvals)
                return {"approvals": max(votes.values(), default=0), "threshold": found_plan.threshold}
        case _:
            pass
    return {}


def _exchange_figures(state: StateOverlay, op: ExchangePay, result: ResultCode) -> Figures:
    hop = op.hops[0] if op.hops else None
    found = agreement(state, op.currency, hop.currency) if hop is not None else None
    if hop is None or found is None:
        return {}
    if result is R.STALE_RATE:
        return {"version": found.version, "signed_version": hop.version}
    if result is R.OVER_SEND_MAX:
        return {"asked": cost(op.amount, rate_from(found, op.currency)), "send_max": op.send_max}
    if result is R.OVER_EXCHANGE_LIMIT:
        own = state.holding(clearing_address(op.currency, hop.currency), op.currency)
        other = state.holding(clearing_address(hop.currency, op.currency), hop.currency)
        return {
            "partner": hop.currency,
            "limit": found.limit_of(op.currency),
            "position": 0 if own is None else own.balance,
            "partner_limit": found.limit_of(hop.currency),
            "partner_position": 0 if other is None else other.balance,
        }
    return {}
