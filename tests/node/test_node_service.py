"""``tally node run`` as a service runs it: a real process stops cleanly on SIGTERM and SIGINT
(exit 0, the last ledger intact, the next start resumes from it), and a listen address the
machine does not have, or an API port in use, is one line on stderr with exit 2 (it used to be
an ExceptionGroup traceback with exit 1, raised inside the node's nursery)."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import nacl.utils
import pytest

from node.config import load_config
from node.setup import NodeSpec, init_node
from node.storage.store import LedgerStore
from protocol.keys import Keypair

pytestmark = pytest.mark.slow

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _lone_validator(folder: Path, **overrides: Any) -> Path:
    """A one-validator network that closes a ledger every 200 ms even when idle."""
    spec = NodeSpec(
        role="validator",
        network_passphrase="Tally service test",
        p2p_port=_free_port(),
        api_port=_free_port(),
        bootstrap=(),
        quorum_set=None,
        close_interval_ms=100,
        heartbeat_interval_ms=200,
    )
    spec = dataclasses.replace(spec, **overrides)
    return init_node(folder, spec, Keypair(nacl.utils.random(32)))


def _start(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "node", "run", "--config", str(config)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _seq(api: str) -> int | None:
    try:
        seq: int = httpx.get(f"{api}/node", timeout=2).json()["ledger"]["seq"]
        return seq
    except (httpx.HTTPError, ValueError, KeyError):
        return None


def _until_seq(process: subprocess.Popen[str], api: str, seq: int) -> int:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _, stderr = process.communicate()
            raise AssertionError(f"the node exited with {process.returncode}: {stderr[-2000:]}")
        current = _seq(api)
        if current is not None and current >= seq:
            return current
        time.sleep(0.1)
    raise AssertionError(f"no ledger {seq} within {START_TIMEOUT_S} s")


def _stop(process: subprocess.Popen[str], signum: signal.Signals) -> tuple[int, str]:
    os.kill(process.pid, signum)
    try:
        _, stderr = process.communicate(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError(f"the node did not stop within {STOP_TIMEOUT_S} s of {signum.name}") from None
    return process.returncode, stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_node_cleanly_and_the_next_start_resumes(
    tmp_path: Path, signum: signal.Signals
) -> None:
    config_path = _lone_validator(tmp_path / "n")
    config = load_config(config_path)
    api = f"http://{config.api_listen}"
    process = _start(config_path)
    try:
        seen = _until_seq(process, api, 5)
        code, stderr = _stop(process, signum)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert code == 0, stderr[-2000:]
    assert "Traceback" not in stderr
    assert f"signal={signum.name}" in stderr
    assert "node stopped" in stderr
    assert not (tmp_path / "n" / "run.json").exists(), "run.json is removed on a clean stop"

    store = LedgerStore(config.data_dir, config.network_id)  # the database was closed: it opens
    try:
        last = store.last_header
        assert last.seq >= seen
        for seq in range(2, last.seq + 1):  # every ledger whole, each linked to the one before
            header, previous = store.header(seq), store.header(seq - 1)
            assert header is not None
            assert previous is not None
            assert header.previous_hash == previous.hash
            assert store.ledger_record(seq) is not None
    finally:
        store.close()

    again = _start(config_path)
    try:
        resumed = _until_seq(again, api, last.seq)
        assert resumed >= last.seq
        _until_seq(again, api, last.seq + 2)  # and it goes on closing ledgers after the last one
        code, stderr = _stop(again, signal.SIGTERM)
        assert code == 0, stderr[-2000:]
    finally:
        if again.poll() is None:
            again.kill()
            again.communicate()


def _run_to_exit(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
        check=False,
    )


def test_a_listen_address_not_on_this_machine_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = _lone_validator(tmp_path / "n", listen="/ip4/192.0.2.55/tcp/4100")  # TEST-NET-1
    done = _run_to_exit(config)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert "ExceptionGroup" not in done.stderr
    error_lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1
    assert "listen" in error_lines[0]
    assert "192.0.2.55" in error_lines[0]


def test_an_api_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = _lone_validator(tmp_path / "n", api_port=port)
        done = _run_to_exit(config)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert f"[api] listen: cannot listen on 127.0.0.1:{port}" in done.stderr


def test_a_run_json_names_what_peers_dial(tmp_path: Path) -> None:
    config_path = _lone_validator(
        tmp_path / "n", listen=f"/ip4/0.0.0.0/tcp/{_free_port()}", announce=("/ip4/203.0.113.7/tcp/4100",)
    )
    config = load_config(config_path)
    process = _start(config_path)
    try:
        _until_seq(process, f"http://{config.api_listen}", 2)
        info = httpx.get(f"http://{config.api_listen}/node", timeout=2).json()
        run_info = json.loads((tmp_path / "n" / "run.json").read_text())
        _stop(process, signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    expected = [f"/ip4/203.0.113.7/tcp/4100/p2p/{info['peer_id']}"]
    assert info["listen"] == expected
    assert run_info["p2p"] == expected


def test_the_running_node_holds_none_of_the_command_line_libraries(tmp_path: Path) -> None:
    """``tally node run`` execs node.node_process (same process id): Typer's pydantic is gone."""
    config_path = _lone_validator(tmp_path / "n")
    config = load_config(config_path)
    process = _start(config_path)
    try:
        _until_seq(process, f"http://{config.api_listen}", 2)
        command = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")
        maps = Path(f"/proc/{process.pid}/maps").read_text()
        code, stderr = _stop(process, signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert code == 0, stderr[-2000:]
    assert b"node.node_process" in command
    assert "plyvel" in maps  # the node's own libraries are mapped ...
    assert "pydantic_core" not in maps  # ... the command line's are not
