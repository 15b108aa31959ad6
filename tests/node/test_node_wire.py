"""node.wire: an SCP envelope frame is the envelope's kept encoding behind the frame head, and a
decoded envelope keeps the bytes it came in, so relaying or storing it packs nothing again."""

from __future__ import annotations

import hashlib

import pytest

from node import wire
from protocol import codec
from protocol.errors import DecodeError
from protocol.hashing import network_id
from protocol.keys import Keypair

NETWORK = network_id("Wire test network")


def _envelope(text: bytes = b"statement") -> wire.SignedEnvelope:
    keypair = Keypair(hashlib.sha256(b"wire-test").digest())
    return wire.sign_envelope(NETWORK, codec.pack((1, text)), keypair)


def test_envelope_frame_is_the_packed_frame() -> None:
    envelope = _envelope()
    frame = wire.encode_envelope_frame(envelope)
    assert frame == codec.pack(
        (wire.FRAME_ENVELOPE, (wire.ENVELOPE_V1, envelope.statement, envelope.signature))
    )
    assert frame.endswith(envelope.encode())


def test_a_decoded_envelope_keeps_its_bytes() -> None:
    envelope = _envelope(b"x" * 300)
    frame = wire.encode_envelope_frame(envelope)
    decoded = wire.decode_frame(frame)
    assert decoded == envelope
    assert isinstance(decoded, wire.SignedEnvelope)
    assert decoded._bytes.encoded == envelope.encode()  # seeded from the frame, not packed again
    assert wire.encode_envelope_frame(decoded) == frame
    alone = wire.decode_envelope(envelope.encode())
    assert alone._bytes.encoded == envelope.encode()


def test_a_frame_that_is_not_canonical_is_refused_before_any_bytes_are_kept() -> None:
    envelope = _envelope()
    frame = wire.encode_envelope_frame(envelope)
    padded = b"\xdc\x00\x02" + frame[1:]  # the same array with a 16-bit length: not canonical
    with pytest.raises(DecodeError):
        wire.decode_frame(padded)
