"""node.libp2p_trim: the py-libp2p features a node process never loads, and the stand-ins for them."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from node import libp2p_trim

REPO = Path(__file__).resolve().parents[2]

# What the trimmed features pulled into every node process (about 20 MB of its RSS together).
HEAVY_UNUSED = ("aioquic", "zeroconf", "requests", "urllib3", "cbor2", "fastecdsa", "OpenSSL")
# What only the command line needs; the node process never loads it (node.node_process).
COMMAND_LINE = ("typer", "click", "rich", "pydantic", "httpx", "wallet")

# The node process (what `tally node run` execs, node.node_process) does every import before it
# reads the config: with a missing one it stops right after them.
_IMPORT_PATH_PROBE = """
import json, sys
from node.node_process import main
assert main([sys.argv[1]]) == 2
print(json.dumps({
    "modules": sorted(sys.modules),
    "stand_ins": sorted(n for n, m in sys.modules.items() if type(m).__name__ == "_StandInModule"),
}))
"""


@pytest.mark.slow  # a fresh interpreter: the test process itself has imported everything
def test_the_node_process_imports_neither_unused_libp2p_features_nor_the_command_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_PATH_PROBE, str(tmp_path / "missing.toml")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=True,
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    modules, stand_ins = set(seen["modules"]), set(seen["stand_ins"])
    # the probe reached the node's real imports: the runtime, the libp2p host and its Noise
    assert {"node.runtime", "libp2p.host.basic_host", "libp2p.security.noise.transport"} <= modules
    assert stand_ins, "the trim was not installed before libp2p was first imported"
    loaded_for_real = {name for name in modules if libp2p_trim.is_trimmed(name) and name not in stand_ins}
    assert loaded_for_real == set()
    packages = {name.split(".")[0] for name in modules}
    assert packages & set(HEAVY_UNUSED) == set()
    assert packages & set(COMMAND_LINE) == set()


def test_the_trim_covers_the_unused_features_and_keeps_what_tally_uses() -> None:
    for unused in (
        "libp2p.transport.quic.transport",
        "libp2p.relay.circuit_v2.nat",
        "libp2p.kad_dht",
        "libp2p.discovery.mdns.mdns",
        "libp2p.security.tls.autotls.acme",
    ):
        assert libp2p_trim.is_trimmed(unused), unused
    for used in (
        "libp2p",
        "libp2p.transport.tcp.tcp",
        "libp2p.security.noise.transport",
        "libp2p.stream_muxer.yamux.yamux",
        "libp2p.pubsub.gossipsub",
        "libp2p.transport.quic.exceptions",  # listed in the stream code's except clauses
        "libp2p.relayed",  # a prefix matches whole names only
    ):
        assert not libp2p_trim.is_trimmed(used), used


def test_a_stand_in_can_be_named_but_not_used() -> None:
    # a stand-in in this suite too (the name is looked up dynamically: mypy knows the real class)
    quic_transport = importlib.import_module("libp2p.transport.quic.transport")
    QUICTransport: Any = quic_transport.QUICTransport

    with pytest.raises(libp2p_trim.TrimmedFeatureError, match="QUICTransport"):
        QUICTransport("a key")
    with pytest.raises(libp2p_trim.TrimmedFeatureError, match=r"QUICTransport\.from_config"):
        QUICTransport.from_config()
    assert not isinstance(object(), QUICTransport)
    matched = None
    try:  # valid in an except clause, matching nothing
        raise ValueError("real")
    except QUICTransport:
        matched = "the stand-in"
    except ValueError:
        matched = "the real exception"
    assert matched == "the real exception"

    subclass = type("Subclass", (QUICTransport,), {})  # as py-libp2p's modules subclass them
    with pytest.raises(libp2p_trim.TrimmedFeatureError):
        subclass()
    assert isinstance(QUICTransport, libp2p_trim._StandInMeta)  # the real module never ran


def test_another_libp2p_version_or_an_earlier_import_leaves_imports_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    untrimmed = [f for f in sys.meta_path if not isinstance(f, libp2p_trim._TrimFinder)]
    monkeypatch.setattr(sys, "meta_path", list(untrimmed))
    monkeypatch.delitem(sys.modules, "libp2p")
    monkeypatch.setattr(libp2p_trim, "installed_version", lambda: "0.9.0")
    assert libp2p_trim.install() is False
    assert sys.meta_path == untrimmed

    monkeypatch.setattr(libp2p_trim, "installed_version", lambda: libp2p_trim.PINNED_VERSION)
    monkeypatch.setitem(sys.modules, "libp2p", object())  # imported before: too late to trim
    assert libp2p_trim.install() is False
    assert sys.meta_path == untrimmed


def test_the_pinned_version_is_the_one_installed_and_in_pyproject() -> None:
    assert libp2p_trim.installed_version() == libp2p_trim.PINNED_VERSION
    assert f'"libp2p=={libp2p_trim.PINNED_VERSION}"' in (REPO / "pyproject.toml").read_text()
