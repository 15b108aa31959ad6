"""Which accounts a transaction concerns: its source and every account its operations touch."""

from __future__ import annotations

from protocol.designs.operations import (
    Accredit,
    ApproveRecovery,
    CreditHours,
    ExchangePay,
    FinishRecovery,
    RegisterBusiness,
    RemoveBusiness,
    SetGuardians,
)
from protocol.operations import AdmitMember, Mint, Payment, SetCreditLimit
from protocol.transactions import Transaction


def involved_accounts(tx: Transaction) -> set[bytes]:
    accounts = {tx.body.source}
    for op in tx.body.operations:
        if isinstance(op, Payment | Mint | ExchangePay):
            accounts.add(op.destination)
        elif isinstance(op, AdmitMember | SetCreditLimit):
            accounts.add(op.member)
        elif isinstance(op, CreditHours):
            accounts.add(op.volunteer)
        elif isinstance(op, Accredit):
            accounts.add(op.organisation)
        elif isinstance(op, RegisterBusiness | RemoveBusiness):
            accounts.add(op.business)
        elif isinstance(op, ApproveRecovery | FinishRecovery):
            accounts.add(op.account)  # the owner sees a recovery of its key coming in its history
        elif isinstance(op, SetGuardians):
            accounts.update(op.guardians)
    return accounts
