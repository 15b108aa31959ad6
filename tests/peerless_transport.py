"""A transport with no peers that records what a node broadcasts, and the configuration of a lone
validator: for tests that run one real node in-process and look at what it does and sends."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from consensus import QuorumSet
from node.config import NodeConfig
from node.errors import NetError
from node.wire import SignedEnvelope, decode_frame


def lone_validator_config(tmp_path: Path, quorum_set: QuorumSet, **settings: Any) -> NodeConfig:
    """A validator's configuration with its folder, key file and database under ``tmp_path``
    (``settings``: any other ``NodeConfig`` field, e.g. ``close_interval_ms``)."""
    return NodeConfig(
        path=tmp_path / "node.toml",
        role="validator",
        network_passphrase="Tally test network",
        data_dir=tmp_path / "data",
        key_file=tmp_path / "node.key",
        quorum_set=quorum_set,
        **settings,
    )


class PeerlessTransport:
    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def publish(self, data: bytes) -> None: ...

    def publish_board(self, data: bytes) -> None: ...

    def broadcast(self, frame: bytes, *, exclude: Collection[str] = ()) -> None:
        self.frames.append(frame)

    def send(self, peer: str, frame: bytes) -> None: ...

    async def request(
        self, peer: str, name: str, payload: bytes, *, max_response: int, timeout_s: float = 10.0
    ) -> bytes:
        raise NetError(peer, "unreachable", "no peers here")

    def connected_peers(self) -> list[str]:
        return []

    def peers_info(self) -> list[dict[str, Any]]:
        return []

    def penalize(self, peer: str, reason: str) -> None: ...

    def envelopes(self) -> list[SignedEnvelope]:
        """The SCP envelopes broadcast so far, in order."""
        return [f for f in map(decode_frame, self.frames) if isinstance(f, SignedEnvelope)]
