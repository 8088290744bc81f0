"""OpenTelemetry spans: one server span per RPC (continuing a caller's traceparent), a child
span per publish, exported in memory here and over real OTLP/gRPC to a collector stand-in
from the `serve` process; nothing of OpenTelemetry is even imported when tracing is off."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import estimator_pb2_grpc as pb_grpc
from massage_estimator.v1 import payer_rules_pb2 as rpb
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as otlp
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as otlp_grpc
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from service.app import Application, start
from service.observability.runtime import Telemetry
from tests.api.helpers import issue_example
from tests.api.rules_helpers import Clients, clients_for, mid_year_2026
from tests.conftest import REPO_ROOT, make_settings

from .helpers import serving

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.fixture
def traced(tmp_path: Path) -> Iterator[tuple[Application, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    settings = make_settings(tmp_path / "store.db")
    app = start(settings, telemetry=Telemetry.start(settings, span_exporter=exporter))
    try:
        yield app, exporter
    finally:
        app.stop(grace=1.0)


def test_each_rpc_is_a_server_span_and_each_publish_a_child_span(
    traced: tuple[Application, InMemorySpanExporter],
) -> None:
    app, exporter = traced
    with clients_for(app.target) as c:
        exporter.clear()
        c.estimator.EstimateSession(
            pb.EstimateSessionRequest(session=issue_example()),
            metadata=(("traceparent", TRACEPARENT), ("x-request-id", "trace-req-1")),
            timeout=10,
        )
        with pytest.raises(grpc.RpcError):
            c.estimator.EstimateSession(
                pb.EstimateSessionRequest(session=issue_example(plan_id="nope")), timeout=10
            )
        published = _publish(c)
    assert published.created
    finished = exporter.get_finished_spans()
    spans = {span.name: span for span in finished}  # the last span of each name
    quotes = [s for s in finished if s.name.endswith("/EstimateSession")]
    assert len(quotes) == 2
    quote = quotes[0]
    assert quote.kind == SpanKind.SERVER
    assert quote.context is not None and f"{quote.context.trace_id:032x}" == TRACE_ID
    assert quote.attributes is not None
    assert quote.attributes["request_id"] == "trace-req-1"
    assert quote.attributes["rpc.grpc.status_code"] == 0
    assert quote.status.status_code == StatusCode.UNSET
    refused = quotes[1]
    assert refused.attributes is not None
    assert refused.attributes["rpc.grpc.status_code"] == grpc.StatusCode.NOT_FOUND.value[0]
    assert refused.status.status_code == StatusCode.UNSET  # the client's error, not the server's
    assert refused.context is not None and f"{refused.context.trace_id:032x}" != TRACE_ID
    rpc = spans["massage_estimator.v1.PayerRulesService/PublishRuleSet"]
    publish = spans["publish rule set"]
    assert publish.parent is not None and rpc.context is not None
    assert publish.parent.span_id == rpc.context.span_id
    assert publish.attributes is not None
    assert publish.attributes["rule_set.created"] is True
    assert publish.attributes["rule_set.version"] == "2026.2"
    for span in exporter.get_finished_spans():  # no request content on any span
        assert "M54.50" not in str(dict(span.attributes or {}))


def _publish(c: Clients) -> rpb.PublishRuleSetResponse:
    request = rpb.PublishRuleSetRequest(content=mid_year_2026(), source="m.yaml", published_by="a")
    response: rpb.PublishRuleSetResponse = c.rules.PublishRuleSet(request, timeout=30)
    return response


class _Collector(otlp_grpc.TraceServiceServicer):
    """Stands in for an OpenTelemetry collector: keeps the span names it is sent."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.received = threading.Event()

    def Export(
        self, request: otlp.ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> otlp.ExportTraceServiceResponse:
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                self.names.extend(span.name for span in scope.spans)
        self.received.set()
        return otlp.ExportTraceServiceResponse()


def test_serve_exports_spans_over_otlp_to_the_configured_endpoint(tmp_path: Path) -> None:
    collector = _Collector()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    otlp_grpc.add_TraceServiceServicer_to_server(collector, server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        env = {"MASSAGE_ESTIMATOR_OTLP_ENDPOINT": endpoint}
        with serving(tmp_path / "store.db", env=env) as s, grpc.insecure_channel(s.target) as ch:
            stub = pb_grpc.EstimatorServiceStub(ch)  # type: ignore[no-untyped-call]
            stub.EstimateSession(pb.EstimateSessionRequest(session=issue_example()), timeout=10)
        # serving() stopped the process with SIGTERM: the batch was flushed on the way out
        assert collector.received.wait(10)
    finally:
        server.stop(0)
    assert "massage_estimator.v1.EstimatorService/EstimateSession" in collector.names


def test_tracing_off_imports_nothing_of_opentelemetry(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from service.app import start\n"
        "from tests.conftest import make_settings\n"
        "from pathlib import Path\n"
        f"app = start(make_settings(Path({str(tmp_path)!r}) / 'x.db'))\n"
        "app.stop(0)\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.strip() == "[]", result.stdout
