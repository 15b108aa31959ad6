"""The garbage collector's settings for a long-running node process.

CPython's cyclic collector runs a young-generation pass whenever container objects allocated minus
those freed since the last pass exceed 700; every tenth pass also scans the middle generation,
every hundredth everything. A validator at 600 tx/s allocates transactions, overlays, results and
py-libp2p's per-message objects in bursts, and with those defaults it spent 5.1-6.4 % of its CPU in
the collector (~140 passes in the load window of ``scripts/bench --validators 4 --rate 600
--duration 20``, timed with ``gc.callbacks`` in each validator; two runs), much of it re-scanning
objects that live as long as the process: the ~1,400 modules' functions, classes and constants.

So, once everything is imported: ``gc.freeze()`` moves what exists to the permanent generation,
which no collection scans again, and the young generation's threshold is raised, so that bursts of
short-lived objects are freed by reference counting before a pass is due. In the same runs the
collector then did not run at all during the load window, and RSS stayed at 134-136 MB. Cycles
are still collected: garbage that reference counting cannot free keeps the count rising until a
pass is due, so at most ~20,000 such objects wait (a few MB). Only the ``tally node run`` process
does this: tests that run nodes in their own process keep the interpreter's defaults.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 20_000  # container allocations (net) between young-generation passes (default 700)
MIDDLE_EVERY = 10  # young passes per middle-generation pass (default 10)
OLD_EVERY = 10  # middle passes per full pass (default 10)


def tune_for_a_long_running_node() -> None:
    """Freeze what the imports built and collect young objects less often (see the module)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_EVERY, OLD_EVERY)
