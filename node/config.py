"""Node configuration: one TOML file per node, strictly checked at start.

Every key is known and typed: an unknown key (often a typo) or a bad value stops the node with a
message naming the key, instead of being silently ignored. Relative paths are relative to the
config file's folder, so a node folder can be moved as a whole.

Test-only faults (``node.faults``: byzantine modes, peer filters, disk faults) exist only on a node
whose config says ``[testing] enable_test_faults = true``. ``tally testnet`` writes that line into
the configs of its local network; ``tally node init`` never does, and nothing is inferred from
the network passphrase.
"""

from __future__ import annotations

import enum
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consensus import QuorumSet, QuorumSetError, check_quorum_set_sane
from node.errors import ConfigError
from node.netaddr import (
    DEFAULT_P2P_PORT,
    MultiaddrError,
    TcpAddress,
    parse_announce,
    parse_listen,
    parse_peer,
)
from protocol.addresses import decode_validator
from protocol.close_values import UpgradeWishes
from protocol.errors import AddressError
from protocol.hashing import network_id
from protocol.ledger import UPGRADE_MAX_TX_SET_SIZE, UPGRADE_PROTOCOL_VERSION
from protocol.versions import CURRENT_PROTOCOL_VERSION

ROLES = ("validator", "watcher")
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")


class Misbehaviour(enum.Enum):
    """``[testing] misbehave``: how a validator of a test network misbehaves (node.faults)."""

    NONE = "none"
    EQUIVOCATE = "equivocate"
    GARBAGE = "garbage"
    REPLAY = "replay"
    LIE_QSET = "lie-qset"
    SILENT = "silent"


MISBEHAVIOURS = tuple(mode.value for mode in Misbehaviour)
DEFAULT_LISTEN = f"/ip4/127.0.0.1/tcp/{DEFAULT_P2P_PORT}"
MAX_ANNOUNCE = 4  # addresses a node announces (each goes into its signed peer record)


@dataclass(frozen=True)
class NodeConfig:
    """A checked node.toml (``load_config``): every value typed and within its range."""

    path: Path
    role: str
    network_passphrase: str
    data_dir: Path
    key_file: Path
    log_level: str = "info"
    log_format: str = "text"
    listen: str = DEFAULT_LISTEN
    bootstrap: tuple[str, ...] = ()
    announce: tuple[str, ...] = ()  # where other nodes reach this one (behind NAT: the public address)
    quorum_set: QuorumSet | None = None
    close_interval_ms: int = 1000
    heartbeat_interval_ms: int = 60_000
    max_tx_set_size: int = 10_000
    api_listen: str = "127.0.0.1:8080"
    admin_token_file: Path | None = None
    cors_origins: tuple[str, ...] = ()  # web origins allowed to call the API from a browser
    test_faults: bool = False  # [testing] enable_test_faults
    misbehave: Misbehaviour = Misbehaviour.NONE
    protocol_version: int | None = None  # [upgrades] protocol_version: the version this validator votes for
    cpu_by_stage: bool = False  # [metrics] cpu_by_stage: the cost report's CPU meter (node.cpu); it costs

    @property
    def upgrade_wishes(self) -> UpgradeWishes:
        """The upgrades this validator votes for: ``[consensus] max_tx_set_size`` and
        ``[upgrades] protocol_version``; others' values carrying any other upgrade get no vote
        while nominating (protocol.close_values)."""
        wishes = [(UPGRADE_MAX_TX_SET_SIZE, self.max_tx_set_size)]
        if self.protocol_version is not None:
            wishes.append((UPGRADE_PROTOCOL_VERSION, self.protocol_version))
        return UpgradeWishes(tuple(sorted(wishes)))

    @property
    def is_validator(self) -> bool:
        return self.role == "validator"

    @property
    def network_id(self) -> bytes:
        return network_id(self.network_passphrase)


