"""deploy/tally-node.service: the systemd unit README shows runs the node as a dedicated user,
hardened, stopping it with SIGTERM (a clean stop, tests/node/test_node_service.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "tally-node.service"


def _settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


def test_the_unit_runs_the_node_as_its_own_user_hardened() -> None:
    settings = _settings()
    assert settings["ExecStart"][0].endswith("tally node run --config /var/lib/tally/node.toml")
    assert settings["User"] == ["tally"]
    assert settings["KillSignal"] == ["SIGTERM"]
    assert settings["RestartPreventExitStatus"] == ["2"], "a bad config is not restarted in a loop"
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "ReadWritePaths": "/var/lib/tally",
        "CapabilityBoundingSet": "",
    }.items():
        assert settings[key] == [value], key


@pytest.mark.slow
def test_systemd_accepts_the_unit() -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    done = subprocess.run([analyze, "verify", str(UNIT)], capture_output=True, text=True, check=False)
    problems = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if "tally-node.service" in line and "is not executable" not in line
    ]
    assert problems == []
