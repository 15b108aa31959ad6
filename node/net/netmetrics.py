"""Prometheus metrics of the networking layer, registered in the node's registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from node.metrics import NodeMetrics


class NetMetrics:
    def __init__(self, node_metrics: NodeMetrics | None) -> None:
        self.node = node_metrics
        r = node_metrics.registry if node_metrics is not None else CollectorRegistry()
        self.peers = Gauge("tally_peers", "Connected peers", registry=r)
        self.messages_in = Counter(
            "tally_net_messages_in", "Messages received from peers, by type", ["type"], registry=r
        )
        self.messages_out = Counter(
            "tally_net_messages_out", "Messages sent to peers, by type", ["type"], registry=r
        )
        self.bytes_in = Counter("tally_net_bytes_in", "Payload bytes received, by type", ["type"], registry=r)
        self.bytes_out = Counter("tally_net_bytes_out", "Payload bytes sent, by type", ["type"], registry=r)
        self.dropped = Counter(
            "tally_net_messages_dropped",
            "Messages dropped by the network layer, by type and reason",
            ["type", "reason"],
            registry=r,
        )
        self.penalties = Counter(
            "tally_peer_penalties", "Peer score penalties, by reason", ["reason"], registry=r
        )
        self.bans = Counter("tally_peer_bans", "Peers disconnected and banned for a low score", registry=r)
        self.dials = Counter("tally_net_dials", "Outbound dials by outcome", ["outcome"], registry=r)
        self.refused = Counter(
            "tally_net_connections_refused",
            "Inbound connections refused: banned peer, or over the total or per-IP cap",
            ["reason"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "tally_net_request_seconds",
            "Round trip of outbound requests, by name",
            ["name"],
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.request_errors = Counter(
            "tally_net_request_errors", "Outbound requests that failed, by reason", ["reason"], registry=r
        )

    def invalid(self, reason: str) -> None:
        """An invalid message from a peer, counted with the node's invalid-message metric too."""
        if self.node is not None:
            self.node.invalid_messages.labels(reason=reason).inc()
