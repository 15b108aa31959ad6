"""The test-only switches stay test-only, and the honest-side equivocation check is exact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nacl.utils
import pytest

from consensus import Ballot, Nominate, Prepare, QuorumSet, Statement
from node.assembly import assemble_node
from node.config import NodeConfig
from node.errors import AdminForbiddenError
from node.facade import TEST_ONLY_ADMIN_ACTIONS
from node.metrics import NodeMetrics
from node.nomination_watch import NominationWatch
from protocol.keys import Keypair

NODE = b"\x01" * 32
QSET = b"\x02" * 32


def _nominate(slot: int, votes: tuple[bytes, ...], accepted: tuple[bytes, ...] = ()) -> Statement:
    return Statement(NODE, slot, QSET, Nominate(tuple(sorted(votes)), tuple(sorted(accepted))))


class _NoPeers:
    def publish(self, data: bytes) -> None: ...
    def publish_board(self, data: bytes) -> None: ...
    def broadcast(self, frame: bytes, *, exclude: object = ()) -> None: ...
    def send(self, peer: str, frame: bytes) -> None: ...

    async def request(
        self, peer: str, name: str, payload: bytes, *, max_response: int, timeout_s: float = 10.0
    ) -> bytes:
        raise AssertionError("no requests here")

    def connected_peers(self) -> list[str]:
        return []

    def peers_info(self) -> list[dict[str, Any]]:
        return []

    def penalize(self, peer: str, reason: str) -> None: ...


@pytest.mark.parametrize(
    "passphrase", ["Tally community network 2027", "Tally local testnet", "dev test local"]
)
@pytest.mark.parametrize("action", TEST_ONLY_ADMIN_ACTIONS)
async def test_admin_fault_actions_are_refused_off_test_networks(
    tmp_path: Path, action: str, passphrase: str
) -> None:
    """Off a test network, i.e. without ``[testing] enable_test_faults``: whatever the passphrase says."""
    keypair = Keypair(nacl.utils.random(32))
    config = NodeConfig(
        path=tmp_path / "node.toml",
        role="validator",
        network_passphrase=passphrase,
        data_dir=tmp_path / "data",
        key_file=tmp_path / "node.key",
        quorum_set=QuorumSet(1, (keypair.public_key,)),
    )
    node = assemble_node(config=config, keypair=keypair, transport=_NoPeers(), metrics=NodeMetrics())
    try:
        with pytest.raises(AdminForbiddenError, match="only"):
            node.api.admin(action, {"block": [], "fail": True})
    finally:
        node.store.close()


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
