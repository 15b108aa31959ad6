"""Stewards approve as their accounts sign (protocol version 3).

Before version 3 a steward approved when a signature by the steward's own key was on the
transaction. From version 3 a steward approves when the transaction's signatures meet the
steward *account's* signing threshold: so a steward whose key was replaced by social key recovery
(``protocol.designs.recovery``) or by ``set_signers`` approves with the new key, and the lost one
no longer counts. For an account that never changed its signers both rules agree.
"""

from __future__ import annotations

from protocol.context import LedgerContext
from protocol.state import Currency, StateOverlay


def account_signed(state: StateOverlay, account: bytes, signers: frozenset[bytes]) -> bool:
    """Whether ``signers`` (keys whose signatures verified) meet ``account``'s threshold."""
    entry = state.account(account)
    return sum(weight for key, weight in entry.signers if key in signers) >= entry.threshold


def stewards_approve(
    state: StateOverlay, currency: Currency, signers: frozenset[bytes], ctx: LedgerContext
) -> bool:
    """Whether at least ``steward_threshold`` of the currency's stewards approved."""
    return stewards_approving(state, currency, signers, ctx) >= currency.steward_threshold


def stewards_approving(
    state: StateOverlay, currency: Currency, signers: frozenset[bytes], ctx: LedgerContext
) -> int:
    """How many of the currency's stewards approved."""
    if not ctx.designs:
        return sum(1 for steward in currency.stewards if steward in signers)
    return sum(1 for steward in currency.stewards if account_signed(state, steward, signers))
