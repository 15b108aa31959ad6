"""Network files for ``tally check-quorum`` and ``tally sim --network``: read, check, build quorum sets.

Three shapes, JSON or TOML:

* Tally's ``{"nodes": [{"id": "A", "quorum_set": {"threshold": 2, "validators": [...],
  "inner_sets": [...]}}]}`` (``quorum_set`` may be null: a node whose quorum set is unknown), with
  optional named organisations: ``"organisations": [{"name": "coop", "threshold": 2,
  "validators": [...]}]``, and an inner set may then be just an organisation's name;
* stellar-core's ``/quorum`` shape ``{"nodes": [{"node": "A", "qset": {"t": 2, "v": ["A",
  {"t": 1, "v": [...]}]}}]}``;
* a validator's own config with ``[consensus.quorum_set]`` (every listed validator is assumed to
  use that same quorum set).

Everything in a file is untrusted: the size is capped before reading, nesting before recursing,
and every problem (unknown validators, thresholds of 0 or above the number of members, organisations
that include each other in a cycle, …) is an ``InputError`` whose message says what to fix.
Quorum sets are built over the UTF-8 bytes of the node names.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from consensus import QuorumSet

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_NODES = 10_000
MAX_DEPTH = 4  # inner sets below the top level, as for a validator's own quorum set


class InputError(ValueError):
    """The network file cannot be used; the message names the problem and the fix."""


def load_network_file(path: Path) -> dict[str, QuorumSet | None]:
    """Node name → quorum set (None when unknown). Raises InputError."""
    return parse_network(_load(path))


def _load(path: Path) -> Any:
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        size = path.stat().st_size if path.is_file() else len(raw)
        raise InputError(
            f"{path} is {size / 1024**2:,.1f} MB; a network file may be at most "
            f"{MAX_FILE_BYTES // 1024**2} MB (list each node once, with its quorum set)"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None
    try:
        if path.suffix.lower() == ".toml" or not text.lstrip().startswith(("{", "[")):
            return tomllib.loads(text)
        return json.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path} is neither JSON nor valid TOML: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: invalid JSON: {exc}") from None
    except RecursionError:
        raise InputError(f"{path}: nested far too deeply to be a network") from None


def parse_network(data: Any) -> dict[str, QuorumSet | None]:
    """Node name → quorum set (or None) from a decoded file. Raises InputError naming the problem."""
    if (
        isinstance(data, dict)
        and isinstance(data.get("consensus"), dict)
        and "quorum_set" in data["consensus"]
    ):
        q = _Parser({}).qset(data["consensus"]["quorum_set"], "[consensus.quorum_set]", 0)
        return dict.fromkeys(sorted(n.decode() for n in _names(q)), q)
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        raise InputError('expected {"nodes": [...]} or a node config with [consensus.quorum_set]')
    if len(data["nodes"]) > MAX_NODES:
        raise InputError(f"{len(data['nodes'])} nodes; at most {MAX_NODES:,} can be checked")
    parser = _Parser(_organisations(data.get("organisations", [])))
    out: dict[str, QuorumSet | None] = {}
    for i, entry in enumerate(data["nodes"]):
        if not isinstance(entry, dict):
            raise InputError(f"nodes[{i}]: expected an object")
        name = entry.get("id", entry.get("node"))
        if not isinstance(name, str) or not name:
            raise InputError(f'nodes[{i}]: missing "id"')
        if name in out:
            raise InputError(f"nodes[{i}]: node {name!r} is listed twice")
        raw = entry.get("quorum_set", entry.get("qset"))
        out[name] = None if raw is None else parser.qset(raw, f"node {name!r} quorum_set", 0)
    for node, qset in out.items():
        if qset is not None:
            for ref in sorted(_names(qset)):
                if ref.decode() not in out:
                    raise InputError(
                        f'node {node!r} trusts unknown node {ref.decode()!r}: add it to "nodes" '
                        '(with "quorum_set": null if its quorum set is unknown)'
                    )
    return out


def _organisations(raw: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, list):
        raise InputError('"organisations" must be a list of {"name", "threshold", "validators"}')
    out: dict[str, dict[str, Any]] = {}
    for i, org in enumerate(raw):
        if not isinstance(org, dict) or not isinstance(org.get("name"), str) or not org["name"]:
            raise InputError(f'organisations[{i}]: expected an object with a "name"')
        if org["name"] in out:
            raise InputError(f"organisations[{i}]: organisation {org['name']!r} is defined twice")
        out[org["name"]] = {k: v for k, v in org.items() if k != "name"}
    return out


class _Parser:
    """Builds quorum sets, resolving organisation names and refusing cycles among them."""

    def __init__(self, organisations: dict[str, dict[str, Any]]) -> None:
        self.organisations = organisations
        self.built: dict[tuple[str, int], QuorumSet] = {}  # by depth: nesting limits depend on it

    def qset(self, obj: Any, where: str, depth: int, resolving: tuple[str, ...] = ()) -> QuorumSet:
        if depth > MAX_DEPTH:
            raise InputError(f"{where}: inner sets nested more than {MAX_DEPTH} levels deep")
        if isinstance(obj, str):
            return self._organisation(obj, where, depth, resolving)
        if not isinstance(obj, dict):
            raise InputError(f"{where}: expected an object with threshold, validators, inner_sets")
        if "t" in obj or "v" in obj:  # stellar-core's /quorum shape: inner sets inside "v"
            t, members = obj.get("t"), obj.get("v", [])
            if not isinstance(members, list):
                raise InputError(f"{where}.v: expected a list")
            vals = [m for m in members if not isinstance(m, dict)]
            inner = [m for m in members if isinstance(m, dict)]
        else:
            unknown = set(obj) - {"threshold", "validators", "inner_sets"}
            if unknown:
                raise InputError(
                    f"{where}: unknown key {sorted(unknown)[0]!r} (known: threshold, validators, inner_sets)"
                )
            t, vals, inner = obj.get("threshold"), obj.get("validators", []), obj.get("inner_sets", [])
            if not isinstance(vals, list) or not isinstance(inner, list):
                raise InputError(f"{where}: validators and inner_sets must be lists")
        if not isinstance(t, int) or isinstance(t, bool):
            raise InputError(f"{where}: threshold must be an integer, got {t!r}")
        if not all(isinstance(v, str) and v for v in vals):
            raise InputError(f"{where}: validators must be non-empty strings")
        size = len(vals) + len(inner)
        if not 1 <= t <= size:
            raise InputError(f"{where}: threshold {t} is out of range (1..{size}, the number of members)")
        if len(set(vals)) != len(vals):
            raise InputError(f"{where}: a validator is listed twice")
        inner_sets = tuple(
            self.qset(i, f"{where}.inner_sets[{k}]", depth + 1, resolving) for k, i in enumerate(inner)
        )
        return QuorumSet(t, tuple(v.encode() for v in vals), inner_sets)

    def _organisation(self, name: str, where: str, depth: int, resolving: tuple[str, ...]) -> QuorumSet:
        if name in resolving:
            cycle = " → ".join((*resolving[resolving.index(name) :], name))
            raise InputError(f"organisations include each other in a cycle: {cycle}; break the cycle")
        if name not in self.organisations:
            raise InputError(f'{where}: unknown organisation {name!r}: define it under "organisations"')
        key = (name, depth)
        if key not in self.built:
            self.built[key] = self.qset(
                self.organisations[name], f"organisation {name!r}", depth, (*resolving, name)
            )
        return self.built[key]


def _names(q: QuorumSet) -> set[bytes]:
    out = set(q.validators)
    for i in q.inner_sets:
        out |= _names(i)
    return out
