"""A transport with no peers that records what a node broadcasts: for tests that run one real node
(a validator can nominate but never reach its quorum) and look at what it sends."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from node.errors import NetError
from node.wire import SignedEnvelope, decode_frame


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
