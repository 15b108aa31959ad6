"""Security defaults: API on loopback, admin behind its token, key files 0600, size caps on bodies
and frames, per-client rate limits on the API."""

from __future__ import annotations

import os
import stat
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest
import trio
from api_fakes import TOKEN, FakeNode
from api_fakes import asgi_client as _client

from node import wire
from node.api.app import MAX_BODY_BYTES, create_app
from node.config import NodeConfig, load_config
from node.errors import ConfigError
from node.keyfile import read_admin_token, read_key_file, write_key_file
from node.net.framing import FrameReader, FrameTooLarge, encode_frame
from node.ratelimit import RateLimiter
from node.setup import KEY_NAME, TOKEN_NAME, NodeSpec, init_node
from protocol.errors import DecodeError
from protocol.keys import Keypair
from wallet.keystore import Keystore, save_keystore

# -- loopback by default ------------------------------------------------------------------------


def test_api_and_p2p_listen_on_loopback_by_default(tmp_path: Path) -> None:
    config = NodeConfig(
        path=tmp_path / "node.toml",
        role="validator",
        network_passphrase="x",
        data_dir=tmp_path,
        key_file=tmp_path / "k",
    )
    assert config.api_listen.startswith("127.0.0.1:")
    assert config.listen.startswith("/ip4/127.0.0.1/")
    # a generated node folder, loaded back without touching it
    path = init_node(
        tmp_path / "n", NodeSpec("validator", "Tally security test", 0, 8080, (), None), Keypair(b"\x05" * 32)
    )
    loaded = load_config(path)
    assert loaded.api_listen == "127.0.0.1:8080"
    assert loaded.listen.startswith("/ip4/127.0.0.1/")
    # a config that leaves [api] out entirely still binds loopback
    text = "\n".join(line for line in path.read_text().splitlines() if not line.startswith("listen"))
    path.write_text(text)
    assert load_config(path).api_listen == "127.0.0.1:8080"


# -- key files ------------------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_node_key_and_admin_token_are_created_0600_even_with_a_lax_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        init_node(
            tmp_path / "n",
            NodeSpec("validator", "Tally security test", 0, 0, (), None),
            Keypair(b"\x06" * 32),
        )
        write_key_file(tmp_path / "other.key", Keypair(b"\x07" * 32))
    finally:
        os.umask(old)
    assert _mode(tmp_path / "n" / KEY_NAME) == 0o600
    assert _mode(tmp_path / "n" / TOKEN_NAME) == 0o600
    assert _mode(tmp_path / "other.key") == 0o600


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "node.key"
    write_key_file(path, Keypair(b"\x08" * 32))
    assert read_key_file(path).public_key == Keypair(b"\x08" * 32).public_key
    for mode in (0o644, 0o640, 0o604, 0o660):
        path.chmod(mode)
        with pytest.raises(ConfigError, match="chmod 600"):
            read_key_file(path)
    with pytest.raises(ConfigError, match="refusing to overwrite"):
        write_key_file(path, Keypair(b"\x09" * 32))


def test_wallet_keystore_is_written_0600(tmp_path: Path) -> None:
    store = Keystore("tly1x", 1, 8192, b"\x00" * 16, b"\x00" * 24, b"\x00" * 48, "")
    old = os.umask(0)
    try:
        save_keystore(tmp_path / "wallets" / "w.json", store)
    finally:
        os.umask(old)
    assert _mode(tmp_path / "wallets" / "w.json") == 0o600


def test_admin_token_file_must_be_private_and_non_empty(tmp_path: Path) -> None:
    path = tmp_path / "admin.token"
    path.write_text("tok\n")
    path.chmod(0o600)
    assert read_admin_token(path) == "tok"
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        read_admin_token(path)
    path.write_text("  \n")
    path.chmod(0o600)
    with pytest.raises(ConfigError, match="empty"):
        read_admin_token(path)
    with pytest.raises(ConfigError, match="cannot read"):
        read_admin_token(tmp_path / "missing.token")


