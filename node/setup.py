"""``tally node init``: a node folder with a commented ``node.toml``, its key and admin token.

The testnet generator uses the same renderer, so every node config in the project has one shape.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from node.errors import ConfigError
from node.keyfile import write_key_file
from node.netaddr import DEFAULT_P2P_PORT
from protocol.addresses import encode_validator
from protocol.keys import Keypair
from protocol.versions import CURRENT_PROTOCOL_VERSION

CONFIG_NAME = "node.toml"
KEY_NAME = "node.key"
TOKEN_NAME = "admin.token"


@dataclass(frozen=True)
class QuorumSetSpec:
    threshold: int
    validators: tuple[str, ...]  # tlyv1… ids
    inner_sets: tuple[QuorumSetSpec, ...] = ()


@dataclass(frozen=True)
class NodeSpec:
    role: str
    network_passphrase: str
    p2p_port: int
    api_port: int
    bootstrap: tuple[str, ...]
    quorum_set: QuorumSetSpec | None
    close_interval_ms: int = 1000
    heartbeat_interval_ms: int = 60_000
    log_format: str = "text"
    host: str = "127.0.0.1"  # the p2p listen address (and the API's, unless api_host is set)
    api_host: str | None = None
    enable_test_faults: bool = False  # only `tally testnet` sets it (node.faults); `node init` never
    listen: str | None = None  # a full listen multiaddr; overrides host and p2p_port
    announce: tuple[str, ...] = ()  # addresses other nodes dial to reach this one
    api_listen: str | None = None  # HOST:PORT; overrides api_host and api_port
    protocol_version: int | None = CURRENT_PROTOCOL_VERSION  # [upgrades]: the version it votes for
    cpu_by_stage: bool = False  # [metrics]: the cost report's CPU meter (benchmarks turn it on)

    @property
    def listen_address(self) -> str:
        return self.listen or f"/ip4/{self.host}/tcp/{self.p2p_port}"

    @property
    def api_address(self) -> str:
        return self.api_listen or f"{self.api_host or self.host}:{self.api_port}"


def init_node(folder: Path, spec: NodeSpec, keypair: Keypair) -> Path:
    """Create ``folder`` with node.toml, node.key (0600) and admin.token (0600).

    For a validator without an explicit quorum set, the quorum set is the validator alone
    (a one-node network), which is what a first node of a new community needs.

    Raises:
        ConfigError: the folder already holds a node.
    """
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / CONFIG_NAME
    if config_path.exists():
        raise ConfigError(f"{config_path} already exists; choose another --dir or remove it first")
    write_key_file(folder / KEY_NAME, keypair)
    _write_secret(folder / TOKEN_NAME, secrets.token_urlsafe(32))
    quorum = spec.quorum_set
    if quorum is None and spec.role == "validator":
        quorum = QuorumSetSpec(1, (encode_validator(keypair.public_key),))
    config_path.write_text(render_config(spec, quorum, encode_validator(keypair.public_key)))
    return config_path


def render_config(spec: NodeSpec, quorum: QuorumSetSpec | None, node_id: str) -> str:
    lines = [
        "# Tally node configuration. Unknown keys are refused at start, so a typo never goes unnoticed.",
        f"# This node's validator id (its public key): {node_id}",
        "",
        "[node]",
        f'role = "{spec.role}"                       # "validator" votes in consensus; "watcher" follows and serves the API',
        f'network_passphrase = "{_escape(spec.network_passphrase)}"   # every node of a network must use the same one',
        'data_dir = "data"                          # LevelDB ledger database (relative to this file)',
        f'key_file = "{KEY_NAME}"                     # secret key (mode 0600); never share it',
        'log_level = "info"                         # debug | info | warning | error',
        f'log_format = "{spec.log_format}"                        # text | json',
        "",
        "[network]",
        f'listen = "{spec.listen_address}"     # where this node accepts peers (/ip4/0.0.0.0/tcp/{DEFAULT_P2P_PORT}: every interface)',
        "# Where other nodes reach this one (behind NAT or a port forward: the public address and port).",
        "# Empty: the listen address when it names one host, else this machine's interface addresses.",
        "announce = [",
        *[f'  "{address}",' for address in spec.announce],
        "]",
        "bootstrap = [                              # peers to dial at start and whenever the link drops",
        *[f'  "{peer}",' for peer in spec.bootstrap],
        "]",
        "",
        "[consensus]",
        f"close_interval_ms = {spec.close_interval_ms}                  # target time between ledgers while transactions wait",
        f"heartbeat_interval_ms = {spec.heartbeat_interval_ms}             # an idle network still closes one ledger this often",
    ]
    if quorum is not None:
        lines += [
            "",
            "# Whom this node trusts: a ledger is final once `threshold` of these (and of each inner set) agree.",
            "# Every two quorums of the network must intersect; check with `tally check-quorum`.",
        ]
        lines += _render_qset(quorum, "consensus.quorum_set")
    if spec.protocol_version is not None:
        lines += [
            "",
            "# Upgrades this validator votes for. The network moves to a protocol version only when a quorum",
            "# of validators votes for it; until then its new operations (proposals, votes…) are refused.",
            "[upgrades]",
            f"protocol_version = {spec.protocol_version}",
        ]
    lines += [
        "",
        "[api]",
        f'listen = "{spec.api_address}"              # HTTP API; keep it on loopback unless a proxy guards it',
        f'admin_token_file = "{TOKEN_NAME}"        # bearer token for /admin endpoints (mode 0600)',
        "",
    ]
    if spec.cpu_by_stage:
        lines += [
            "# Count CPU by stage for the cost report (scripts/bench). It makes the event loop dearer.",
            "[metrics]",
            "cpu_by_stage = true",
            "",
        ]
    if spec.enable_test_faults:
        lines += [
            "# A local test network: test-only faults are allowed ([testing] misbehave, and the admin",
            "# actions peer-filter and disk-fault). Never set this on a real network.",
            "[testing]",
            "enable_test_faults = true",
            "",
        ]
    return "\n".join(lines)


def _render_qset(qset: QuorumSetSpec, table: str, *, array: bool = False) -> list[str]:
    header = f"[[{table}]]" if array else f"[{table}]"
    lines = [header, f"threshold = {qset.threshold}", "validators = ["]
    lines += [f'  "{validator}",' for validator in qset.validators]
    lines.append("]")
    for inner in qset.inner_sets:
        lines += ["", *_render_qset(inner, f"{table}.inner_sets", array=True)]
    return lines


def _write_secret(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
