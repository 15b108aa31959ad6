"""scripts/netlab leaves nothing behind on any exit path: success, a failure, Ctrl-C, SIGTERM or a
probe that never answers; and a lab whose prefix is taken is neither used nor removed.

The exit paths of ``run`` and ``create`` are checked with their I/O replaced (no root needed); the
signals and the taken prefix with real namespaces (root; CI is root)."""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import netlab
import netlab_ns
from lab_runner import NETLAB, require_lab, run_netlab, unique_prefix


def _state(tmp_path: Path) -> netlab.LabState:
    return netlab.LabState("tx", str(tmp_path), "chain", 2, 0.0, 0.0, 0.0, 1, [])


def _args() -> argparse.Namespace:
    return argparse.Namespace(rate=1.0, duration=1.0, seed=1)


class Lab:
    """``netlab.run``'s collaborators, recording what was torn down."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        self.torn_down = 0
        self.forgotten = 0
        self.state = _state(tmp_path)
        monkeypatch.setattr(netlab_ns, "check_tools", lambda: None)
        monkeypatch.setattr(netlab, "prepare", lambda args: self.state)
        monkeypatch.setattr(netlab, "start", lambda state: None)
        monkeypatch.setattr(netlab, "switch_stats", lambda state: {})
        monkeypatch.setattr(netlab, "inside", lambda *a, **k: {"applied": 1})
        monkeypatch.setattr(netlab, "teardown", self._teardown)
        monkeypatch.setattr(netlab, "forget", self._forget)

    def _teardown(self, state: netlab.LabState) -> list[str]:
        self.torn_down += 1
        return []

    def _forget(self, state: netlab.LabState) -> None:
        self.forgotten += 1


def _raise(error: BaseException) -> object:
    def fail(*args: object, **kwargs: object) -> object:
        raise error

    return fail


def test_a_successful_run_tears_the_lab_down(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    lab = Lab(monkeypatch, tmp_path)
    assert netlab.run(_args())["applied"] == 1
    assert lab.torn_down == 1


@pytest.mark.parametrize(
    ("stage", "error"),
    [
        ("start", netlab_ns.LabError("a node did not start")),
        ("start", KeyboardInterrupt()),
        ("inside", netlab_ns.LabError("the measure probe did not answer within 610 s")),
        ("inside", KeyboardInterrupt()),
        ("switch_stats", OSError("no such process")),
    ],
)
def test_every_failure_or_interrupt_tears_the_lab_down(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, stage: str, error: BaseException
) -> None:
    lab = Lab(monkeypatch, tmp_path)
    monkeypatch.setattr(netlab, stage, _raise(error))
    with pytest.raises(type(error)):
        netlab.run(_args())
    assert lab.torn_down == 1


def test_a_failing_scenario_tears_the_lab_down(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    lab = Lab(monkeypatch, tmp_path)
    with pytest.raises(netlab_ns.LabError):
        netlab.run(_args(), after_load=_raise(netlab_ns.LabError("status probe failed")))  # type: ignore[arg-type]
    assert lab.torn_down == 1


def test_a_taken_prefix_is_neither_used_nor_removed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    lab = Lab(monkeypatch, tmp_path)
    monkeypatch.setattr(netlab, "start", _raise(netlab_ns.LabExists("a lab named 'tx' exists already")))
    with pytest.raises(netlab_ns.LabExists):
        netlab.run(_args())
    assert (lab.torn_down, lab.forgotten) == (0, 1)


def test_a_probe_that_never_answers_is_an_error_not_a_hang(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def never(*args: object, timeout: float, **kwargs: object) -> object:
        raise subprocess.TimeoutExpired("probe", timeout)

    monkeypatch.setattr(subprocess, "run", never)
    with pytest.raises(netlab_ns.LabError, match="did not answer within 5 s"):
        netlab.inside(_state(tmp_path), "status", timeout_s=5)


@pytest.mark.parametrize("error", [netlab_ns.LabError("ip link add: RTNETLINK busy"), KeyboardInterrupt()])
def test_create_removes_what_it_added_when_it_fails_half_way(
    monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    added: list[str] = []
    deleted: list[list[str]] = []

    def link(names: netlab_ns.Names, index: int) -> None:
        if index == 1:
            raise error

    monkeypatch.setattr(netlab_ns, "existing", lambda prefix: [])
    monkeypatch.setattr(netlab_ns, "_add_namespace", lambda prefix, namespace: added.append(namespace))
    monkeypatch.setattr(netlab_ns, "_link_node", link)
    monkeypatch.setattr(netlab_ns, "_delete", lambda namespaces: deleted.append(list(namespaces)))
    with pytest.raises(type(error)):
        netlab_ns.create(netlab_ns.Names("tx"), 3)
    assert added == ["tx-hub", "tx-ctl", "tx-n0", "tx-n1", "tx-n2"]
    assert deleted == [added]


def test_create_refuses_a_taken_prefix_without_touching_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netlab_ns, "existing", lambda prefix: ["tx-hub"])
    monkeypatch.setattr(netlab_ns, "_add_namespace", _raise(AssertionError("must not add")))
    monkeypatch.setattr(netlab_ns, "_delete", _raise(AssertionError("must not delete")))
    with pytest.raises(netlab_ns.LabExists, match="down --prefix tx"):
        netlab_ns.create(netlab_ns.Names("tx"), 2)


def _interrupt_once_up(signum: signal.Signals, folder: Path) -> Callable[[subprocess.Popen[str]], None]:
    """Once every node has started (the state file lists their pids), a second into the load."""

    def interrupt(process: subprocess.Popen[str]) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None and not _lab_is_up(folder):
            time.sleep(0.2)
        time.sleep(1.0)
        process.send_signal(signum)

    return interrupt


def _lab_is_up(folder: Path) -> bool:
    try:
        state = json.loads((folder / netlab.STATE_FILE).read_text())
    except (OSError, ValueError):
        return False
    return all(node.get("pid") for node in state["nodes"])


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_removes_its_namespaces_and_processes(
    tmp_path: Path, signum: signal.Signals
) -> None:
    require_lab()
    folder = tmp_path / "lab"
    arguments = ["run", "--validators", "3", "--topology", "chain", "--rate", "2", "--duration", "30"]
    done = run_netlab(
        arguments,
        unique_prefix("tci"),
        folder,
        timeout_s=120,
        while_running=_interrupt_once_up(signum, folder),
    )
    assert done.returncode == 130, done.stderr[-2000:]
    assert "interrupted" in done.stderr


@pytest.mark.slow
def test_a_run_on_a_taken_prefix_is_refused_and_leaves_the_other_lab_alone(tmp_path: Path) -> None:
    require_lab()
    prefix = unique_prefix("tct")
    netlab_ns.create(netlab_ns.Names(prefix), 1)
    try:
        command = [str(NETLAB), "run", "--json"]
        command += ["--prefix", prefix, "--dir", str(tmp_path / "lab"), "--duration", "1"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        still = netlab_ns.existing(prefix)
    finally:
        netlab_ns.destroy(prefix)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "exists already" in json.loads(done.stderr)["error"]
    assert sorted(still) == sorted([f"{prefix}-hub", f"{prefix}-ctl", f"{prefix}-n0"])
