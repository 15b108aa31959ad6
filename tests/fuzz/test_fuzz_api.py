"""Every HTTP endpoint of create_app on a real LedgerNode: random methods, paths, queries,
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
