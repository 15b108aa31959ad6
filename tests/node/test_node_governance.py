"""Governance on real validators (LevelDB, mempool, herder, SCP) over the in-memory network:
upgrades happen only when a quorum is configured to want them (one validator alone can no longer
change ``max_tx_set_size`` or the protocol version for everyone), and a ledger closes at a
proposal's deadline instead of waiting for the idle heartbeat."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import nacl.utils
import pytest
import trio
from memnet import MemoryHub, TestNode, make_validators, start, until
from trio.testing import MockClock

import node.herder
from node.assembly import AssembledNode
from protocol.governance.actions import SetDefaultCreditLimit
from protocol.governance.entries import ProposalStatus, proposal_key
from protocol.governance.operations import CastVote, Propose, VoteChoice
from protocol.governance.rules import GovernancePolicy, GovernanceRules
from protocol.keys import Keypair
from protocol.operations import AdmitMember, CreateCurrency, CurrencyKind, Operation
from protocol.state import StateOverlay
from protocol.transactions import Transaction, TransactionBody, build_transaction
from protocol.versions import PROTOCOL_V1, PROTOCOL_V2

TIMEOUT_S = 60


def _configure(nodes: list[TestNode], wanting: int, **settings: object) -> None:
    """The first ``wanting`` validators' operators configure ``settings``."""
    for test_node in nodes[:wanting]:
        test_node.config = dataclasses.replace(test_node.config, **settings)  # type: ignore[arg-type]


async def _run_ledgers(nodes: list[TestNode], count: int) -> list[AssembledNode]:
    running = [n.node for n in nodes if n.node is not None]
    target = running[0].chain.last.seq + count
    await until(
        lambda: all(n.chain.last.seq >= target for n in running), f"every validator at ledger {target}"
    )
    return running


@pytest.mark.parametrize(
    ("wanting", "changes"),
    [(1, False), (2, False), (3, True), (4, True)],  # quorum threshold 3 of 4
)
async def test_an_upgrade_needs_a_quorum_that_wants_it(
    tmp_path: Path, wanting: int, changes: bool, virtual_clock: MockClock
) -> None:
    async with trio.open_nursery() as nursery:
        hub = MemoryHub(nursery)
        validators = make_validators(tmp_path, 4, close_interval_ms=50, heartbeat_interval_ms=200)
        _configure(validators, wanting, max_tx_set_size=500, protocol_version=PROTOCOL_V2)
        for v in validators:
            await start(hub, v)
        running = await _run_ledgers(validators, 6)
        common = min(n.chain.last.seq for n in running)
        headers = [n.chain.store.header(common) for n in running]
        assert len({h.hash for h in headers if h is not None}) == 1
        assert {h.version for h in headers if h is not None} == {PROTOCOL_V2 if changes else PROTOCOL_V1}
        assert {h.params.max_tx_set_size for h in headers if h is not None} == {500 if changes else 10_000}
        nursery.cancel_scope.cancel()


def _tx(node: AssembledNode, source: Keypair, seq: int, *ops: Operation) -> Transaction:
    body = TransactionBody(source.public_key, seq, 100_000, b"", ops)
    return build_transaction(node.api.network_id, body, (source,))


async def test_a_ledger_closes_at_a_proposals_deadline_on_an_idle_network(
    tmp_path: Path, virtual_clock: MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The wall clock follows trio's virtual clock, so 30 s of voting pass in no real time.
    base_ms = 1_800_000_000_000
    monkeypatch.setattr(node.herder, "wall_ms", lambda: base_ms + int(trio.current_time() * 1000))
    async with trio.open_nursery() as nursery:
        hub = MemoryHub(nursery)
        validators = make_validators(tmp_path, 3, close_interval_ms=100, heartbeat_interval_ms=600_000)
        _configure(validators, 3, protocol_version=PROTOCOL_V2)
        for v in validators:
            await start(hub, v)
        first = validators[0].node
        assert first is not None
        steward, alice, bob = (Keypair(nacl.utils.random(32)) for _ in range(3))
        rules = GovernanceRules(GovernancePolicy.MEMBERS, 30, 50, 50)
        # the upgrade to version 2 rides on the first ledger that closes (every validator wants it)
        start_tx = _tx(
            first, steward, 1, CreateCurrency("START", CurrencyKind.MUTUAL, 0, (steward.public_key,), 1, 10)
        )
        assert first.api.submit([start_tx])[0].accepted
        await first.api.wait_for([start_tx.hash], TIMEOUT_S)
        assert first.chain.last.version == PROTOCOL_V2
        create = _tx(
            first,
            steward,
            2,
            CreateCurrency("DEMOS", CurrencyKind.MUTUAL, 0, (steward.public_key,), 1, 10, 0, 0, rules),
        )
        admit = _tx(
            first, steward, 3, AdmitMember("DEMOS", alice.public_key), AdmitMember("DEMOS", bob.public_key)
        )
        propose = _tx(first, alice, 1, Propose("DEMOS", "More credit", b"", (SetDefaultCreditLimit(20),)))
        votes = [_tx(first, k, s, CastVote("DEMOS", 1, VoteChoice.YES)) for k, s in ((alice, 2), (bob, 1))]
        for batch in ([create], [admit], [propose], votes):
            assert all(a.accepted for a in first.api.submit(batch)), first.api.submit(batch)
            await first.api.wait_for([t.hash for t in batch], TIMEOUT_S)
            assert all(first.api.tx_status(t.hash).code == "ok" for t in batch)

        def proposal() -> object:
            return StateOverlay(first.chain.store).get(proposal_key("DEMOS", 1))

        made = proposal()
        assert made.status is ProposalStatus.OPEN  # type: ignore[attr-defined]
        # TIMEOUT_S virtual seconds: twice the voting period, far less than the 600 s heartbeat
        await until(lambda: proposal().status is not ProposalStatus.OPEN, "the vote is counted")  # type: ignore[attr-defined]
        decided_in = first.chain.last
        assert proposal().status is ProposalStatus.PASSED  # type: ignore[attr-defined]
        assert made.deadline_ms <= decided_in.close_time_ms < made.deadline_ms + 5_000  # type: ignore[attr-defined]
        currency = StateOverlay(first.chain.store).currency("DEMOS")
        assert currency is not None
        assert currency.default_credit_limit == 20
        nursery.cancel_scope.cancel()
