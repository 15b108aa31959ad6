"""A validator whose ledger writes fail (test-network admin action ``disk-fault``: every
WriteBatch fails half way, as on a full disk) stops closing with a clear error and a 503
``/health``, never shows a partial ledger, and resumes by itself once writes work again; the
other three go on meanwhile and everyone agrees afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from reliability_net import ProcNet, until

pytestmark = pytest.mark.slow


async def test_failing_writes_stop_the_node_cleanly_and_it_resumes(tmp_path: Path) -> None:
    net = ProcNet(tmp_path)
    others, victim = net.nodes[:3], net.entry("v3")
    try:
        with trio.fail_after(90):
            await net.start()
            await net.until_all_reach(net.nodes, 3)
            response = await net.admin(victim, "disk-fault", {"fail": True})
            assert response.status_code == 200, response.text

            async def unhealthy() -> bool:
                return (await net.client.get(victim.api + "/health")).status_code == 503

            await until(unhealthy)
            health = (await net.client.get(victim.api + "/health")).json()
            assert health["status"] == "unhealthy"
            assert "cannot write ledgers" in health["error"]
            assert "No space left" in health["error"]
            stopped_at = await net.seq(victim)
            await net.until_all_reach(others, stopped_at + 4)
            assert await net.seq(victim) == stopped_at
            missing = await net.client.get(f"{victim.api}/ledgers/{stopped_at + 1}")
            assert missing.status_code == 404  # no partial ledger
            assert await net.metric(victim, "tally_storage_errors_total") >= 1
            assert await net.metric(victim, "tally_healthy") == 0

            response = await net.admin(victim, "disk-fault", {"fail": False})
            assert response.status_code == 200
            top = max([await net.seq(n) for n in others])
            await net.until_all_reach(net.nodes, top + 2)

            async def healthy() -> bool:
                return (await net.client.get(victim.api + "/health")).status_code == 200

            # writes work again at once; the quorum part of /health follows once the victim has
            # heard its quorum vote again (a ledger it caught up on carries no statements)
            await until(healthy)
            assert "error" not in (await net.client.get(victim.api + "/health")).json()
            await net.agree_up_to(net.nodes, min([await net.seq(n) for n in net.nodes]))
    finally:
        await net.close()
