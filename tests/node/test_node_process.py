"""node.node_process: ``tally node run`` reads its command line, then becomes a process that
holds only what a running node needs (no Typer, Click, Rich, pydantic or wallet commands). The
real process is checked in tests/node/test_node_service.py, its imports in test_libp2p_trim.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nacl.utils
import pytest
from typer.testing import CliRunner

import node.node_process
from node.cli.app import app
from node.setup import NodeSpec, init_node
from node.testnet import free_ports
from protocol.keys import Keypair


class Execed(Exception):
    """What the stand-in for os.execv raises, with the command it was given."""


def _config(tmp_path: Path) -> Path:
    p2p_port, api_port = free_ports(2)
    spec = NodeSpec(
        role="validator",
        network_passphrase="Tally process test",
        p2p_port=p2p_port,
        api_port=api_port,
        bootstrap=(),
        quorum_set=None,
    )
    return init_node(tmp_path / "n", spec, Keypair(nacl.utils.random(32)))


def test_tally_node_run_checks_the_config_then_becomes_the_node_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path)
    calls: list[tuple[str, list[str]]] = []

    def execv(path: str, argv: list[str]) -> None:
        calls.append((path, argv))
        raise Execed

    monkeypatch.setattr(os, "execv", execv)
    result = CliRunner().invoke(app, ["node", "run", "--config", str(config)])
    assert isinstance(result.exception, Execed), result.output
    [(path, argv)] = calls
    assert path == sys.executable
    assert argv[0] == sys.executable
    assert argv[-3:] == ["-m", "node.node_process", str(config)]

    calls.clear()  # a bad config is refused by the command itself, as before
    config.write_text(config.read_text().replace("threshold = 1", "threshold = 2"))
    refused = CliRunner().invoke(app, ["node", "run", "--config", str(config)])
    assert refused.exit_code == 2
    assert "[consensus.quorum_set]" in refused.output
    assert calls == []


def test_the_node_process_refuses_a_wrong_command_line() -> None:
    assert node.node_process.main([]) == 2
    assert node.node_process.main(["a.toml", "b.toml"]) == 2
