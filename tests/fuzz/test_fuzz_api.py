"""Every HTTP endpoint of create_app on a real node: random methods, paths, queries,
headers and bodies (random JSON, mutated real transactions): never a 5xx, every error a JSON
``{"error", "message"}`` answer, admin only with the token."""

from __future__ import annotations

from pathlib import Path

import fuzz_harness as fh


async def test_http_endpoints_answer_every_fuzzed_request_with_json(tmp_path: Path) -> None:
    report = await fh.run_fuzz(tmp_path, 900, targets=fh.http_targets(), seed_base=3)
    assert report.crashes == [], report.as_json()["crash_details"]
    assert report.per_target["http"].examples >= 600
    assert report.ledger_after > report.ledger_before


async def test_regression_unicode_digits_and_huge_cursors_are_400_not_500(tmp_path: Path) -> None:
    """Found by this fuzzer: str.isdigit() accepts '²' and '①' (int() refuses them), and a
    history cursor past 2**32 overflowed the database key packing; both answered 500."""
    async with fh.fuzz_network(tmp_path) as net:
        address = net.addresses[1]
        for path in (
            "/ledgers/%C2%B2",
            "/ledgers/1%E2%91%A0",
            f"/accounts/{address}/history?before=%C2%B2.1",
            f"/accounts/{address}/history?before=1.%C2%B2",
            f"/accounts/{address}/history?before=99999999999999999999.1",
            f"/accounts/{address}/history?before=1.99999999999",
            f"/accounts/{address}/history?before=4294967296.0",
        ):
            response = await net.client.get(path)
            assert response.status_code == 400, (path, response.text)
            assert response.json()["error"] == "bad_request"
        assert (
            await net.client.get(f"/accounts/{address}/history?before=4294967295.4294967295")
        ).status_code == 200
        assert (await net.client.get("/ledgers/%D9%A1")).status_code == 400  # Arabic-Indic 1: ASCII only
        assert (await net.client.get("/ledgers/1")).status_code == 200
