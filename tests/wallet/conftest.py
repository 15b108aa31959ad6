"""Fixtures of the wallet CLI tests: a fresh $TALLY_HOME, fast key derivation, and a fake node
served through the real HTTP API in-process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result
from wallet_fake_node import FakeNode, serve

from node.cli.app import app
from wallet.cli import common

PASSWORD = "correct horse battery staple"


@dataclass
class Cli:
    home: Path
    password_file: Path
    node: FakeNode

    def __call__(self, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(app, list(args), input=input, env=env)

    def ok(self, *args: str, input: str | None = None) -> Result:
        result = self(*args, input=input)
        assert result.exit_code == 0, result.output
        return result

    def json(self, *args: str, input: str | None = None) -> Any:
        return json.loads(self.ok(*args, "--json", input=input).stdout)

    def create(self, name: str) -> str:
        data = self.json("wallet", "create", name, "--password-file", str(self.password_file))
        return str(data["address"])


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    home = tmp_path / "home"
    monkeypatch.setenv("TALLY_HOME", str(home))
    monkeypatch.setenv("TALLY_INSECURE_FAST_KDF", "1")  # tests only, hence the override below
    monkeypatch.setenv("TALLY_I_UNDERSTAND_WEAK_KEYS", "1")
    monkeypatch.delenv("TALLY_PASSWORD", raising=False)
    monkeypatch.delenv("TALLY_NODE", raising=False)
    password_file = tmp_path / "pw.txt"
    password_file.write_text(PASSWORD + "\n")
    password_file.chmod(0o600)
    node = FakeNode()
    with serve(node) as factory:
        monkeypatch.setattr(common, "HTTP_FACTORY", factory)
        yield Cli(home, password_file, node)
