from __future__ import annotations

from importlib.metadata import version

from typer.testing import CliRunner

from wallet.cli.app import app


def test_version_prints_installed_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"tally {version('tally')}"


def test_help_lists_usage() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "community currencies" in result.output
