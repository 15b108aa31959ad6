"""The test-only switches stay test-only, and the honest-side equivocation check is exact."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from consensus import Ballot, Nominate, Prepare, Statement
from node.misbehave import ADMIN_ACTIONS, NominationWatch, admin_action, is_test_network

NODE = b"\x01" * 32
QSET = b"\x02" * 32


def _nominate(slot: int, votes: tuple[bytes, ...], accepted: tuple[bytes, ...] = ()) -> Statement:
    return Statement(NODE, slot, QSET, Nominate(tuple(sorted(votes)), tuple(sorted(accepted))))


@pytest.mark.parametrize("action", ADMIN_ACTIONS)
def test_admin_fault_actions_are_refused_off_test_networks(action: str) -> None:
    node: Any = SimpleNamespace(identity=SimpleNamespace(network_passphrase="Tally community network 2027"))
    with pytest.raises(ValueError, match="only allowed on a test network"):
        admin_action(node, action, {"block": [], "fail": True})


def test_test_network_markers() -> None:
    assert is_test_network("Tally local testnet")
    assert not is_test_network("Tally community network 2027")


def test_growing_nominations_are_fine_and_contradicting_ones_are_caught() -> None:
    watch = NominationWatch()
    assert not watch.conflicting(_nominate(5, (b"a",)))
    assert not watch.conflicting(_nominate(5, (b"a", b"b")))
    assert not watch.conflicting(_nominate(5, (b"a", b"b"), (b"a",)))
    assert not watch.conflicting(_nominate(5, (b"a",)))  # an older one arriving late
    assert watch.conflicting(_nominate(5, (b"c",)))
    assert not watch.conflicting(_nominate(6, (b"c",)))  # another slot
    assert not watch.conflicting(Statement(NODE, 5, QSET, Prepare(Ballot(1, b"z"))))
    watch.forget_below(7)
    assert not watch.conflicting(_nominate(5, (b"z",)))
