"""Shared helpers for the protocol tests: fixed keys, a network, signed transactions, and a
dict-backed ledger that applies transactions one by one and checks every invariant."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from protocol.apply import apply_transaction
from protocol.codec import INT64_MAX
from protocol.designs.clearing import clearing_address
from protocol.designs.entries import Accreditation, Business, DesignEntry, ExchangeAgreement, Guardianship
from protocol.designs.terms import Acceptance
from protocol.governance.deadlines import HOUR_MS
from protocol.governance.entries import (
    DeadlineBucket,
    DeadlineIndex,
    GovernanceEntry,
    Proposal,
    ProposalStatus,
    VoteRecord,
)
from protocol.governance.fund import fund_address
from protocol.governance.operations import VoteChoice
from protocol.hashing import blake2b256, network_id
from protocol.keys import Keypair
from protocol.operations import (
    AdmitMember,
    CreateCurrency,
    CurrencyKind,
    Operation,
)
from protocol.results import ResultCode, TxResult
from protocol.state import (
    NO_EXTENSION,
    Account,
    Currency,
    Holding,
    MemoryState,
    Role,
    StateAccumulator,
    StateOverlay,
    account_key,
)
from protocol.transactions import Transaction, TransactionBody, build_transaction
from protocol.versions import PROTOCOL_V1

NETWORK = network_id("Tally test network ; 2026")
OTHER_NETWORK = network_id("Tally other network")


def keypair(index: int) -> Keypair:
    """A fixed keypair per index (deterministic across runs)."""
    return Keypair(blake2b256(b"test key %d" % index))


KEYS = [keypair(i) for i in range(12)]


def make_tx(
    source: Keypair,
    seq: int,
    ops: Sequence[Operation],
    *,
    signers: Iterable[Keypair] | None = None,
    last_valid_ledger: int = 1_000_000,
    memo: bytes = b"",
    network: bytes = NETWORK,
) -> Transaction:
    body = TransactionBody(source.public_key, seq, last_valid_ledger, memo, tuple(ops))
    return build_transaction(network, body, [source] if signers is None else signers)


class Ledger:
    """Committed dict state plus the running accumulator; ``submit`` applies one transaction in
    its own root overlay (as ``close_ledger`` would for a one-transaction set)."""

    def __init__(
        self, ledger_seq: int = 2, *, protocol_version: int = PROTOCOL_V1, close_time_ms: int = 0
    ) -> None:
        self.state = MemoryState()
        self.accumulator = StateAccumulator()
        self.ledger_seq = ledger_seq
        self.protocol_version = protocol_version
        self.close_time_ms = close_time_ms

    def submit(self, tx: Transaction) -> TxResult:
        overlay = StateOverlay(self.state)
        result = apply_transaction(
            overlay,
            tx,
            ledger_seq=self.ledger_seq,
            signers=tx.signers(),
            close_time_ms=self.close_time_ms,
            protocol_version=self.protocol_version,
        )
        changes = overlay.changes()
        self.state.apply(changes)
        self.accumulator = self.accumulator.updated(changes)
        return result

    def seq_of(self, key: Keypair | bytes) -> int:
        public = key.public_key if isinstance(key, Keypair) else key
        return self.account(public).seq

    def account(self, public: bytes) -> Account:
        overlay = StateOverlay(self.state)
        return overlay.account(public)

    def next_seq(self, key: Keypair) -> int:
        return self.seq_of(key) + 1

    def run(self, source: Keypair, ops: Sequence[Operation], **kwargs: object) -> TxResult:
        """Build, sign and submit a transaction with the source's next sequence number."""
        tx = make_tx(source, self.next_seq(source), ops, **kwargs)  # type: ignore[arg-type]
        return self.submit(tx)

    def holding(self, account: Keypair, code: str) -> Holding | None:
        return StateOverlay(self.state).holding(account.public_key, code)

    def currency(self, code: str) -> Currency | None:
        return StateOverlay(self.state).currency(code)

    def snapshot(self) -> dict[bytes, bytes]:
        return dict(self.state.entries)


def check_invariants(state: MemoryState, accumulator: StateAccumulator | None = None) -> None:
    """Every ledger invariant, checked from scratch over the whole state."""
    currencies: dict[str, Currency] = {}
    holdings: dict[str, list[Holding]] = defaultdict(list)
    governance: list[GovernanceEntry] = []
    designs: list[DesignEntry] = []
    for entry in state.decoded():
        if isinstance(entry, Currency):
            currencies[entry.code] = entry
        elif isinstance(entry, Holding):
            holdings[entry.currency].append(entry)
            assert (entry.role is Role.FUND) == (entry.account == fund_address(entry.currency))
        elif isinstance(entry, Account):
            assert entry.seq >= 0
            assert 1 <= entry.threshold <= sum(w for _, w in entry.signers)
        elif isinstance(entry, Accreditation | Business | ExchangeAgreement | Guardianship):
            designs.append(entry)
        else:
            governance.append(entry)
    for code in holdings:
        assert code in currencies, f"a holding of {code} exists without the currency"
    for code, currency in currencies.items():
        items = holdings.get(code, [])
        total = sum(h.balance for h in items)
        if currency.kind.is_mutual_credit:
            assert total == 0, f"{code}: mutual credit sums to {total}, not 0"
            assert currency.supply == sum(h.balance for h in items if h.balance > 0)
            assert currency.members == sum(1 for h in items if h.member)
            for h in items:
                # only members, suspended members and the fund hold mutual credit: leavers and
                # the expelled handed their balance to the fund
                assert h.balance == 0 or h.role in _HOLDS_CREDIT, f"{code}: a {h.role.value} holds credit"
                # (a lowered limit may leave old debt beyond it: the per-transaction check in
                # test_apply_properties makes sure *new* debt never passes the current limit)
        else:
            assert total == currency.supply, f"{code}: supply {currency.supply} != balances {total}"
            for h in items:
                assert h.balance >= 0, f"{code}: an issued balance went below zero"
        assert 0 <= currency.supply <= INT64_MAX
        assert all(-INT64_MAX <= h.balance <= INT64_MAX for h in items)
        if currency.max_balance and currency.extension == NO_EXTENSION:
            # (with governance a lowered ceiling may leave balances above it, and the fund has none)
            for h in items:
                assert h.balance <= currency.max_balance
    check_governance_invariants(currencies, governance)
    check_design_invariants(currencies, holdings, designs)
    if accumulator is not None:
        scratch = StateAccumulator()
        from protocol.state import Change

        scratch = scratch.updated(
            Change(key, None, raw, entry)
            for (key, raw), entry in zip(state.entries.items(), state.decoded(), strict=True)
        )
        assert scratch.digest() == accumulator.digest(), "incremental state hash != from-scratch"


