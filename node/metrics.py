"""The node's Prometheus metrics, in a registry of its own (several nodes can share a process
in tests without their counters mixing)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from node.cpu import CPU, CpuMeter


class NodeMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.ledger_seq = Gauge("tally_ledger_seq", "Sequence number of the last closed ledger", registry=r)
        self.ledger_close_interval = Histogram(
            "tally_ledger_close_interval_seconds",
            "Time between consecutive ledger closes",
            registry=r,
            buckets=(0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 60, 120),
        )
        self.ledger_apply_seconds = Histogram(
            "tally_ledger_apply_seconds",
            "Time to apply and durably write one ledger",
            registry=r,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.consensus_seconds = Histogram(
            "tally_consensus_seconds",
            "Time from starting a slot to externalizing it",
            registry=r,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
        )
        self.tx_applied = Counter(
            "tally_tx_applied", "Transactions applied in ledgers, by result code", ["code"], registry=r
        )
        self.tx_rejected = Counter(
            "tally_tx_rejected", "Transactions refused before a ledger, by reason", ["code"], registry=r
        )
        self.mempool_size = Gauge("tally_mempool_size", "Transactions waiting for a ledger", registry=r)
        # Why the API refuses as overloaded (node.capacity): the limit, what it weighs, the rate.
        self.admission_limit = Gauge(
            "tally_admission_limit", "Waiting transactions up to which the API admits more", registry=r
        )
        self.admission_weighed = Gauge(
            "tally_admission_weighed",
            "Waiting transactions the admission limit weighs (incl. peers' admissions not yet here)",
            registry=r,
        )
        self.capacity_rate = Gauge(
            "tally_capacity_tx_per_second",
            "Transactions a second the network closes, as measured",
            registry=r,
        )
        self.scp_messages = Counter(
            "tally_scp_messages",
            "SCP envelopes by direction and outcome",
            ["direction", "outcome"],
            registry=r,
        )
        self.invalid_messages = Counter(
            "tally_invalid_messages", "Invalid messages from peers, by reason", ["reason"], registry=r
        )
        self.catchup_behind = Gauge(
            "tally_catchup_ledgers_behind", "Ledgers this node still has to fetch from peers", registry=r
        )
        self.catchup_ledgers = Counter("tally_catchup_ledgers", "Ledgers applied by catch-up", registry=r)
        self.storage_errors = Counter("tally_storage_errors", "Failed ledger writes", registry=r)
        self.loop_lag = Histogram(
            "tally_event_loop_lag_seconds",
            "How late the node's event loop wakes up (CPU starvation, blocking calls)",
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.healthy = Gauge(
            "tally_healthy", "1 when the node can close ledgers, 0 when it cannot", registry=r
        )
        r.register(CpuCollector(CPU))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class CpuCollector(Collector):
    """The process's CPU time, in total and by stage (``node.cpu``), read at each scrape: the
    figures ``scripts/bench`` divides by the transactions applied."""

    def __init__(self, meter: CpuMeter) -> None:
        self._meter = meter

    def collect(self) -> Iterator[CounterMetricFamily]:
        by_stage = CounterMetricFamily(
            "tally_cpu_stage_seconds",
            "CPU time of this process by stage (node.cpu; several nodes in one process share it)",
            labels=["stage"],
        )
        for stage, seconds in self._meter.seconds().items():
            by_stage.add_metric([stage.value], seconds)
        yield by_stage
        yield CounterMetricFamily(
            "tally_process_cpu_seconds", "CPU time of this process, every thread", value=time.process_time()
        )
