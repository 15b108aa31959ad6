"""``tally node init`` output and the strict node.toml loader."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from node.cli.app import app
from node.config import load_config
from node.errors import ConfigError
from node.keyfile import read_key_file

runner = CliRunner()


def _init(folder: Path, *args: str) -> dict[str, str]:
    result = runner.invoke(app, ["node", "init", "--dir", str(folder), "--json", *args])
    assert result.exit_code == 0, result.output
    created: dict[str, str] = json.loads(result.output)
    return created


def test_init_writes_a_config_that_loads_and_a_private_key(tmp_path: Path) -> None:
    created = _init(tmp_path / "n", "--validator", "--api-port", "8123")
    config = load_config(Path(created["config"]))
    assert config.is_validator
    assert config.api_listen == "127.0.0.1:8123", "the API listens on loopback by default"
    assert config.listen.startswith("/ip4/127.0.0.1/")
    assert config.quorum_set is not None
    assert config.quorum_set.threshold == 1
    key_mode = stat.S_IMODE(config.key_file.stat().st_mode)
    assert key_mode == 0o600
    assert config.admin_token_file is not None
    assert stat.S_IMODE(config.admin_token_file.stat().st_mode) == 0o600
    secret = read_key_file(config.key_file).seed.hex()
    assert secret not in json.dumps(created), "the key is never printed"
    again = runner.invoke(app, ["node", "init", "--dir", str(tmp_path / "n"), "--validator"])
    assert again.exit_code == 2
    assert "already exists" in again.output


def test_watcher_needs_a_quorum(tmp_path: Path) -> None:
    result = runner.invoke(app, ["node", "init", "--dir", str(tmp_path / "w")])
    assert result.exit_code == 2
    assert "--quorum" in result.output
    bad = runner.invoke(app, ["node", "init", "--dir", str(tmp_path / "w"), "--quorum", "tlyv1notanid"])
    assert bad.exit_code == 2


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("[api]", "[api]\nlisten_port = 1"), "[api] listen_port: unknown key"),
        (lambda t: t.replace("[node]", "[nodes]\n[node]"), "[nodes]: unknown section"),
        (lambda t: t.replace('role = "validator"', 'role = "leader"'), "[node] role: 'leader' is not one of"),
        (
            lambda t: t.replace("close_interval_ms = 1000", "close_interval_ms = 5"),
            "close_interval_ms: 5 is outside",
        ),
        (
            lambda t: t.replace("close_interval_ms = 1000", 'close_interval_ms = "fast"'),
            "close_interval_ms: expected an integer",
        ),
        (lambda t: t.replace("threshold = 1", "threshold = 2"), "[consensus.quorum_set]"),
        (lambda t: t + '\n[testing]\nmisbehave = "silent"\n', "misbehave needs [testing] enable_test_faults"),
        (lambda t: t.replace('listen = "127.0.0.1:', 'listen = "127.0.0.1'), "expected HOST:PORT"),
    ],
)
def test_bad_config_is_refused_naming_the_key(tmp_path: Path, edit: object, message: str) -> None:
    created = _init(tmp_path / "n", "--validator", "--network-passphrase", "Community of Riverside")
    path = Path(created["config"])
    path.write_text(edit(path.read_text()))  # type: ignore[operator]
    with pytest.raises(ConfigError, match=None) as raised:
        load_config(path)
    assert message in str(raised.value)
    run = runner.invoke(app, ["node", "run", "--config", str(path)])
    assert run.exit_code == 2
    assert message.split(":")[0] in run.output


def test_the_cost_meter_is_off_unless_the_config_turns_it_on(tmp_path: Path) -> None:
    created = _init(tmp_path / "n", "--validator")
    path = Path(created["config"])
    assert load_config(path).cpu_by_stage is False, "node init never turns on the costly CPU meter"
    path.write_text(path.read_text() + "\n[metrics]\ncpu_by_stage = true\n")
    assert load_config(path).cpu_by_stage is True
