"""The ``tally`` root command (``node.cli.app``): version, help, and a quick start."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version

import pytest
from typer.testing import CliRunner

from node.cli.app import app


def test_version_prints_installed_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"tally {version('tally')}"


def test_help_lists_usage_and_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "community currencies" in result.output
    for command in ("node", "testnet", "sim", "check-quorum", "wallet", "send", "balance", "currency", "tx"):
        assert f" {command} " in result.output, command


@pytest.mark.slow
def test_root_imports_no_heavy_library() -> None:
    """``tally --help`` stays fast: trio, libp2p, plyvel and the node's runtime load only inside
    the commands that need them."""
    probe = (
        "import json, sys; import node.cli.app; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('trio', 'libp2p', 'plyvel', 'hypercorn', 'consensus') or m in ('node.runtime', 'node.assembly'))))"
    )
    loaded = json.loads(subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True).stdout)
    assert loaded == []
