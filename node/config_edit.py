"""Changing a node.toml without a text editor: add a validator to the quorum set (and its address to
the bootstrap peers), from an id and an address or from another operator's node card.

Edits go through ``tomlkit`` so the file keeps its comments and layout. Every edit is checked twice
before it is written: the inputs on their own (a ``tlyv1`` id, a peer address whose ``/p2p/`` id
is that validator's), then the whole new file through ``node.config.load_config``, exactly as the
node will read it at start. The file is replaced atomically (a temporary file in the same folder,
fsynced, then renamed), so a crash leaves the old config or the new one, never half of each.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import tomlkit
from tomlkit.items import Array, Table

from node.config import NodeConfig, load_config
from node.errors import ConfigError
from node.netaddr import MultiaddrError, parse_peer
from node.peer_ids import peer_id_for
from protocol.addresses import decode_validator
from protocol.errors import AddressError


def default_threshold(members: int) -> int:
    """More than two thirds (⌊2n/3⌋+1): tolerates ⌊(n−1)/3⌋ validators that lie or go offline."""
    return (2 * members) // 3 + 1


@dataclass(frozen=True)
class QuorumChange:
    """What an edit did, for the command's output."""

    config: Path
    validator: str
    added_validator: bool
    added_peer: str | None
    threshold: int
    members: int


def add_validator(
    path: Path, validator: str, peer: str | None = None, threshold: int | None = None
) -> QuorumChange:
    """Trust ``validator`` (a ``tlyv1`` id) in the top level of ``[consensus.quorum_set]`` and dial
    it at ``peer`` (its ``/p2p/`` id must be the validator's). The threshold becomes ``threshold``,
    or ⌊2n/3⌋+1 of the top level's n members (validators and inner sets). Raises ConfigError."""
    try:
        key = decode_validator(validator)
    except AddressError as exc:
        raise ConfigError(f"{validator!r} is not a validator id (tlyv1…): {exc}") from None
    if peer is not None:
        try:
            address = parse_peer(peer)
        except MultiaddrError as exc:
            raise ConfigError(f"--peer: {exc}") from None
        if address.peer_id != peer_id_for(key):
            raise ConfigError(
                f"--peer: {peer} belongs to peer {address.peer_id}, not to {validator} "
                f"(whose peer id is {peer_id_for(key)})"
            )
        peer = str(address)
    load_config(path)  # the file as it is must already be a valid config
    document = tomlkit.parse(path.read_text())
    qset = _quorum_table(document)
    validators = qset.get("validators")
    if not isinstance(validators, Array):
        validators = tomlkit.array()
        qset["validators"] = validators
    added_validator = validator not in [str(v) for v in validators]
    if added_validator:
        validators.append(validator)
        validators.multiline(True)
    inner = qset.get("inner_sets", [])
    members = len(validators) + len(inner)
    chosen = default_threshold(members) if threshold is None else threshold
    if not 1 <= chosen <= members:
        raise ConfigError(f"--threshold must be between 1 and {members} (the quorum set's members)")
    qset["threshold"] = chosen
    added_peer = None
    if peer is not None:
        network = document.setdefault("network", tomlkit.table())
        bootstrap = network.get("bootstrap")
        if not isinstance(bootstrap, Array):
            bootstrap = tomlkit.array()
            network["bootstrap"] = bootstrap
        if peer not in [str(p) for p in bootstrap]:
            bootstrap.append(peer)
            bootstrap.multiline(True)
            added_peer = peer
    write_checked(path, tomlkit.dumps(document))
    return QuorumChange(path, validator, added_validator, added_peer, chosen, members)


def _quorum_table(document: tomlkit.TOMLDocument) -> Table:
    consensus = document.get("consensus")
    if consensus is None:
        consensus = tomlkit.table()
        document["consensus"] = consensus
    qset = consensus.get("quorum_set")
    if qset is None:
        qset = tomlkit.table()
        consensus["quorum_set"] = qset
    if not isinstance(qset, Table):
        raise ConfigError("[consensus.quorum_set] must be a table to be edited")
    return qset


def write_checked(path: Path, text: str) -> NodeConfig:
    """Replace ``path`` by ``text`` atomically, once ``text`` loads as a valid config. Raises
    ConfigError (naming the key) and leaves the file alone when it does not."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, path.stat().st_mode & 0o777)
        config = load_config(temporary)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_folder(path.parent)
    return config


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
