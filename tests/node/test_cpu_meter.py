"""The CPU meter behind the cost report: stages are exclusive, a task step's CPU is shared among the
stages marked in it by wall-clock share, and a stage left open across an await is dropped."""

from __future__ import annotations

import functools

import pytest
import trio
import trio.lowlevel

from node.cpu import CpuMeter, Stage, stage_of_task, task_origin


class FakeClocks:
    def __init__(self) -> None:
        self.cpu = 0.0
        self.wall = 0.0

    def spend(self, seconds: float, *, wall: float | None = None) -> None:
        self.cpu += seconds
        self.wall += seconds if wall is None else wall


def _meter(clocks: FakeClocks) -> CpuMeter:
    return CpuMeter(thread_clock=lambda: clocks.cpu, wall_clock=lambda: clocks.wall)


def test_nested_stages_are_counted_once_outside_a_task_step() -> None:
    clocks = FakeClocks()
    meter = _meter(clocks)
    clocks.spend(5.0)  # outside any stage: nobody's
    with meter.stage(Stage.LEDGER_APPLY):
        clocks.spend(1.0)
        with meter.stage(Stage.SIGNATURES):
            clocks.spend(0.25)
        clocks.spend(0.5)
    with meter.stage(Stage.STORAGE):
        clocks.spend(0.125)
    seconds = meter.seconds()
    assert seconds[Stage.LEDGER_APPLY] == 1.5
    assert seconds[Stage.SIGNATURES] == 0.25
    assert seconds[Stage.STORAGE] == 0.125
    assert sum(seconds.values()) == 1.875


def test_a_step_is_shared_among_its_stages_by_wall_time() -> None:
    clocks = FakeClocks()
    meter = _meter(clocks)
    meter._begin_step(Stage.HTTP)
    clocks.spend(0.0, wall=1.0)  # preempted by the OS: wall time, no CPU
    with meter.stage(Stage.SIGNATURES):
        clocks.spend(0.0, wall=3.0)
    clocks.cpu += 2.0  # the step's CPU, read only at its end
    meter._end_step()
    seconds = meter.seconds()
    assert seconds[Stage.HTTP] == 0.5
    assert seconds[Stage.SIGNATURES] == 1.5


def test_steps_without_marks_go_to_their_task_and_marks_do_not_leak_into_later_steps() -> None:
    clocks = FakeClocks()
    meter = _meter(clocks)
    meter._begin_step(Stage.NETWORK)
    clocks.spend(1.0)
    meter._end_step()
    meter._begin_step(Stage.HTTP)
    clocks.spend(1.0)
    with meter.stage(Stage.SIGNATURES):
        clocks.spend(3.0)
    meter._end_step()
    meter._begin_step(Stage.CONSENSUS)
    clocks.spend(2.0)
    meter._end_step()
    seconds = meter.seconds()
    assert (seconds[Stage.NETWORK], seconds[Stage.HTTP], seconds[Stage.SIGNATURES]) == (1.0, 1.0, 3.0)
    assert seconds[Stage.CONSENSUS] == 2.0


def test_a_stage_left_open_when_its_step_ends_is_dropped() -> None:
    clocks = FakeClocks()
    meter = _meter(clocks)
    meter._begin_step(Stage.CONSENSUS)
    scope = meter.stage(Stage.STORAGE)
    scope.__enter__()
    clocks.spend(1.0)
    meter._end_step()  # the task awaited inside the stage
    meter._begin_step(Stage.NETWORK)
    clocks.spend(1.0)
    scope.__exit__(None, None, None)  # not NETWORK's to close
    clocks.spend(1.0)
    meter._end_step()
    seconds = meter.seconds()
    assert seconds[Stage.STORAGE] == 1.0
    assert seconds[Stage.NETWORK] == 2.0


def test_tasks_map_to_stages_by_their_module() -> None:
    assert stage_of_task("hypercorn.trio.task_group._handle") is Stage.HTTP
    assert stage_of_task("libp2p.pubsub.pubsub.Pubsub.continuously_read_stream") is Stage.NETWORK
    assert stage_of_task("node.timers.TimerService.run") is Stage.CONSENSUS
    assert stage_of_task("node.herder.Herder._close") is Stage.CONSENSUS
    assert stage_of_task("node.assembly.AssembledNode._watch_loop_lag") is Stage.OTHER
    # libp2p's service manager names its tasks after the bare function: the module says
    assert stage_of_task("push_msg[daemon=False]", "libp2p.tools.anyio_service.trio_manager") is Stage.NETWORK
    assert stage_of_task("handle_sending_messages[daemon=False]", "") is Stage.OTHER


async def _sleep_briefly() -> None:
    await trio.lowlevel.checkpoint()


async def _hang_up(stream: trio.SocketStream) -> None:
    await stream.aclose()


async def test_a_task_s_origin_is_its_code_s_module_or_a_listener_s_handler() -> None:
    """Real tasks: one started here comes from this module; a connection trio's listener accepted
    comes from its handler's module, through ``functools.partial`` (as hypercorn passes it)."""
    origins: dict[str, str] = {}

    class Recorder(trio.abc.Instrument):
        def before_task_step(self, task: trio.lowlevel.Task) -> None:
            for kind in ("_sleep_briefly", "_run_handler"):
                if task.name.endswith(kind):
                    origins.setdefault(kind, task_origin(task))

    recorder = Recorder()
    trio.lowlevel.add_instrument(recorder)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_sleep_briefly)
            listeners = await nursery.start(
                functools.partial(trio.serve_tcp, functools.partial(_hang_up), 0, host="127.0.0.1")
            )
            port = listeners[0].socket.getsockname()[1]
            client = await trio.open_tcp_stream("127.0.0.1", port)
            assert await client.receive_some(1) == b""  # the handler ran and hung up
            await client.aclose()
            nursery.cancel_scope.cancel()
    finally:
        trio.lowlevel.remove_instrument(recorder)
    assert origins == {"_sleep_briefly": __name__, "_run_handler": __name__}


async def test_the_instrument_charges_real_task_steps() -> None:
    """Real trio task steps, fake clocks: each step spends 0.01 s outside any stage and 0.01 s in
    one, whatever else the machine is doing (a busy loop on the real clocks measured the load)."""
    clocks = FakeClocks()
    meter = _meter(clocks)
    instrument = meter.instrument()
    trio.lowlevel.add_instrument(instrument)
    try:
        await trio.lowlevel.checkpoint()  # from here on, inside the instrument's task steps
        for _ in range(3):
            clocks.spend(0.01)
            with meter.stage(Stage.SIGNATURES):
                clocks.spend(0.01)
            await trio.lowlevel.checkpoint()
    finally:
        trio.lowlevel.remove_instrument(instrument)
    seconds = meter.seconds()
    assert seconds[Stage.OTHER] == pytest.approx(0.03)  # this test's task belongs to no node stage
    assert seconds[Stage.SIGNATURES] == pytest.approx(0.03)


def test_the_process_meter_is_off_by_default_and_then_counts_nothing() -> None:
    from node.cpu import CPU

    clocks = FakeClocks()
    off = CpuMeter(thread_clock=lambda: clocks.cpu, wall_clock=lambda: clocks.wall, enabled=False)
    with off.stage(Stage.SIGNATURES):
        clocks.spend(1.0)
    assert set(off.seconds().values()) == {0.0}
    assert CPU.enabled is False, "a node that did not ask for the cost report pays nothing for it"
