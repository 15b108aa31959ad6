"""Every wire decoder (node.wire, consensus, protocol, the request framing) against random bytes
and mutated real encodings: only the documented typed errors, never anything else."""

from __future__ import annotations

from pathlib import Path

import fuzz_harness as fh

EXAMPLES_PER_TARGET = 100


async def test_decoders_raise_only_their_typed_errors(tmp_path: Path) -> None:
    targets = fh.decoder_targets()
    report = await fh.run_fuzz(tmp_path, EXAMPLES_PER_TARGET * len(targets), targets=targets, seed_base=1)
    assert report.crashes == [], report.as_json()["crash_details"]
    assert set(report.per_target) == {t.name for t in targets}
    assert all(s.examples >= EXAMPLES_PER_TARGET // 2 for s in report.per_target.values()), report.as_json()


def test_mutations_keep_real_encodings_reachable() -> None:
    """The tree mutator re-encodes canonically, so mutated inputs get past msgpack and reach the
    field checks (a fuzzer that only produces malformed msgpack would test one line)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from node import wire
    from protocol.errors import DecodeError

    seed = wire.encode_range_request(5, 10)
    reached = {"field": 0, "ok": 0}

    @settings(max_examples=300, database=None, deadline=None)
    @given(st.just(seed).flatmap(fh.tree_mutation))
    def check(data: bytes) -> None:
        try:
            wire.decode_range_request(data)
            reached["ok"] += 1
        except DecodeError as exc:
            if "msgpack" not in str(exc) and "canonical" not in str(exc):
                reached["field"] += 1

    check()
    assert reached["field"] > 100
