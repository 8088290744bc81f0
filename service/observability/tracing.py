"""OpenTelemetry spans for every RPC and every publish, exported over OTLP/gRPC when an
endpoint is configured (`MASSAGE_ESTIMATOR_OTLP_ENDPOINT`).

Off by default and cheap when off: without an endpoint nothing here is imported by the
server and the interceptor opens no span. The provider is the server's own (never the global
one), so several servers in one process (the tests) do not share exporters. A caller's W3C
`traceparent` metadata is honoured: the RPC's span continues the caller's trace.

Span attributes carry the method, status and request id, never request content (PHI).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import grpc
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter

SERVER_ERRORS = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)
"""Codes that mark a server span as an error (OpenTelemetry's gRPC conventions); a refused
request is the client's error, not the server's."""


class RpcTracer:
    """Opens the spans of one server; shut it down to flush what is pending."""

    def __init__(self, provider: TracerProvider) -> None:
        self._provider = provider
        self._tracer = provider.get_tracer("massage-estimator")

    @contextmanager
    def rpc_span(
        self,
        service: str,
        method: str,
        request_id: str,
        metadata: Sequence[tuple[str, str | bytes]] | None = None,
    ) -> Iterator[Callable[[grpc.StatusCode], None]]:
        """The server span of one call; the caller records the status code through the
        function it is given."""
        carrier = {k: v for k, v in metadata or () if isinstance(v, str)}
        parent = propagate.extract(carrier) if "traceparent" in carrier else None
        with self._tracer.start_as_current_span(
            f"{service}/{method}",
            context=parent,
            kind=trace.SpanKind.SERVER,
            attributes={
                "rpc.system": "grpc",
                "rpc.service": service,
                "rpc.method": method,
                "request_id": request_id,
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as span:

            def record(code: grpc.StatusCode) -> None:
                span.set_attribute("rpc.grpc.status_code", code.value[0])
                if code in SERVER_ERRORS:
                    span.set_status(trace.Status(trace.StatusCode.ERROR, code.name))

            yield record

    @contextmanager
    def span(self, name: str, attributes: Mapping[str, Any]) -> Iterator[trace.Span]:
        """An internal span (a publish), a child of the current RPC's span."""
        with self._tracer.start_as_current_span(name, attributes=dict(attributes)) as span:
            yield span

    def shutdown(self) -> None:
        self._provider.shutdown()


def start_tracing(endpoint: str | None, exporter: SpanExporter | None = None) -> RpcTracer:
    """A tracer exporting to `exporter` (tests: an in-memory one, spans kept at once) or over
    OTLP/gRPC to `endpoint` in batches off the request path."""
    provider = TracerProvider(resource=Resource.create({"service.name": "massage-estimator"}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif endpoint:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        otlp = OTLPSpanExporter(endpoint=endpoint, insecure=not endpoint.startswith("https://"))
        provider.add_span_processor(BatchSpanProcessor(otlp))
    else:
        raise ValueError("tracing needs an OTLP endpoint or an exporter")
    return RpcTracer(provider)
