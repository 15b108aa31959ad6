"""node.gc_tuning: what ``tally node run`` does to the garbage collector before it starts."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from node import gc_tuning


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_gc")
def test_a_node_freezes_what_it_imported_and_collects_young_objects_less_often() -> None:
    before = gc.get_freeze_count()
    gc_tuning.tune_for_a_long_running_node()
    assert gc.get_freeze_count() > before  # every module's objects are out of the scans
    assert gc.get_threshold() == (gc_tuning.YOUNG_THRESHOLD, gc_tuning.MIDDLE_EVERY, gc_tuning.OLD_EVERY)
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1  # cycles are still collected
