"""Helpers for the governance tests: a chain that closes real ledgers (``close_ledger``, so
deadlines are decided the way a node decides them), and a governed community to test in."""

from __future__ import annotations

from collections.abc import Sequence

from protocol_support import KEYS, NETWORK, check_invariants, make_tx

from protocol.governance.actions import Action
from protocol.governance.entries import Proposal, proposal_key
from protocol.governance.fund import fund_address
from protocol.governance.operations import CastVote, Propose, VoteChoice
from protocol.governance.rules import AdmissionPolicy, GovernancePolicy, GovernanceRules
from protocol.keys import Keypair
from protocol.ledger import ClosedLedger, CloseValue, LedgerHeader, LedgerParams, close_ledger, make_tx_set
from protocol.operations import AdmitMember, CreateCurrency, CurrencyKind, Mint, Operation
from protocol.results import TxResult
from protocol.state import Currency, Holding, MemoryState, StateAccumulator, StateOverlay
from protocol.transactions import Transaction
from protocol.versions import PROTOCOL_V2

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC, in ms
SECOND = 1000
DAY = 86_400_000
STEWARD, ISSUER, ALICE, BOB, CAROL, DAVE, ERIN, FRANK, GINA, HANS = KEYS[:10]
MEMBERS_RULES = GovernanceRules(GovernancePolicy.MEMBERS, 3600, 50, 50)


class Chain:
    """Ledgers closed one after another through ``close_ledger`` from a header at ``version``.

    Every close checks every invariant from scratch (including the incremental state hash).
    """

    def __init__(self, version: int = PROTOCOL_V2, start_ms: int = T0) -> None:
        self.state = MemoryState()
        self.accumulator = StateAccumulator()
        self.header = LedgerHeader(
            version, 1, NETWORK, start_ms, bytes(32), bytes(32), self.accumulator.digest(), LedgerParams()
        )

    @property
    def now(self) -> int:
        return self.header.close_time_ms

    def close(
        self,
        txs: Sequence[Transaction] = (),
        *,
        after_ms: int = SECOND,
        upgrades: tuple[tuple[str, int], ...] = (),
    ) -> ClosedLedger:
        tx_set = make_tx_set(self.header.hash, txs)
        value = CloseValue(tx_set.hash, self.now + after_ms, upgrades)
        closed = close_ledger(
            self.state, self.accumulator, self.header, tx_set, value, lambda tx: tx.signers()
        )
        self.state.apply(closed.changes)
        self.accumulator = closed.accumulator
        self.header = closed.header
        check_invariants(self.state, self.accumulator)
        return closed

    def tx(
        self, source: Keypair, ops: Sequence[Operation], *, signers: Sequence[Keypair] | None = None
    ) -> Transaction:
        return make_tx(
            source, self.next_seq(source), ops, signers=signers, last_valid_ledger=self.header.seq + 50
        )

    def run(
        self,
        source: Keypair,
        ops: Sequence[Operation],
        *,
        signers: Sequence[Keypair] | None = None,
        after_ms: int = SECOND,
    ) -> TxResult:
        """One transaction in its own ledger, closed ``after_ms`` after the previous one."""
        return self.close([self.tx(source, ops, signers=signers)], after_ms=after_ms).results[0]

    def next_seq(self, key: Keypair) -> int:
        return StateOverlay(self.state).account(key.public_key).seq + 1

    def currency(self, code: str) -> Currency:
        found = StateOverlay(self.state).currency(code)
        assert found is not None
        return found

    def holding(self, who: Keypair | bytes, code: str) -> Holding | None:
        key = who.public_key if isinstance(who, Keypair) else who
        return StateOverlay(self.state).holding(key, code)

    def balance(self, who: Keypair | bytes, code: str) -> int:
        holding = self.holding(who, code)
        return 0 if holding is None else holding.balance

    def fund(self, code: str) -> int:
        return self.balance(fund_address(code), code)

    def proposal(self, code: str, number: int) -> Proposal:
        found = StateOverlay(self.state).get(proposal_key(code, number))
        assert isinstance(found, Proposal)
        return found

    def snapshot(self) -> dict[bytes, bytes]:
        return dict(self.state.entries)

    def propose(self, source: Keypair, code: str, *actions: Action, title: str = "a proposal") -> TxResult:
        return self.run(source, [Propose(code, title, b"", tuple(actions))])

    def vote(self, voter: Keypair, code: str, number: int, choice: VoteChoice) -> TxResult:
        return self.run(voter, [CastVote(code, number, choice)])


def governed_currency(
    code: str,
    *,
    kind: CurrencyKind = CurrencyKind.MUTUAL,
    rules: GovernanceRules | None = MEMBERS_RULES,
    limit: int = 1000,
    demurrage_ppm: int = 0,
    stewards: Sequence[Keypair] = (STEWARD,),
) -> CreateCurrency:
    decimals = 2 if kind is CurrencyKind.TIME else 0
    keys = tuple(k.public_key for k in stewards)
    return CreateCurrency(
        code, kind, decimals, keys, 1, 0 if kind is CurrencyKind.ISSUED else limit, 0, demurrage_ppm, rules
    )


def community(version: int = PROTOCOL_V2) -> Chain:
    """DEMOS: mutual credit governed by its members (1 h votes, quorum 50 %, majority 50 %),
    admitted by STEWARD: ALICE, BOB, CAROL, DAVE. LETS: mutual credit governed by STEWARD:
    ALICE, BOB, ERIN. VOUCHY: admission vouch:2, founders ALICE and BOB. EUROK: issued by
    ISSUER (stewards STEWARD), ALICE holds 500."""
    chain = Chain(version)
    vouch = GovernanceRules(admission=AdmissionPolicy.VOUCH, vouches_needed=2)
    assert chain.run(
        STEWARD,
        [
            governed_currency("DEMOS"),
            governed_currency("LETS", rules=None),
            governed_currency("VOUCHY", rules=vouch),
        ],
    ).ok
    assert chain.run(ISSUER, [governed_currency("EUROK", kind=CurrencyKind.ISSUED, rules=None)]).ok
    admissions = [AdmitMember("DEMOS", k.public_key) for k in (ALICE, BOB, CAROL, DAVE)]
    admissions += [AdmitMember("LETS", k.public_key) for k in (ALICE, BOB, ERIN)]
    admissions += [AdmitMember("VOUCHY", k.public_key) for k in (ALICE, BOB)]
    assert chain.run(STEWARD, admissions).ok
    assert chain.run(ISSUER, [Mint("EUROK", ALICE.public_key, 500)]).ok
    return chain