_HOLDS_CREDIT = frozenset({Role.MEMBER, Role.SUSPENDED, Role.FUND, Role.CLEARING})


def check_design_invariants(
    currencies: dict[str, Currency], holdings: dict[str, list[Holding]], entries: list[DesignEntry]
) -> None:
    """Guarantors stay members; an agreement in force has both clearing accounts open, and every
    clearing account belongs to an agreement; businesses and accreditations belong to currencies
    with those terms; guardianships are well formed."""
    for code, currency in currencies.items():
        if currency.extension.terms.guaranteed:
            guarantor = [h for h in holdings.get(code, []) if h.account == currency.issuer]
            assert [h.role for h in guarantor] == [Role.MEMBER], f"{code}: the guarantor is no member"
    agreements = [e for e in entries if isinstance(e, ExchangeAgreement)]
    clearing = {
        (code, clearing_address(code, partner))
        for a in agreements
        for code, partner in ((a.a, a.b), (a.b, a.a))
    }
    for a in agreements:
        assert a.a < a.b
        assert min(a.rate_num, a.rate_den) >= 1
        if a.in_force:
            for code, partner in ((a.a, a.b), (a.b, a.a)):
                found = [h for h in holdings.get(code, []) if h.account == clearing_address(code, partner)]
                assert [h.role for h in found] == [Role.CLEARING]
    for code, items in holdings.items():
        for h in items:
            if h.role is Role.CLEARING:
                assert (code, h.account) in clearing, f"{code}: a clearing account without an agreement"
    for entry in entries:
        if isinstance(entry, Business):
            assert currencies[entry.currency].extension.terms.accept is Acceptance.REGISTERED
        elif isinstance(entry, Accreditation):
            assert currencies[entry.currency].extension.terms.guaranteed
        elif isinstance(entry, Guardianship):
            assert len(set(entry.guardians)) == len(entry.guardians)
            assert entry.account not in entry.guardians
            assert bool(entry.started_key) == bool(entry.due_ms)


def check_governance_invariants(currencies: dict[str, Currency], entries: list[GovernanceEntry]) -> None:
    """Proposal counters match the proposals; votes match the counts; every open proposal is in
    the deadline queue exactly once, and the index lists exactly the hours with queued items."""
    proposals = [e for e in entries if isinstance(e, Proposal)]
    votes = [e for e in entries if isinstance(e, VoteRecord)]
    buckets = {e.hour: e for e in entries if isinstance(e, DeadlineBucket)}
    index = next((e for e in entries if isinstance(e, DeadlineIndex)), DeadlineIndex(()))
    for code, currency in currencies.items():
        mine = [p for p in proposals if p.currency == code]
        assert currency.extension.proposals == len(mine)
        assert sorted(p.number for p in mine) == list(range(1, len(mine) + 1))
        assert currency.extension.open_proposals == sum(1 for p in mine if p.status is ProposalStatus.OPEN)
    for proposal in proposals:
        cast = [v for v in votes if (v.currency, v.number) == (proposal.currency, proposal.number)]
        assert len(cast) == proposal.yes + proposal.no + proposal.abstain
        assert sum(v.choice is VoteChoice.YES for v in cast) == proposal.yes
        assert sum(v.choice is VoteChoice.NO for v in cast) == proposal.no
    queued = sorted(item for bucket in buckets.values() for item in bucket.items)
    open_ones = sorted(
        (p.deadline_ms, p.currency, p.number) for p in proposals if p.status is ProposalStatus.OPEN
    )
    assert queued == open_ones
    assert list(index.hours) == sorted(h for h, b in buckets.items() if b.items)
    for hour, bucket in buckets.items():
        assert all(deadline // HOUR_MS == hour for deadline, _, _ in bucket.items)


def mutual_currency(
    code: str,
    stewards: Sequence[Keypair],
    *,
    threshold: int = 1,
    limit: int = 1000,
    kind: CurrencyKind = CurrencyKind.MUTUAL,
    max_balance: int = 0,
) -> CreateCurrency:
    decimals = 2 if kind is CurrencyKind.TIME else 0
    return CreateCurrency(
        code, kind, decimals, tuple(k.public_key for k in stewards), threshold, limit, max_balance
    )


def issued_currency(code: str, stewards: Sequence[Keypair], *, max_balance: int = 0) -> CreateCurrency:
    return CreateCurrency(
        code, CurrencyKind.ISSUED, 2, tuple(k.public_key for k in stewards), 1, 0, max_balance
    )


def admit(code: str, *members: Keypair, limit: int | None = None) -> list[Operation]:
    return [AdmitMember(code, m.public_key, limit) for m in members]


def account_entry_key(key: Keypair) -> bytes:
    return account_key(key.public_key)


OK = ResultCode.OK
