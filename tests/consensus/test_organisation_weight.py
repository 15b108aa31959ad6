"""Leader weights as the node's herder uses them."""

from __future__ import annotations

from consensus import QuorumSet, organisation_weight
from consensus._quorum import U64_MAX


def test_standalone_validators_have_full_weight_and_an_organisation_shares_one() -> None:
    a, b, c, d, e, outsider = (bytes([n]) * 32 for n in range(1, 7))
    qset = QuorumSet(2, (a, b), (QuorumSet(2, (c, d, e)),))
    assert organisation_weight(a, qset, is_local=False) == U64_MAX
    assert organisation_weight(c, qset, is_local=False) == U64_MAX // 3
    assert organisation_weight(outsider, qset, is_local=False) == 0
    assert organisation_weight(outsider, qset, is_local=True) == U64_MAX
