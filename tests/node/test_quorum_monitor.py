"""Live quorum health in real nodes on an in-memory network and the virtual clock: GET /quorum,
metrics, /health.

The memnet checks intersection in process (``memnet.check_in_process``); the bounded child process
the nodes use otherwise is tested with ``tally check-quorum`` (tests/consensus/test_check_quorum_cli.py).
"""

from __future__ import annotations

from pathlib import Path

import trio
from memnet import MemoryHub, TestNode, make_validators, start, stop, until
from trio.testing import MockClock

from protocol.addresses import encode_validator


def _quorum(v: TestNode) -> dict[str, object]:
    assert v.node is not None
    return v.node.api.quorum()


async def test_healthy_quorum_then_a_missing_validator(tmp_path: Path, virtual_clock: MockClock) -> None:
    async with trio.open_nursery() as nursery:
        hub = MemoryHub(nursery)
        validators = make_validators(tmp_path, 4, close_interval_ms=100, heartbeat_interval_ms=300)
        for v in validators:
            await start(hub, v)
        first = validators[0]

        def all_agree() -> bool:
            q = _quorum(first)
            return q["agree"] == 3 and q["transitive"]["intersecting"] is True  # type: ignore[index]

        await until(all_agree, "every validator agrees and the quorum intersects")
        q = _quorum(first)
        assert q["survivable_failures"] == 1  # 3 of 4: one more may fail
        assert q["transitive"]["nodes"] == 4  # type: ignore[index]
        assert first.node is not None
        ok, _ = first.node.api.health()
        assert ok
        metrics = first.node.api.metrics_text().decode()
        assert 'tally_quorum_validator_state{state="agree"' in metrics
        assert "tally_quorum_intersecting 1.0" in metrics
        assert "tally_quorum_survivable_failures 1.0" in metrics

        await stop(hub, validators[3])
        gone = validators[3].keypair.public_key

        def one_missing() -> bool:
            q = _quorum(first)
            return q["missing"] == 1 and q["agree"] == 2

        await until(one_missing, "the stopped validator shows as missing")
        q = _quorum(first)
        assert q["survivable_failures"] == 0
        states = {v["id"]: v["state"] for v in q["validators"]}  # type: ignore[attr-defined]
        assert states[encode_validator(gone)] == "missing"
        nursery.cancel_scope.cancel()


async def test_a_quorum_that_can_split_makes_the_node_unhealthy(
    tmp_path: Path, virtual_clock: MockClock
) -> None:
    """2 of 4: ledgers still close, but two pairs could decide apart; the node says so."""
    async with trio.open_nursery() as nursery:
        hub = MemoryHub(nursery)
        validators = make_validators(
            tmp_path, 4, threshold=2, close_interval_ms=100, heartbeat_interval_ms=300
        )
        for v in validators:
            await start(hub, v)
        first = validators[0]
        await until(
            lambda: _quorum(first)["transitive"]["intersecting"] is False,  # type: ignore[index]
            "the monitor finds the split",
        )
        assert first.node is not None
        ok, details = first.node.api.health()
        assert not ok
        assert "can split" in details["quorum"]
        assert "tally_quorum_intersecting 0.0" in first.node.api.metrics_text().decode()
        nursery.cancel_scope.cancel()
