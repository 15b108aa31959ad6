"""A small committed ledger for mempool tests: a time bank whose steward admitted a few members,
transactions built and signed for it, a fake clock, and ledger closes applied for real."""

from __future__ import annotations

from dataclasses import dataclass, field

import nacl.utils

from node.mempool import Mempool, MempoolLimits
from protocol.apply import apply_transaction
from protocol.hashing import network_id
from protocol.keys import Keypair
from protocol.operations import AdmitMember, CreateCurrency, CurrencyKind, Operation, Payment, SetSigners
from protocol.results import ResultCode
from protocol.state import HOLDING_PREFIX, Holding, MemoryState, StateOverlay, decode_entry
from protocol.transactions import Transaction, TransactionBody, build_transaction

NETWORK = network_id("Tally spam test network")
CURRENCY = "HOUR"


class FakeClock:
    """Seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def key() -> Keypair:
    return Keypair(nacl.utils.random(32))


def signed(
    source: Keypair, seq: int, *ops: Operation, last_valid: int = 1_000, memo: bytes = b""
) -> Transaction:
    return build_transaction(
        NETWORK, TransactionBody(source.public_key, seq, last_valid, memo, ops), (source,)
    )


def noop(source: Keypair) -> SetSigners:
    """An operation anyone's account can do that always applies (its own key as only signer)."""
    return SetSigners(((source.public_key, 1),), 1)


@dataclass
class SpamLedger:
    """Committed state after ledger ``seq``: ``steward`` runs HOUR, ``members`` are admitted."""

    members: list[Keypair]
    steward: Keypair = field(default_factory=key)
    state: MemoryState = field(default_factory=MemoryState)
    seq: int = 1
    clock: FakeClock = field(default_factory=FakeClock)

    @classmethod
    def community(cls, members: int = 2) -> SpamLedger:
        ledger = cls([key() for _ in range(members)])
        steward = ledger.steward
        create = CreateCurrency(CURRENCY, CurrencyKind.TIME, 2, (steward.public_key,), 1, 1_000)
        admits = tuple(AdmitMember(CURRENCY, m.public_key, None) for m in ledger.members)
        ledger.close([signed(steward, 1, create), signed(steward, 2, *admits)])
        return ledger

    @property
    def alice(self) -> Keypair:
        return self.members[0]

    @property
    def bob(self) -> Keypair:
        return self.members[1]

    def holdings(self, account: bytes) -> list[Holding]:
        prefix = HOLDING_PREFIX + account
        found = []
        for k, raw in self.state.entries.items():
            entry = decode_entry(k, raw) if k.startswith(prefix) else None
            if isinstance(entry, Holding):
                found.append(entry)
        return found

    def mempool(self, **limits: float) -> Mempool:
        return Mempool(
            self.state,
            self.seq + 1,
            limits=MempoolLimits(**limits),  # type: ignore[arg-type]
            holdings=self.holdings,
            clock=self.clock,
        )

    def pay(self, payer: Keypair, seq: int, payee: Keypair, amount: int = 150, **kw: object) -> Transaction:
        return signed(payer, seq, Payment(payee.public_key, CURRENCY, amount), **kw)  # type: ignore[arg-type]

    def close(self, transactions: list[Transaction], mempool: Mempool | None = None) -> list[bytes]:
        """Apply ``transactions`` as the next ledger (each must apply) and tell ``mempool``."""
        self.seq += 1
        overlay = StateOverlay(self.state)
        for tx in transactions:
            result = apply_transaction(overlay, tx, ledger_seq=self.seq, signers=tx.signers())
            assert result.code is ResultCode.OK, result
        changes = overlay.changes()
        self.state.apply(changes)
        if mempool is None:
            return []
        included = {tx.hash for tx in transactions}
        return mempool.ledger_closed(self.state, self.seq + 1, included, changes=changes)