# section -> key -> (type, required)
_SCHEMA: dict[str, dict[str, tuple[type, bool]]] = {
    "node": {
        "role": (str, True),
        "network_passphrase": (str, True),
        "data_dir": (str, True),
        "key_file": (str, True),
        "log_level": (str, False),
        "log_format": (str, False),
    },
    "network": {"listen": (str, False), "announce": (list, False), "bootstrap": (list, False)},
    "consensus": {
        "close_interval_ms": (int, False),
        "heartbeat_interval_ms": (int, False),
        "max_tx_set_size": (int, False),
        "quorum_set": (dict, False),
    },
    "api": {"listen": (str, False), "admin_token_file": (str, False), "cors_origins": (list, False)},
    "testing": {"enable_test_faults": (bool, False), "misbehave": (str, False)},
    "upgrades": {"protocol_version": (int, False)},
    "metrics": {"cpu_by_stage": (bool, False)},
}


def load_config(path: Path) -> NodeConfig:
    """Read and check a node.toml. Raises ConfigError naming the offending key."""
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    values = _check_schema(raw)
    base = path.resolve().parent
    node = values["node"]
    config = NodeConfig(
        path=path,
        role=_choice(node["role"], ROLES, "[node] role"),
        network_passphrase=_nonempty(node["network_passphrase"], "[node] network_passphrase"),
        data_dir=base / node["data_dir"],
        key_file=base / node["key_file"],
        log_level=_choice(node.get("log_level", "info"), LOG_LEVELS, "[node] log_level"),
        log_format=_choice(node.get("log_format", "text"), LOG_FORMATS, "[node] log_format"),
        listen=_address(values["network"].get("listen", DEFAULT_LISTEN), parse_listen, "[network] listen"),
        announce=_addresses(values["network"].get("announce", []), parse_announce, "[network] announce"),
        bootstrap=_addresses(values["network"].get("bootstrap", []), parse_peer, "[network] bootstrap"),
        quorum_set=_quorum_set(values["consensus"].get("quorum_set"), "[consensus.quorum_set]"),
        close_interval_ms=_int_range(
            values["consensus"].get("close_interval_ms", 1000), "[consensus] close_interval_ms", 50, 600_000
        ),
        heartbeat_interval_ms=_int_range(
            values["consensus"].get("heartbeat_interval_ms", 60_000),
            "[consensus] heartbeat_interval_ms",
            100,
            3_600_000,
        ),
        max_tx_set_size=_int_range(
            values["consensus"].get("max_tx_set_size", 10_000), "[consensus] max_tx_set_size", 1, 100_000
        ),
        api_listen=host_port(values["api"].get("listen", "127.0.0.1:8080"), "[api] listen"),
        admin_token_file=(base / values["api"]["admin_token_file"])
        if "admin_token_file" in values["api"]
        else None,
        cors_origins=_origins(values["api"].get("cors_origins", []), "[api] cors_origins"),
        test_faults=values["testing"].get("enable_test_faults", False),
        misbehave=Misbehaviour(
            _choice(values["testing"].get("misbehave", "none"), MISBEHAVIOURS, "[testing] misbehave")
        ),
        protocol_version=_int_range(
            values["upgrades"]["protocol_version"], "[upgrades] protocol_version", 1, CURRENT_PROTOCOL_VERSION
        )
        if "protocol_version" in values["upgrades"]
        else None,
        cpu_by_stage=values["metrics"].get("cpu_by_stage", False),
    )
    if config.is_validator and config.quorum_set is None:
        raise ConfigError("[consensus.quorum_set] is required for a validator")
    if config.quorum_set is None:
        raise ConfigError(
            "[consensus.quorum_set] is required: a watcher trusts the same quorum to verify ledgers"
        )
    if len(config.announce) > MAX_ANNOUNCE:
        raise ConfigError(f"[network] announce: at most {MAX_ANNOUNCE} addresses")
    if config.heartbeat_interval_ms < config.close_interval_ms:
        raise ConfigError("[consensus] heartbeat_interval_ms must be at least close_interval_ms")
    if config.misbehave is not Misbehaviour.NONE and not config.test_faults:
        raise ConfigError(
            "[testing] misbehave needs [testing] enable_test_faults = true: test-only faults exist "
            "only on a local test network (`tally testnet` writes that line; never set it on a real network)"
        )
    return config


