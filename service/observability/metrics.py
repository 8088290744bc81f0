"""Prometheus metrics of the service, served on their own port (`serve --metrics-port`).

gRPC server metrics use the go-grpc-prometheus names and labels, so dashboards and alerts
written for Go services work unchanged: grpc_server_started_total,
grpc_server_handled_total and grpc_server_handling_seconds, labelled grpc_type ("unary"),
grpc_service (the full service name), grpc_method (the short method name) and grpc_code.
The service's own metrics are prefixed massage_estimator_. Every metric is documented in
docs/metrics.md (a test checks the list against this registry).

Each Metrics has its own registry: several servers in one process (the tests) never share
counters, and nothing is registered globally.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series: go-grpc-prometheus has none either

HANDLING_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
"""Seconds. Finer at the low end than go-grpc-prometheus's defaults: a quote takes ~1 ms."""

QUOTE_OUTCOMES = ("covered", "not_covered", "unavailable", "invalid")
PUBLISH_OUTCOMES = ("created", "unchanged", "rejected", "failed")


@dataclass
class IndexState:
    """What the rule-index collector reads at scrape time (kept by ObservedRefresher)."""

    versions: Callable[[], int] = lambda: 0
    built_at: float = field(default_factory=time.time)  # when the served index was swapped in
    last_refresh: float = field(default_factory=time.time)  # last completed refresh
    lag_seconds: float = 0.0  # publish -> served, for the newest version picked up


class _IndexCollector(Collector):
    """Gauges computed when scraped, so they are current without a timer thread."""

    def __init__(self, state: IndexState) -> None:
        self._state = state

    def collect(self) -> Iterator[Metric]:
        state = self._state
        yield GaugeMetricFamily(
            "massage_estimator_rule_index_versions",
            "Rule-set versions in the in-memory index that answers quotes.",
            value=state.versions(),
        )
        yield GaugeMetricFamily(
            "massage_estimator_rule_index_age_seconds",
            "Seconds since the index being served was built (start-up or last reload).",
            value=max(0.0, time.time() - state.built_at),
        )
        yield GaugeMetricFamily(
            "massage_estimator_rule_index_last_refresh_timestamp_seconds",
            "Unix time of this replica's last completed refresh: its index compared with the "
            "store's change marker (reloaded when they differ), at start, after a publish or "
            "a saved quote, and when the watcher sees another replica publish.",
            value=state.last_refresh,
        )
        yield GaugeMetricFamily(
            "massage_estimator_rule_index_refresh_lag_seconds",
            "For the newest version this replica picked up: seconds from its publish (in "
            "any replica) to this replica serving it. 0 until a version is picked up.",
            value=state.lag_seconds,
        )


class Metrics:
    """Every metric of one server, in its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        grpc_labels = ("grpc_type", "grpc_service", "grpc_method")
        self.started = Counter(
            "grpc_server_started_total",
            "RPCs started on the server.",
            grpc_labels,
            registry=self.registry,
        )
        self.handled = Counter(
            "grpc_server_handled_total",
            "RPCs completed on the server, whatever their status code.",
            (*grpc_labels, "grpc_code"),
            registry=self.registry,
        )
        self.handling = Histogram(
            "grpc_server_handling_seconds",
            "Time the server took to answer an RPC (application level).",
            grpc_labels,
            buckets=HANDLING_BUCKETS,
            registry=self.registry,
        )
        self.quotes = Counter(
            "massage_estimator_quotes_total",
            "Session quotes answered, by outcome: covered, not_covered, unavailable (no "
            "answer for a reason on the service's side) or invalid (the request was refused).",
            ("outcome",),
            registry=self.registry,
        )
        self.publishes = Counter(
            "massage_estimator_publishes_total",
            "Rule-set publishes through this server, by outcome: created, unchanged (the same "
            "content was already published), rejected (invalid or clashing) or failed.",
            ("outcome",),
            registry=self.registry,
        )
        self.store_errors = Counter(
            "massage_estimator_store_errors_total",
            "Errors the rule store's database driver raised, by kind: disconnect (the "
            "database was unreachable) or error (anything else).",
            ("kind",),
            registry=self.registry,
        )
        self.index = IndexState()
        self.registry.register(_IndexCollector(self.index))
        for outcome in QUOTE_OUTCOMES:  # zero series exist before the first quote
            self.quotes.labels(outcome)
        for outcome in PUBLISH_OUTCOMES:
            self.publishes.labels(outcome)
        for kind in ("disconnect", "error"):
            self.store_errors.labels(kind)

    def serve(self, host: str, port: int) -> MetricsEndpoint:
        """Start /metrics (any path answers) on host:port; port 0 picks a free one."""
        server, thread = start_http_server(port, addr=host.strip("[]"), registry=self.registry)
        return MetricsEndpoint(server, thread.join)


@dataclass
class MetricsEndpoint:
    """A running /metrics HTTP server."""

    server: WSGIServer
    _join: Callable[[float | None], None]

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._join(5.0)
