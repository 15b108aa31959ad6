"""Social key recovery: an account names guardians, a threshold and a delay; enough guardians
together can replace its key, but only after the delay, during which the owner's key can cancel.

1. The owner sends ``SetGuardians`` (which also cancels any recovery under way).
2. Each guardian approves a new key (``ApproveRecovery``); a guardian may change its mind until
   the recovery starts. When ``threshold`` guardians approved the *same* key, the recovery starts:
   it is due ``delay_s`` after that ledger's close time. A minority of guardians naming another key
   cannot block the others.
3. Until it is due the owner can ``CancelRecovery`` with the account's current key.
4. Once due, anyone sends ``FinishRecovery`` (typically the owner from the new key's own account):
   the account's signers become the new key alone (weight 1, threshold 1). Its address, balances,
   memberships, and its roles as steward, issuer or guarantor stay: stewards approve as their
   accounts sign (``protocol.designs.approval``), issuers and guarantors are accounts.

Against plain multisig (``set_signers``): there, the co-signers can act at once and forever (spend,
admit, change signers); here, guardians can do nothing but start a replacement of the key that
the owner sees coming and can stop for ``delay_s``. The price is that delay: a recovery takes at
least that long, and an owner who loses the key and never checks the ledger gets no protection
from guardians who conspire (they cannot be outvoted by fewer honest ones once started).
"""

from __future__ import annotations

from dataclasses import replace

from protocol.context import LedgerContext
from protocol.designs.entries import Guardianship, guardianship_key
from protocol.designs.operations import MAX_GUARDIANS, ApproveRecovery, FinishRecovery, SetGuardians
from protocol.results import ResultCode
from protocol.state import Account, StateOverlay

R = ResultCode
MIN_DELAY_S = 30
MAX_DELAY_S = 365 * 24 * 3600


def guardianship(state: StateOverlay, account: bytes) -> Guardianship | None:
    found = state.get(guardianship_key(account))
    return found if isinstance(found, Guardianship) and found.guardians else None


def guardians_valid(op: SetGuardians, account: bytes) -> bool:
    """1-10 distinct guardians other than the account, a threshold they can reach, a delay in
    bounds; or none at all with threshold 0 (removing them)."""
    if not op.guardians:
        return op.threshold == 0
    return (
        len(op.guardians) <= MAX_GUARDIANS
        and len(set(op.guardians)) == len(op.guardians)
        and account not in op.guardians
        and 1 <= op.threshold <= len(op.guardians)
        and MIN_DELAY_S <= op.delay_s <= MAX_DELAY_S
    )


def set_guardians(state: StateOverlay, op: SetGuardians, source: bytes) -> ResultCode:
    if not guardians_valid(op, source):
        return R.BAD_GUARDIANS
    if not op.guardians and state.get(guardianship_key(source)) is None:
        return R.OK  # nothing to remove, and no empty entry to create
    state.put(Guardianship(source, op.guardians, op.threshold, op.delay_s if op.guardians else 0))
    return R.OK


def approve(state: StateOverlay, op: ApproveRecovery, source: bytes, ctx: LedgerContext) -> ResultCode:
    found = guardianship(state, op.account)
    if found is None:
        return R.NO_RECOVERY
    if source not in found.guardians:
        return R.NOT_GUARDIAN
    votes = dict(found.approvals)
    votes[source] = op.new_key
    updated = replace(found, approvals=tuple(sorted(votes.items())))
    if not found.started and sum(1 for key in votes.values() if key == op.new_key) >= found.threshold:
        updated = replace(updated, started_key=op.new_key, due_ms=ctx.close_time_ms + found.delay_s * 1000)
    state.put(updated)
    return R.OK


def cancel(state: StateOverlay, source: bytes) -> ResultCode:
    found = guardianship(state, source)
    if found is None or not (found.approvals or found.started):
        return R.NO_RECOVERY
    state.put(replace(found, approvals=(), started_key=b"", due_ms=0))
    return R.OK


def finish(state: StateOverlay, op: FinishRecovery, ctx: LedgerContext) -> ResultCode:
    found = guardianship(state, op.account)
    if found is None or not (found.approvals or found.started):
        return R.NO_RECOVERY
    if not found.started:
        return R.TOO_FEW_GUARDIANS
    if ctx.close_time_ms < found.due_ms:
        return R.RECOVERY_NOT_DUE
    account = state.account(op.account)
    state.put(Account(account.id, account.seq, 1, ((found.started_key, 1),)))
    state.put(replace(found, approvals=(), started_key=b"", due_ms=0))
    return R.OK
