"""Listen and announce addresses: parsing, node.toml, ``tally node init`` flags, what a node
announces (never 0.0.0.0), and config errors raised while the node starts (one line, exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from node.cli.app import app
from node.config import DEFAULT_LISTEN, load_config
from node.dial_log import DialFailureLog, dial_error_text
from node.errors import ConfigError, NodeError, StorageError, node_error_in
from node.net.announce import announced_addresses, interface_addresses
from node.netaddr import (
    DEFAULT_P2P_PORT,
    MultiaddrError,
    TcpAddress,
    parse_address,
    parse_announce,
    parse_listen,
    parse_peer,
)

runner = CliRunner()
PEER = "12D3KooWQ6mXHK9P4dTx3fvLtZ9yAjtxm3uhZTtD2AD2RMLA8Bja"


def test_addresses_parse_to_their_parts_and_print_back() -> None:
    for text in (
        "/ip4/203.0.113.7/tcp/4100",
        "/ip6/2001:db8::1/tcp/4100",
        "/dns4/v1.example.org/tcp/4100",
        f"/ip4/127.0.0.1/tcp/4100/p2p/{PEER}",
    ):
        assert str(parse_address(text)) == text
    assert parse_address("/dns/v1.example.org/tcp/1") == TcpAddress("dns", "v1.example.org", 1)
    assert parse_listen("/ip4/0.0.0.0/tcp/4100").unspecified
    assert not parse_listen("/ip4/0.0.0.0/tcp/4100").concrete
    assert parse_peer(f"/ip4/10.0.0.1/tcp/4100/p2p/{PEER}").peer_id == PEER


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ip4/1.2.3.4/tcp/1",
        "/ip4/1.2.3/tcp/1",
        "/ip4/::1/tcp/1",
        "/ip6/1.2.3.4/tcp/1",
        "/ip4/1.2.3.4/udp/1",
        "/ip4/1.2.3.4/tcp/65536",
        "/ip4/1.2.3.4/tcp/-1",
        "/ip4/1.2.3.4/tcp/1/p2p/not-base58!",
        "/ip4/1.2.3.4/tcp/1/quic",
        "/dns4/bad_name/tcp/1",
        "/unix/tmp/x/tcp/1",
        "/ip4/1.2.3.4/tcp/1/p2p/" + "A" * 300,
    ],
)
def test_malformed_addresses_are_refused(text: str) -> None:
    with pytest.raises(MultiaddrError):
        parse_address(text)


def test_each_use_refuses_what_does_not_fit_it() -> None:
    with pytest.raises(MultiaddrError, match="IP address"):
        parse_listen("/dns4/example.org/tcp/4100")
    for unusable in ("/ip4/0.0.0.0/tcp/4100", "/ip6/::/tcp/4100", "/ip4/203.0.113.7/tcp/0"):
        with pytest.raises(MultiaddrError, match=r"not 0\.0\.0\.0"):
            parse_announce(unusable)
    with pytest.raises(MultiaddrError, match="peer id"):
        parse_announce(f"/ip4/203.0.113.7/tcp/4100/p2p/{PEER}")
    with pytest.raises(MultiaddrError, match="/p2p/PEER_ID"):
        parse_peer("/ip4/203.0.113.7/tcp/4100")
    with pytest.raises(MultiaddrError, match="dial"):
        parse_peer(f"/ip4/0.0.0.0/tcp/4100/p2p/{PEER}")


def test_a_node_never_announces_every_interface_or_port_zero() -> None:
    assert announced_addresses(["/ip4/203.0.113.7/tcp/4100"], ["/ip4/0.0.0.0/tcp/4100"], PEER) == [
        f"/ip4/203.0.113.7/tcp/4100/p2p/{PEER}"
    ]
    assert announced_addresses([], [f"/ip4/127.0.0.1/tcp/4100/p2p/{PEER}"], PEER) == [
        f"/ip4/127.0.0.1/tcp/4100/p2p/{PEER}"
    ]
    expanded = announced_addresses([], [f"/ip4/0.0.0.0/tcp/4100/p2p/{PEER}"], PEER)
    assert expanded == [f"/ip4/{ip}/tcp/4100/p2p/{PEER}" for ip in interface_addresses("ip4")]
    assert expanded, "this machine has at least a loopback address"
    assert not any("/0.0.0.0/" in a for a in expanded)
    assert announced_addresses([], ["/ip4/0.0.0.0/tcp/0"], PEER) == []


def _init(folder: Path, *args: str) -> dict[str, object]:
    result = runner.invoke(app, ["node", "init", "--dir", str(folder), "--validator", "--json", *args])
    assert result.exit_code == 0, result.output
    created: dict[str, object] = json.loads(result.output)
    return created


def test_init_defaults_to_a_fixed_port_on_loopback(tmp_path: Path) -> None:
    created = _init(tmp_path / "n")
    config = load_config(Path(str(created["config"])))
    assert config.listen == DEFAULT_LISTEN == f"/ip4/127.0.0.1/tcp/{DEFAULT_P2P_PORT}"
    assert DEFAULT_P2P_PORT != 0
    assert config.announce == ()
    assert created["listen"] == DEFAULT_LISTEN
    assert created["api_listen"] == "127.0.0.1:8080"
    assert {"config", "node_id", "peer_id"} <= set(created)


def test_init_writes_listen_announce_and_api_listen(tmp_path: Path) -> None:
    created = _init(
        tmp_path / "n",
        "--listen",
        "/ip4/0.0.0.0/tcp/4200",
        "--announce",
        "/ip4/203.0.113.7/tcp/4100",
        "--announce",
        "/dns4/v1.example.org/tcp/4100",
        "--api-listen",
        "127.0.0.1:9000",
        "--peer",
        f"/ip4/198.51.100.2/tcp/4100/p2p/{PEER}",
    )
    config = load_config(Path(str(created["config"])))
    assert config.listen == "/ip4/0.0.0.0/tcp/4200"
    assert config.announce == ("/ip4/203.0.113.7/tcp/4100", "/dns4/v1.example.org/tcp/4100")
    assert config.api_listen == "127.0.0.1:9000"
    assert config.bootstrap == (f"/ip4/198.51.100.2/tcp/4100/p2p/{PEER}",)
    assert created["announce"] == list(config.announce)
    text = Path(str(created["config"])).read_text()
    assert "# Where other nodes reach this one" in text, "the announce key is explained in the file"


def test_init_keeps_the_old_port_flags(tmp_path: Path) -> None:
    created = _init(tmp_path / "n", "--p2p-port", "4321", "--api-port", "8321")
    config = load_config(Path(str(created["config"])))
    assert config.listen == "/ip4/127.0.0.1/tcp/4321"
    assert config.api_listen == "127.0.0.1:8321"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--announce", "/ip4/0.0.0.0/tcp/4100"], "not 0.0.0.0"),
        (["--listen", "/dns4/x.org/tcp/4100"], "IP address"),
        (["--listen", "/ip4/0.0.0.0/tcp/1", "--p2p-port", "5"], "either --listen or --p2p-port"),
        (["--api-listen", "127.0.0.1:1", "--api-port", "5"], "either --api-listen or --api-port"),
        (["--api-listen", "nohostport"], "HOST:PORT"),
        (["--peer", "/ip4/198.51.100.2/tcp/4100"], "/p2p/PEER_ID"),
    ],
)
def test_init_refuses_bad_addresses_in_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["node", "init", "--dir", str(tmp_path / "n"), "--validator", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "n" / "node.toml").exists()


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("announce", '["/ip4/0.0.0.0/tcp/4100"]', r"\[network\] announce: .*not 0.0.0.0"),
        ("announce", '"/ip4/203.0.113.7/tcp/4100"', r"\[network\] announce: expected a list"),
        ("listen", '"/ip4/127.0.0.1/tcp/x"', r"\[network\] listen: .*not a TCP port"),
        ("bootstrap", '["/ip4/127.0.0.1/tcp/4100"]', r"\[network\] bootstrap: .*/p2p/PEER_ID"),
    ],
)
def test_bad_network_keys_name_the_key(tmp_path: Path, key: str, value: str, message: str) -> None:
    created = _init(tmp_path / "n")
    validator = str(created["node_id"])
    path = tmp_path / "n" / "bad.toml"
    path.write_text(
        '[node]\nrole = "validator"\nnetwork_passphrase = "Tally local network"\n'
        'data_dir = "data"\nkey_file = "node.key"\n'
        f"[network]\n{key} = {value}\n"
        f'[consensus.quorum_set]\nthreshold = 1\nvalidators = ["{validator}"]\n'
    )
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_errors_raised_inside_nurseries_are_found() -> None:
    config = ConfigError("listen: cannot listen")
    storage = StorageError("disk")
    assert node_error_in(ExceptionGroup("x", [ExceptionGroup("y", [config])])) is config
    assert node_error_in(ExceptionGroup("x", [storage, config])) is config
    assert node_error_in(ExceptionGroup("x", [storage])) is storage
    assert node_error_in(ExceptionGroup("x", [storage, ValueError("bug")])) is None
    assert node_error_in(ValueError("bug")) is None
    assert isinstance(node_error_in(NodeError("plain")), NodeError)


def test_failed_dials_are_logged_once_a_minute_with_their_cause(caplog: pytest.LogCaptureFixture) -> None:
    failures = DialFailureLog()
    refused = ConnectionRefusedError(111, "Connection refused")
    wrapped = RuntimeError("all addresses failed")
    wrapped.__cause__ = refused
    with caplog.at_level("INFO", logger="tally.net"):
        failures.failed(PEER, "/ip4/10.0.0.1/tcp/4100", wrapped, now=0.0, what="bootstrap peer")
        for second in range(1, 60):
            failures.failed(PEER, "/ip4/10.0.0.1/tcp/4100", wrapped, now=float(second), what="bootstrap peer")
        failures.failed(PEER, "/ip4/10.0.0.1/tcp/4100", wrapped, now=61.0, what="bootstrap peer")
        failures.succeeded(PEER, "bootstrap peer")
    lines = [f"{r.getMessage()} {getattr(r, 'fields', {})}" for r in caplog.records]
    assert len([line for line in lines if "cannot reach bootstrap peer" in line]) == 2
    assert "Connection refused" in lines[0]
    assert "10.0.0.1" in lines[0]
    assert "'failures': 60" in lines[1]
    assert "reached bootstrap peer again" in lines[-1]
    assert caplog.records[0].levelname == "WARNING"
    assert "timed out" in dial_error_text(TimeoutError())
