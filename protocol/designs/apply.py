"""Dispatch of the version-3 operations and proposal actions to their rules (one ``match`` each,
so ``protocol.apply`` and ``protocol.governance.execute`` gain one case apiece)."""

from __future__ import annotations

from typing import assert_never

from protocol.context import LedgerContext
from protocol.designs import credits, exchange, local, recovery
from protocol.designs.actions import (
    AgreeExchange,
    DelistBusiness,
    DesignAction,
    ListBusiness,
    SetAccreditation,
)
from protocol.designs.operations import (
    Accredit,
    ApproveRecovery,
    CancelRecovery,
    CreditHours,
    DesignOperation,
    ExchangePay,
    FinishRecovery,
    RegisterBusiness,
    RemoveBusiness,
    SetGuardians,
)
from protocol.results import ResultCode
from protocol.state import Currency, StateOverlay


def apply_design_operation(
    state: StateOverlay, op: DesignOperation, source: bytes, ctx: LedgerContext
) -> ResultCode:
    match op:
        case Accredit():
            return credits.accredit_operation(state, op, source, ctx)
        case CreditHours():
            return credits.credit_hours(state, op, source, ctx)
        case RegisterBusiness():
            return local.register_operation(state, op, source)
        case RemoveBusiness():
            return local.remove_operation(state, op, source)
        case ExchangePay():
            return exchange.pay(state, op, source, ctx)
        case SetGuardians():
            return recovery.set_guardians(state, op, source)
        case ApproveRecovery():
            return recovery.approve(state, op, source, ctx)
        case CancelRecovery():
            return recovery.cancel(state, source)
        case FinishRecovery():
            return recovery.finish(state, op, ctx)
        case _:
            assert_never(op)


def run_design_action(
    state: StateOverlay, currency: Currency, action: DesignAction, ctx: LedgerContext
) -> ResultCode:
    """Run a passed proposal's version-3 action for ``currency``."""
    match action:
        case SetAccreditation(organisation, quota, active):
            return credits.accredit(state, currency, organisation, quota, active, ctx)
        case ListBusiness(business, name, category, offer):
            return local.register(state, currency, business, name, category, offer)
        case DelistBusiness(business):
            return local.remove(state, currency, business)
        case AgreeExchange():
            return exchange.agree(state, currency, action, ctx)
        case _:
            assert_never(action)
