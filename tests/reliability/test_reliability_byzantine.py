"""One validator of four misbehaves (``[testing] misbehave``, real processes): the three honest
ones keep closing ledgers, agree on every one, count the bad messages by reason and score the
bad peer down (or ban it). A silent validator sends nothing to blame: the others only have to
go on without it."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from reliability_net import ProcNet, until

from node import testnet as tn

pytestmark = pytest.mark.slow

# mode -> (invalid-message reason counted by the honest nodes, penalty reason) or None
EXPECTED: dict[str, tuple[str, str] | None] = {
    "equivocate": ("equivocation", "equivocation"),
    "garbage": ("frame_oversize", "frame_oversize"),
    "replay": ("replay", "replay"),
    "lie-qset": ("lie_qset", "lie_qset"),
    "silent": None,
}
LEDGERS = 6


@pytest.mark.parametrize("mode", list(EXPECTED))
async def test_three_honest_validators_outlast_one_misbehaving(tmp_path: Path, mode: str) -> None:
    net = ProcNet(tmp_path, misbehave={"v3": mode})
    honest, bad = net.nodes[:3], net.entry("v3")
    try:
        with trio.fail_after(60):
            await net.start()
            start = max([await net.seq(e) for e in honest])
            await net.until_all_reach(honest, start + LEDGERS)
            expected = EXPECTED[mode]
            if expected is not None:
                reason, penalty = expected

                async def detected() -> bool:
                    counts = [
                        await net.metric(e, "tally_invalid_messages_total", {"reason": reason})
                        for e in honest
                    ]
                    return sum(counts) > 0

                await until(detected)
                penalties = [
                    await net.metric(e, "tally_peer_penalties_total", {"reason": penalty}) for e in honest
                ]
                assert sum(penalties) > 0, penalties
                views = [await net.peer_view(e, bad.peer_id) for e in honest]
                assert any(v["score"] < 0 or v["banned_for_s"] > 0 for v in views), views
            top = min([await net.seq(e) for e in honest])
            await net.agree_up_to(honest, top)
            if mode == "garbage":  # oversize frames cost 50 points each: banned within a few
                bans = [await net.metric(e, "tally_peer_bans_total") for e in honest]
                assert sum(bans) > 0, bans
                # regression: a gossip RPC that is not protobuf crashed the whole node (py-libp2p
                # let the DecodeError escape its pubsub stream handler)
                malformed = [
                    await net.metric(e, "tally_invalid_messages_total", {"reason": "gossip_malformed"})
                    for e in honest
                ]
                assert sum(malformed) > 0, malformed
                assert all(e.pid is not None and tn.pid_alive(e.pid) for e in honest)
    finally:
        await net.close()
