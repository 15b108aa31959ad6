"""The peer handlers of a real node (on_frame, on_tx_batch, on_request for every request
name) against random and mutated-valid inputs — including statements correctly signed by a
validator (a byzantine validator's view) — while four validators keep closing ledgers."""

from __future__ import annotations

from pathlib import Path

import fuzz_harness as fh


async def test_peer_handlers_survive_fuzzing_and_the_node_keeps_closing(tmp_path: Path) -> None:
    targets = fh.handler_targets()
    assert {t.name for t in targets} >= {
        "on_frame",
        "on_frame:signed",
        "on_tx_batch",
        "on_request:txset",
        "on_request:qset",
        "on_request:ledgers",
        "on_request:latest",
        "on_request:scpstate",
        "on_request:*",
    }
    report = await fh.run_fuzz(tmp_path, 150 * len(targets), targets=targets, seed_base=2)
    assert report.crashes == [], report.as_json()["crash_details"]
    assert report.ledger_after > report.ledger_before, "ledgers kept closing during the fuzzing"
    assert report.seconds_to_next_ledgers < 30
