"""Where this process's CPU time goes, by stage: the counters behind the cost report (issue 18).

``scripts/bench --json`` divides a validator's CPU by the transactions it applied and splits it by
these stages, so "4x the protocol floor" can be read as "which part costs what". Every stage is
counted exclusively (a nested stage's time is not also its parent's):

* On the event loop, a trio instrument (``CpuMeter.instrument``, added by the runtime) reads the
  thread's CPU clock before and after each task step and charges the step to its task's stage:
  the API server's tasks are ``http``, libp2p's ``network``, the herder's and the timers'
  ``consensus``. Code marks finer stages inside a step with ``CPU.stage(Stage.SIGNATURES)``; the
  step's CPU is shared among them by wall-clock share, because ``perf_counter`` costs a twentieth
  of the thread CPU clock and a step never waits (its wall time is its CPU time unless the OS
  preempts it).
* Elsewhere (the ledger's worker thread, tests without the instrument), each stage change reads
  the thread's CPU clock, and only the marked stages count.

The meter is **off unless the node's config asks for it** (``[metrics] cpu_by_stage = true``;
``scripts/bench`` turns it on unless given ``--no-cpu-stages``): the instrument roughly doubles the event loop's
cost per task step (4 → 8 µs measured on this machine kind), which on a busy 2-core machine running
7 validators made ledgers close five times more slowly. (A step with no mark in it, most of them,
now costs the meter 1.25 µs, two thread-clock reads included; it was 2.0 µs when every step
walked all the stages.) Off, ``stage()`` is a shared null context
and no instrument runs.

A stage must never span an ``await``: a task step ends there, and with it every stage opened in
it. CPU belongs to the process, not to one node, so there is one meter per process (``CPU``);
several nodes sharing a test process share it.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import threading
import time
from collections.abc import Callable
from types import TracebackType

import trio


class Stage(enum.StrEnum):
    SIGNATURES = "signatures"  # Ed25519 checks of transactions and SCP envelopes
    PENDING_APPLY = "pending_apply"  # the mempool applying transactions to the pending state
    LEDGER_APPLY = "ledger_apply"  # applying an agreed tx set (reads of committed state included)
    CONSENSUS = "consensus"  # SCP, the herder, nomination, timers, catch-up
    NETWORK = "network"  # libp2p (Noise, yamux, GossipSub), decoding peers' messages, answering them
    HTTP = "http"  # the API server: HTTP parsing, JSON, the handlers' own work
    STORAGE = "storage"  # LevelDB writes: ledgers, own statements
    OTHER = "other"  # any other task (board, quorum monitor, loop-lag probe, trio's own)


# A task's stage, by the qualified name trio gives it (its function's module and name), or else by
# the module its code comes from (``task_origin``).
TASK_STAGES: tuple[tuple[str, Stage], ...] = (
    ("hypercorn.", Stage.HTTP),
    ("starlette.", Stage.HTTP),
    ("anyio.", Stage.HTTP),
    ("node.api.", Stage.HTTP),
    ("libp2p.", Stage.NETWORK),
    ("node.net.", Stage.NETWORK),
    ("node.peer_service.", Stage.NETWORK),
    ("node.herder.", Stage.CONSENSUS),
    ("node.timers.", Stage.CONSENSUS),
    ("node.catchup.", Stage.CONSENSUS),
    ("node.quorum_sets.", Stage.CONSENSUS),
    ("node.outbox.", Stage.CONSENSUS),  # our own statements: handed to the writer thread, then sent
)
SERVE_LISTENERS = "trio._highlevel_serve_listeners"  # trio's accept loop: the handler tells whose


def stage_of_task(name: str, origin: str = "") -> Stage:
    """The stage of a task named ``name``, else of the module its code comes from (``origin``)."""
    for label in (name, origin):
        for prefix, stage in TASK_STAGES:
            if label.startswith(prefix):
                return stage
    return Stage.OTHER


def task_origin(task: trio.lowlevel.Task) -> str:
    """The module a task's code comes from, for the tasks whose name does not say: libp2p's service
    manager names its tasks after the bare function (``push_msg[daemon=False]``, GossipSub's
    delivery), and trio's listeners run each accepted connection in one function for the API
    server and for libp2p alike, where the connection handler it was given tells them apart.
    Read once per task, at its first step (the coroutine's frame holds its arguments then)."""
    frame = getattr(task.coro, "cr_frame", None)
    if frame is None:
        return ""
    module = str(frame.f_globals.get("__name__", ""))
    if module == SERVE_LISTENERS:
        handler = frame.f_locals.get("handler")
        while isinstance(handler, functools.partial):
            handler = handler.func
        return str(getattr(handler, "__module__", "") or module)
    return module


class _ThreadState:
    """One thread's open stages and its own totals (summed on read: no lock on the hot path)."""

    __slots__ = ("in_step", "mark", "stack", "step_cpu_start", "step_wall", "totals")

    def __init__(self) -> None:
        self.totals = dict.fromkeys(Stage, 0.0)
        self.stack: list[Stage] = []
        self.mark = 0.0  # clock reading at the last stage change
        self.in_step = False  # inside an instrumented task step: marks use the wall clock
        self.step_cpu_start = 0.0
        # Wall time of the stages marked in the current step (usually none): only those are
        # shared out at its end, so a step with no mark costs one dict test, not a walk of them all.
        self.step_wall: dict[Stage, float] = {}


class _StageScope:
    __slots__ = ("_meter", "_stage")

    def __init__(self, meter: CpuMeter, stage: Stage) -> None:
        self._meter = meter
        self._stage = stage

    def __enter__(self) -> None:
        self._meter._push(self._stage)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._meter._pop(self._stage)


_OFF = contextlib.nullcontext()


class CpuMeter:
    def __init__(
        self,
        thread_clock: Callable[[], float] = time.thread_time,
        wall_clock: Callable[[], float] = time.perf_counter,
        *,
        enabled: bool = True,
    ) -> None:
        self.enabled = enabled
        self._thread_clock = thread_clock
        self._wall_clock = wall_clock
        self._local = threading.local()
        self._states: list[_ThreadState] = []
        self._states_lock = threading.Lock()

    def seconds(self) -> dict[Stage, float]:
        """CPU seconds charged to each stage so far, every thread together."""
        with self._states_lock:
            states = list(self._states)
        return {stage: sum(s.totals[stage] for s in states) for stage in Stage}

    def stage(self, stage: Stage) -> contextlib.AbstractContextManager[None]:
        """``with meter.stage(Stage.X):`` charges the enclosed synchronous code to X (a no-op while
        the meter is off)."""
        return _StageScope(self, stage) if self.enabled else _OFF

    def instrument(self) -> trio.abc.Instrument:
        """The trio instrument that charges every task step of the event loop to a stage."""
        return _StepInstrument(self)

    # -- internals ---------------------------------------------------------------------------

    def _state(self) -> _ThreadState:
        state: _ThreadState | None = getattr(self._local, "state", None)
        if state is None:
            state = _ThreadState()
            self._local.state = state
            with self._states_lock:
                self._states.append(state)
        return state

    def _push(self, stage: Stage) -> None:
        state = self._state()
        if state.in_step:
            now = self._wall_clock()
            walls, current = state.step_wall, state.stack[-1]
            walls[current] = walls.get(current, 0.0) + now - state.mark
        else:
            now = self._thread_clock()
            if state.stack:
                state.totals[state.stack[-1]] += now - state.mark
        state.mark = now
        state.stack.append(stage)

    def _pop(self, stage: Stage) -> None:
        state = self._state()
        if not state.stack or state.stack[-1] is not stage or (state.in_step and len(state.stack) == 1):
            return  # the step this stage was opened in has ended (a stage spanned an await)
        if state.in_step:
            now = self._wall_clock()
            walls = state.step_wall
            walls[stage] = walls.get(stage, 0.0) + now - state.mark
        else:
            now = self._thread_clock()
            state.totals[stage] += now - state.mark
        state.mark = now
        state.stack.pop()

    def _begin_step(self, stage: Stage) -> None:
        state = self._state()
        state.in_step = True
        state.stack = [stage]
        state.step_cpu_start = self._thread_clock()
        state.mark = self._wall_clock()

    def _end_step(self) -> None:
        state = self._state()
        if not state.in_step:
            return
        cpu = self._thread_clock() - state.step_cpu_start
        state.in_step = False
        walls = state.step_wall
        if not walls:  # nothing marked in this step (most steps): all of it to the task's stage
            state.totals[state.stack[0]] += cpu
            state.stack = []
            return
        current = state.stack[-1]
        walls[current] = walls.get(current, 0.0) + self._wall_clock() - state.mark
        total_wall = sum(walls.values())
        if total_wall <= 0:  # a step too short for the wall clock: all of it to the task's stage
            state.totals[state.stack[0]] += cpu
        else:
            for stage, wall in walls.items():
                state.totals[stage] += cpu * wall / total_wall
        walls.clear()
        state.stack = []


class _StepInstrument(trio.abc.Instrument):
    def __init__(self, meter: CpuMeter) -> None:
        self._meter = meter
        self._stages: dict[trio.lowlevel.Task, Stage] = {}

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        stage = self._stages.get(task)
        if stage is None:
            stage = self._stages[task] = stage_of_task(task.name, task_origin(task))
        self._meter._begin_step(stage)

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        self._meter._end_step()

    def task_exited(self, task: trio.lowlevel.Task) -> None:
        self._stages.pop(task, None)


CPU = CpuMeter(enabled=False)  # this process's meter; the runtime turns it on when configured
