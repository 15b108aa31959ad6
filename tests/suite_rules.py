"""Suite-wide test rules and fixtures (loaded by tests/conftest.py).

* ``virtual_clock``: trio's ``MockClock`` with autojump, for node tests that wait on time. The
  node writes each ledger in a worker thread; while one runs, every task may be blocked waiting
  for it, and a plain autojump clock would race through virtual seconds of timers (heartbeats,
  SCP timeouts, a test's own ``fail_after``) in the real milliseconds the write takes. This clock
  stands still while a worker thread runs: the write takes no virtual time, so a test sees the
  same virtual schedule however loaded the machine is.
* The slow guard: a test that starts a real process or a real libp2p host must be marked
  ``@pytest.mark.slow`` (so ``pytest -m "not slow"`` is the quick lane); the guard watches every
  test and fails an unmarked one that does either, naming what it started.
* Parallel runs: ``scripts/test`` runs the suite on two pytest-xdist workers. Every slow test joins
  one xdist group, so real processes, libp2p hosts, browsers and network namespaces still run one
  test at a time (as in a serial run: their timing and their resources never compete with another
  such test), while the in-process tests run beside them on the other worker.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import math
import sys
from collections.abc import Awaitable, Callable, Generator, Sequence
from types import ModuleType
from typing import Any

import pytest
import trio
from trio.testing import MockClock

# -- the virtual clock ------------------------------------------------------------------------


@pytest.fixture
def virtual_clock(monkeypatch: pytest.MonkeyPatch) -> MockClock:
    """An autojump ``MockClock`` that stands still while a ``trio.to_thread`` worker runs."""
    clock = MockClock(autojump_threshold=0)
    real_run_sync: Callable[..., Awaitable[Any]] = trio.to_thread.run_sync
    busy = 0

    async def run_sync(*args: Any, **kwargs: Any) -> Any:
        nonlocal busy
        busy += 1
        clock.autojump_threshold = math.inf  # virtual time stops until the thread is back
        try:
            return await real_run_sync(*args, **kwargs)
        finally:
            busy -= 1
            if busy == 0:
                clock.autojump_threshold = 0

    monkeypatch.setattr(trio.to_thread, "run_sync", run_sync)
    return clock


# -- the slow guard ---------------------------------------------------------------------------

SPAWN_EVENTS = {"subprocess.Popen", "os.posix_spawn", "os.fork", "os.system", "os.exec"}


HOST_MODULE = "libp2p.host.basic_host"  # every libp2p host is a BasicHost (or a subclass)


class _SlowGuard(importlib.abc.MetaPathFinder):
    """Records, per running test, the real processes and libp2p hosts it starts.

    Processes are seen through Python's audit events; libp2p hosts by wrapping
    ``BasicHost.run`` when py-libp2p is first imported (importing it up front would cost every
    run about a second).
    """

    def __init__(self) -> None:
        self.current: pytest.Item | None = None
        self.started: dict[str, list[str]] = {}

    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        if event in SPAWN_EVENTS and self.current is not None:
            command = args[1] if event == "subprocess.Popen" else ()
            shown = " ".join(str(a) for a in command or ())[:120]
            self.note(f"a process ({event} {shown})".rstrip())

    def note(self, what: str) -> None:
        if self.current is not None:
            self.started.setdefault(self.current.nodeid, []).append(what)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != HOST_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        execute = loader.exec_module
        guard = self

        def exec_module(module: ModuleType) -> None:
            execute(module)
            guard.watch_hosts(module.BasicHost)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec

    def watch_hosts(self, host_class: Any) -> None:
        """Note every host that starts (``BasicHost.run``: it listens and dials; building one
        does neither)."""
        run = host_class.run
        guard = self

        def noted_run(self: Any, *args: Any, **kwargs: Any) -> Any:
            guard.note("a libp2p host")
            return run(self, *args, **kwargs)

        host_class.run = noted_run


_GUARD = _SlowGuard()
sys.addaudithook(_GUARD.audit)
if HOST_MODULE in sys.modules:
    _GUARD.watch_hosts(sys.modules[HOST_MODULE].BasicHost)
else:
    sys.meta_path.insert(0, _GUARD)


SERIAL_GROUP = "real-processes"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``--dist loadgroup``), put every slow test in one group: one worker
    runs them one after another."""
    if not config.pluginmanager.has_plugin("xdist"):
        return
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(pytest.mark.xdist_group(SERIAL_GROUP))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    _GUARD.current = item
    try:
        return (yield)
    finally:
        _GUARD.current = None
        _GUARD.started.pop(item.nodeid, None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    started = _GUARD.started.get(item.nodeid)
    if call.when == "teardown" and started and item.get_closest_marker("slow") is None and report.passed:
        kinds = sorted(set(started))
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid} starts {', '.join(kinds)} but is not marked @pytest.mark.slow "
            "(tests that start real processes or libp2p hosts are slow: see tests/suite_rules.py)"
        )
    return report