# -- admin token ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer wrong"},
        {"authorization": "Bearer "},
        {"authorization": ""},
        {"authorization": f"Bearer {TOKEN}x"},
        {"authorization": f"Bearer {TOKEN[:-1]}"},
        {"x-admin-token": TOKEN},
    ],
)
async def test_admin_endpoints_refuse_missing_or_wrong_token(headers: dict[str, str]) -> None:
    node = FakeNode()
    async with _client(create_app(node, admin_token=TOKEN)) as client:  # type: ignore[arg-type]
        response = await client.post("/admin/log-level", json={"level": "debug"}, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert node.admin_calls == []


async def test_admin_endpoint_works_with_the_token() -> None:
    node = FakeNode()
    async with _client(create_app(node, admin_token=TOKEN)) as client:  # type: ignore[arg-type]
        response = await client.post(
            "/admin/log-level", json={"level": "debug"}, headers={"authorization": f"Bearer {TOKEN}"}
        )
    assert response.status_code == 200
    assert node.admin_calls == ["log-level"]


@pytest.mark.parametrize("token", [None, "", "   "])
async def test_admin_is_disabled_without_a_usable_token(token: str | None) -> None:
    """Regression: an empty admin.token made every request without an Authorization header
    an admin (compare_digest("", "") is true)."""
    node = FakeNode()
    async with _client(create_app(node, admin_token=token)) as client:  # type: ignore[arg-type]
        for headers in ({}, {"authorization": "Bearer "}, {"authorization": "Bearer"}):
            response = await client.post("/admin/log-level", json={"level": "debug"}, headers=headers)
            assert response.status_code == 401, headers
    assert node.admin_calls == []


# -- size caps ------------------------------------------------------------------------------------


async def test_oversize_http_bodies_get_413() -> None:
    node = FakeNode()
    big = b'{"tx": "' + b"A" * MAX_BODY_BYTES + b'"}'

    async def chunks() -> Any:  # no Content-Length: the cap must hold while streaming
        for start in range(0, len(big), 256 * 1024):
            yield big[start : start + 256 * 1024]

    async with (
        _client(create_app(node, admin_token=TOKEN)) as client,  # type: ignore[arg-type]
        aclosing(chunks()) as streamed,  # refused half-way: closed here, not at garbage collection
    ):
        for response in (
            await client.post("/tx", content=big),
            await client.post("/tx", content=streamed),
            await client.post("/admin/log-level", content=big, headers={"authorization": f"Bearer {TOKEN}"}),
        ):
            assert response.status_code == 413
            assert response.json()["error"] == "too_large"
        too_many = {"txs": ["AA=="] * 2001}
        response = await client.post("/tx", json=too_many)
        assert response.status_code == 400
    assert node.submitted == 0
    assert node.admin_calls == []


class _Stream:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.read_bytes = 0

    async def read(self, n: int | None = None) -> bytes:
        chunk = self.data[:n]
        self.data = self.data[len(chunk) :]
        self.read_bytes += len(chunk)
        return chunk


async def test_oversize_frames_are_refused_before_their_body_is_read() -> None:
    stream = _Stream(encode_frame(b"x" * 5000))
    with pytest.raises(FrameTooLarge):
        await FrameReader(stream).next_frame(4096)
    assert stream.read_bytes <= 64 * 1024 + 4  # the header and at most one read chunk
    huge = _Stream(b"\xff\xff\xff\xff" + b"x" * 100)
    with pytest.raises(FrameTooLarge):
        await FrameReader(huge).next_frame(8 * 1024 * 1024)


@pytest.mark.parametrize(
    ("decoder", "cap"),
    [
        (wire.decode_frame, wire.MAX_ENVELOPE_BYTES + 16),
        (wire.decode_envelope, wire.MAX_ENVELOPE_BYTES),
        (wire.decode_tx_batch, wire.MAX_TX_BATCH_BYTES),
        (wire.decode_hash_request, 64),
        (wire.decode_range_request, 64),
        (wire.decode_slot_request, 64),
        (wire.decode_latest, 128),
        (wire.decode_ledgers, wire.MAX_LEDGERS_RESPONSE_BYTES + 1024),
    ],
)
def test_every_wire_decoder_refuses_input_over_its_cap(decoder: Any, cap: int) -> None:
    with pytest.raises(DecodeError, match="over the limit"):
        decoder(b"\x00" * (cap + 1))


# -- per-client rate limit -----------------------------------------------------------------------


async def test_submissions_are_rate_limited_per_client() -> None:
    node = FakeNode()
    app = create_app(node, submit_limiter=RateLimiter(rate=0.001, burst=3))  # type: ignore[arg-type]
    body = {"txs": ["AA=="]}
    async with _client(app, "198.51.100.1") as flooder, _client(app, "198.51.100.2") as other:
        statuses = [(await flooder.post("/tx", json=body)).status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
        limited = await flooder.post("/tx", json=body)
        assert limited.json()["error"] == "rate_limited"
        assert (await other.post("/tx", json=body)).status_code == 200


def test_rate_limiter_state_is_bounded() -> None:
    limiter = RateLimiter(rate=1, burst=1, max_clients=100)
    for i in range(10_000):
        limiter.allow(f"10.0.{i // 256}.{i % 256}")
    assert len(limiter._buckets) <= 100


async def test_a_request_flood_does_not_block_the_event_loop() -> None:
    """Many concurrent bad requests are answered; none takes the loop down."""
    node = FakeNode()
    async with _client(create_app(node, admin_token=TOKEN)) as client:  # type: ignore[arg-type]
        results: list[int] = []

        async def one(i: int) -> None:
            results.append((await client.post("/tx", content=b"{" * (i % 50))).status_code)

        async with trio.open_nursery() as nursery:
            for i in range(200):
                nursery.start_soon(one, i)
    assert len(results) == 200
    assert set(results) <= {400}


async def test_every_endpoint_is_rate_limited_per_client_before_the_body_is_read() -> None:
    """Regression: only accepted submissions were limited, so a client could flood any GET
    endpoint, or POST /tx with bodies that never parse, without limit."""
    node = FakeNode()
    app = create_app(node, request_limiter=RateLimiter(rate=0.001, burst=4))  # type: ignore[arg-type]
    async with _client(app, "198.51.100.9") as flooder, _client(app, "198.51.100.10") as other:
        statuses = [(await flooder.post("/tx", content=b"{")).status_code for _ in range(4)]
        assert statuses == [400] * 4
        for method, path in (
            ("POST", "/tx"),
            ("GET", "/health"),
            ("GET", "/ledgers/1"),
            ("POST", "/admin/log-level"),
        ):
            response = await flooder.request(method, path, content=b"{")
            assert response.status_code == 429, path
            assert response.json()["error"] == "rate_limited"
        assert (await other.get("/health")).status_code == 200


@pytest.mark.parametrize("listen", ["127.0.0.1:\u00b2", "127.0.0.1:8\u2460", "127.0.0.1:99999", ":80", "x"])
def test_a_bad_api_listen_value_is_a_config_error(tmp_path: Path, listen: str) -> None:
    """Regression: a port of '²' passed str.isdigit() and crashed load_config with ValueError."""
    path = init_node(
        tmp_path / "n", NodeSpec("validator", "Tally security test", 0, 8080, (), None), Keypair(b"\x0a" * 32)
    )
    path.write_text(path.read_text().replace('listen = "127.0.0.1:8080"', f'listen = "{listen}"'))
    with pytest.raises(ConfigError, match=r"\[api\] listen"):
        load_config(path)