def _check_schema(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    values: dict[str, dict[str, Any]] = {}
    for section in raw:
        if section not in _SCHEMA:
            raise ConfigError(f"[{section}]: unknown section (known: {', '.join(_SCHEMA)})")
        if not isinstance(raw[section], dict):
            raise ConfigError(f"{section}: expected a [{section}] table")
    for section, keys in _SCHEMA.items():
        table = raw.get(section, {})
        for key in table:
            if key not in keys:
                raise ConfigError(f"[{section}] {key}: unknown key (known: {', '.join(keys)})")
        for key, (kind, required) in keys.items():
            if key not in table:
                if required:
                    raise ConfigError(f"[{section}] {key}: required key is missing")
                continue
            value = table[key]
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise ConfigError(f"[{section}] {key}: expected {_type_name(kind)}, got {value!r}")
        values[section] = dict(table)
    return values


def _quorum_set(table: Any, where: str, depth: int = 0) -> QuorumSet | None:
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table with threshold, validators, inner_sets")
    unknown = set(table) - {"threshold", "validators", "inner_sets"}
    if unknown:
        raise ConfigError(
            f"{where} {sorted(unknown)[0]}: unknown key (known: threshold, validators, inner_sets)"
        )
    threshold = table.get("threshold")
    if not isinstance(threshold, int) or isinstance(threshold, bool):
        raise ConfigError(f"{where} threshold: expected an integer")
    validators = []
    for text in _strings(table.get("validators", []), f"{where} validators"):
        try:
            validators.append(decode_validator(text))
        except AddressError as exc:
            raise ConfigError(f"{where} validators: {text!r}: {exc}") from None
    inner = table.get("inner_sets", [])
    if not isinstance(inner, list):
        raise ConfigError(f"{where} inner_sets: expected a list of tables")
    inner_sets = []
    for index, item in enumerate(inner):
        found = _quorum_set(item, f"{where}.inner_sets[{index}]", depth + 1)
        if found is not None:
            inner_sets.append(found)
    qset = QuorumSet(threshold, tuple(validators), tuple(inner_sets))
    if depth == 0:
        try:
            check_quorum_set_sane(qset)
        except QuorumSetError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return qset


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}: expected a list of strings")
    return list(value)


def _address(value: str, parse: Callable[[str], TcpAddress], where: str) -> str:
    try:
        return str(parse(value))
    except MultiaddrError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _addresses(value: Any, parse: Callable[[str], TcpAddress], where: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_address(text, parse, where) for text in _strings(value, where)))


def _origins(value: Any, where: str) -> tuple[str, ...]:
    """Browser origins as the Origin header spells them (``https://example.org``, with a port when
    not the default), or ``*`` for any site."""
    origins = _strings(value, where)
    for origin in origins:
        scheme, sep, rest = origin.partition("://")
        if origin != "*" and (scheme not in ("http", "https") or not sep or not rest or "/" in rest):
            raise ConfigError(
                f"{where}: {origin!r} is not an origin; write it like https://example.org or http://127.0.0.1:5173"
            )
    return tuple(origins)


def _choice(value: str, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(allowed)}")
    return value


def _nonempty(value: str, where: str) -> str:
    if not value.strip():
        raise ConfigError(f"{where}: must not be empty")
    return value


def _int_range(value: int, where: str, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ConfigError(f"{where}: {value} is outside {low}..{high}")
    return value


def host_port(value: str, where: str) -> str:
    """``HOST:PORT`` (an API bind address); ConfigError names ``where``."""
    host, _, port = value.rpartition(":")
    if not host or not (port.isascii() and port.isdigit()) or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{where}: expected HOST:PORT such as 127.0.0.1:8080, got {value!r}")
    return value


def _type_name(kind: type) -> str:
    names = {str: "a string", int: "an integer", bool: "true or false", list: "a list", dict: "a table"}
    return names.get(kind, kind.__name__)
