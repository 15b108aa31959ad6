"""``node.peer_ids.peer_id_for`` (no libp2p) gives exactly libp2p's peer id for every Ed25519 key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from libp2p.crypto.ed25519 import Ed25519PublicKey
from libp2p.peer.id import ID

from node.peer_ids import base58, peer_id_for


def _libp2p_peer_id(public_key: bytes) -> str:
    return str(ID.from_pubkey(Ed25519PublicKey.from_bytes(public_key)).to_base58())


@given(st.binary(min_size=32, max_size=32))
def test_peer_id_equals_libp2ps(public_key: bytes) -> None:
    assert peer_id_for(public_key) == _libp2p_peer_id(public_key)


@pytest.mark.parametrize("public_key", [bytes(32), b"\xff" * 32, bytes(range(32))])
def test_peer_id_equals_libp2ps_at_the_edges(public_key: bytes) -> None:
    assert peer_id_for(public_key) == _libp2p_peer_id(public_key)
    assert peer_id_for(public_key).startswith("12D3KooW")


@pytest.mark.parametrize("size", [0, 31, 33])
def test_other_key_sizes_are_refused(size: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        peer_id_for(b"\x01" * size)


def test_base58_keeps_leading_zero_bytes() -> None:
    assert base58(b"") == ""
    assert base58(b"\0\0\x01") == "112"
    assert base58(b"\x39") == "z"
