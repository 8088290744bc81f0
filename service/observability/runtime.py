"""The observability of one running server, as service.app wires it: the interceptor, the
metrics endpoint, the rule-index and store hooks, and the tracer.

Everything is optional: without a metrics port no registry is made, without an OTLP
endpoint no tracer; the interceptor still gives every call its request id and access line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from service.api.observability import CallObserver, MetricsObserver, ObservabilityInterceptor
from service.domain.clinics import ClinicIndex, ClinicVersion
from service.domain.index import RuleIndex
from service.domain.model import Clinic
from service.observability.metrics import IndexState, Metrics, MetricsEndpoint
from service.settings import Settings
from service.usecases import IndexRefresher, PublishResult, RuleSetService

# How a refresher reloads and serves the clinic versions (service.usecases.refresh).
ClinicSource = tuple[Callable[[], list[ClinicVersion]], Callable[[ClinicIndex], None]]

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

    from service.observability.tracing import RpcTracer
    from service.storage import RuleStore

log = logging.getLogger("service.observability")


@dataclass
class Telemetry:
    """Metrics (None when off), their endpoint once served, and the tracer (None when off)."""

    metrics: Metrics | None = None
    tracer: RpcTracer | None = None
    endpoint: MetricsEndpoint | None = None
    _hooks: list[Callable[[], None]] = field(default_factory=list)

    @classmethod
    def start(cls, settings: Settings, span_exporter: SpanExporter | None = None) -> Telemetry:
        """What the settings ask for; `span_exporter` (tests) traces without an endpoint."""
        metrics = Metrics() if settings.metrics_port is not None else None
        tracer = None
        if settings.otlp_endpoint or span_exporter is not None:
            from service.observability.tracing import start_tracing  # only when tracing

            tracer = start_tracing(settings.otlp_endpoint, span_exporter)
            if settings.otlp_endpoint:
                log.info("tracing: OTLP spans to %s", settings.otlp_endpoint)
        return cls(metrics=metrics, tracer=tracer)

    def interceptor(self) -> ObservabilityInterceptor:
        observers: list[CallObserver] = []
        if self.metrics is not None:
            observers.append(MetricsObserver(self.metrics))
        return ObservabilityInterceptor(observers, self.tracer)

    def watch_store(self, engine: Engine) -> None:
        """Count the store's driver errors (SQLAlchemy's handle_error event on its engine)."""
        metrics = self.metrics
        if metrics is None:
            return

        def on_error(context: Any) -> None:
            kind = "disconnect" if context.is_disconnect else "error"
            metrics.store_errors.labels(kind).inc()

        event.listen(engine, "handle_error", on_error)
        self._hooks.append(lambda: event.remove(engine, "handle_error", on_error))

    def refresher(
        self,
        store: RuleStore,
        clinic: Clinic,
        quoter: Any,
        marker: str,
        clinics: ClinicSource | None = None,
    ) -> IndexRefresher:
        """The replica's IndexRefresher, reporting to the rule-index metrics when they are on."""
        if self.metrics is None:
            return IndexRefresher(store, clinic, quoter, marker, clinics=clinics)
        return ObservedRefresher(store, clinic, quoter, marker, self.metrics.index, clinics)

    def rule_sets(
        self,
        store: RuleStore,
        clinic: Clinic,
        index: Callable[[], RuleIndex],
        refresh: Callable[[], object],
        payer_allowed: Callable[[str], bool] | None = None,
        max_content_bytes: int | None = None,
    ) -> RuleSetService:
        """The publish use cases, each publish in a span when tracing is on."""
        if self.tracer is None:
            return RuleSetService(store, clinic, index, refresh, payer_allowed, max_content_bytes)
        return TracedRuleSetService(
            store,
            clinic,
            index,
            refresh,
            payer_allowed,
            max_content_bytes,
            tracer=self.tracer,
        )

    def serve_metrics(self, host: str, port: int | None) -> None:
        """Start /metrics on host:port (port 0 picks a free one, logged) when metrics are on."""
        if self.metrics is None or port is None:
            return
        self.endpoint = self.metrics.serve(host, port)
        shown = "127.0.0.1" if host in ("0.0.0.0", "[::]", "::") else host
        log.info("metrics on http://%s:%d/metrics", shown, self.endpoint.port)

    def stop(self) -> None:
        if self.endpoint is not None:
            self.endpoint.stop()
        for hook in self._hooks:
            hook()
        if self.tracer is not None:
            self.tracer.shutdown()


class ObservedRefresher(IndexRefresher):
    """An IndexRefresher that records, for the rule-index gauges, when it last read the store,
    when it swapped an index in and how long after its publish the newest version arrived."""

    def __init__(
        self,
        store: RuleStore,
        clinic: Clinic,
        quoter: Any,
        marker: str,
        state: IndexState,
        clinics: ClinicSource | None = None,
    ) -> None:
        super().__init__(store, clinic, quoter, marker, clinics=clinics)
        self._state = state
        state.versions = lambda: len(quoter.index.versions)

    def refresh(self) -> bool:
        swapped = super().refresh()
        now = time.time()
        self._state.last_refresh = now
        if swapped:
            self._state.built_at = now
            versions = self.quoter.index.versions
            if versions:
                newest = max(v.published_at for v in versions)
                self._state.lag_seconds = max(0.0, now - newest.timestamp())
        return swapped


class TracedRuleSetService(RuleSetService):
    """RuleSetService whose publishes are spans (payer, version, created: no PHI in rules)."""

    def __init__(
        self,
        store: RuleStore,
        clinic: Clinic,
        index: Callable[[], RuleIndex],
        refresh: Callable[[], object],
        payer_allowed: Callable[[str], bool] | None = None,
        max_content_bytes: int | None = None,
        *,
        tracer: RpcTracer,
    ) -> None:
        super().__init__(store, clinic, index, refresh, payer_allowed, max_content_bytes)
        self._tracer = tracer

    def publish(self, content: str, source: str, published_by: str, note: str) -> PublishResult:
        with self._tracer.span("publish rule set", {"rule_set.source": source}) as span:
            result = super().publish(content, source, published_by, note)
            span.set_attribute("rule_set.created", result.created)
            span.set_attribute("rule_set.payer_id", result.version.payer_id)
            span.set_attribute("rule_set.version", result.version.version)
            return result
