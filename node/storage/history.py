"""Which accounts a transaction concerns: its source and every account its operations touch."""

from __future__ import annotations

from protocol.operations import AdmitMember, Mint, Payment, SetCreditLimit
from protocol.transactions import Transaction


def involved_accounts(tx: Transaction) -> set[bytes]:
    accounts = {tx.body.source}
    for op in tx.body.operations:
        if isinstance(op, Payment | Mint):
            accounts.add(op.destination)
        elif isinstance(op, AdmitMember | SetCreditLimit):
            accounts.add(op.member)
    return accounts
