"""One server interceptor for what every unary RPC tells an operator: the request id, one
access-log line, the go-grpc-prometheus metrics and an OpenTelemetry span.

The request id comes from the caller's `x-request-id` metadata (the gateway always sends one)
or is made here; it is set in call_context for the call, so every record logged while serving
the call carries it, and returned to the client as `x-request-id` initial metadata (trailing
metadata is left to the servicers: rich error details travel there).

The access line names the method, status code, duration, identity and request id. Never the
request or the response: they hold diagnosis codes, dates of service and client details.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, Protocol

import grpc

from service.api import call_context
from service.api.estimator import SERVICE_NAME as ESTIMATOR_SERVICE_NAME
from service.api.payer_rules import SERVICE_NAME as PAYER_RULES_SERVICE_NAME
from service.observability.logs import AccessEntry, access_writer
from service.observability.metrics import PUBLISH_OUTCOMES, QUOTE_OUTCOMES, Metrics

access_log = logging.getLogger("service.access")

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+=-]{0,127}")
"""A caller's request id is kept when it looks like an id (UUIDs, trace ids, ...); anything
else (too long, spaces, control characters) is replaced, so it cannot forge log content."""

QUIET_SERVICES = frozenset({"grpc.health.v1.Health"})
"""Probed every few seconds by load balancers: their access lines are DEBUG, not INFO."""


class MethodObserver(Protocol):
    """What watches each call of one method besides the log: told at start and at the end."""

    def started(self) -> None: ...

    def handled(self, code: grpc.StatusCode, seconds: float, response: Any) -> None: ...


class CallObserver(Protocol):
    """Watches calls (the metrics); bound once per method, so per-call work stays small."""

    def bind(self, service: str, method: str) -> MethodObserver: ...


class SpanFactory(Protocol):
    """Opens the span of one call (service.observability.tracing.RpcTracer); the call's
    status code is recorded through the function the span yields."""

    def rpc_span(
        self,
        service: str,
        method: str,
        request_id: str,
        metadata: Sequence[tuple[str, str | bytes]] | None = None,
    ) -> AbstractContextManager[Callable[[grpc.StatusCode], None]]: ...


def request_id_from(metadata: Sequence[tuple[str, str | bytes]] | None) -> str:
    """The caller's x-request-id when it is a plausible id, else a new random one."""
    for key, value in metadata or ():
        if key.lower() == REQUEST_ID_HEADER and isinstance(value, str):
            candidate = value.strip()
            if _REQUEST_ID.fullmatch(candidate):
                return candidate
    return uuid.uuid4().hex


def split_method(full: str) -> tuple[str, str]:
    """ "/pkg.Service/Method" -> ("pkg.Service", "Method")."""
    service, _, method = full.lstrip("/").rpartition("/")
    return service or "unknown", method or "unknown"


if TYPE_CHECKING:  # generic only in the type stubs
    _ServerInterceptor = grpc.ServerInterceptor[Any, Any]
else:
    _ServerInterceptor = grpc.ServerInterceptor


class ObservabilityInterceptor(_ServerInterceptor):
    """Request id, access log, metrics and span for every unary-unary RPC.

    The wrapped handler of each method is built once and reused: per call, the interceptor
    only looks it up, and the call's metadata is read from its context (grpcio runs the
    interceptors again for every call, so anything built here is per-call cost).
    """

    def __init__(
        self, observers: Sequence[CallObserver] = (), tracer: SpanFactory | None = None
    ) -> None:
        self._observers = tuple(observers)
        self._tracer = tracer
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler[Any, Any], Any]] = {}

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler  # streaming (reflection) and unknown methods pass through
        full = handler_call_details.method
        cached = self._wrapped.get(full)
        if cached is not None and cached[0] is handler:
            wrapped: grpc.RpcMethodHandler[Any, Any] = cached[1]
            return wrapped
        wrapped = self._wrap(full, handler)
        self._wrapped[full] = (handler, wrapped)
        return wrapped

    def _wrap(
        self, full: str, handler: grpc.RpcMethodHandler[Any, Any]
    ) -> grpc.RpcMethodHandler[Any, Any]:
        service, method = split_method(full)
        inner = handler.unary_unary
        assert inner is not None
        observers = tuple(o.bind(service, method) for o in self._observers)
        run = self._call

        def behavior(request: Any, context: grpc.ServicerContext) -> Any:
            # A fresh context per call: a worker thread's earlier call leaves nothing behind,
            # and what an inner interceptor sets (the identity) is read back from it.
            return contextvars.copy_context().run(
                run, inner, request, context, service, method, observers
            )

        return grpc.unary_unary_rpc_method_handler(
            behavior,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _call(
        self,
        inner: Callable[[Any, grpc.ServicerContext], Any],
        request: Any,
        context: grpc.ServicerContext,
        service: str,
        method: str,
        observers: tuple[MethodObserver, ...],
    ) -> Any:
        metadata = context.invocation_metadata()
        request_id = request_id_from(metadata)
        call_context.request_id.set(request_id)
        context.send_initial_metadata(((REQUEST_ID_HEADER, request_id),))
        for observer in observers:
            observer.started()
        span = (
            self._tracer.rpc_span(service, method, request_id, metadata)
            if self._tracer is not None
            else nullcontext(None)
        )
        start = time.perf_counter()
        code = grpc.StatusCode.UNKNOWN
        response: Any = None
        with span as record_code:
            try:
                response = inner(request, context)
                code = _code_of(context, grpc.StatusCode.OK)
                return response
            except BaseException:
                code = _code_of(context, grpc.StatusCode.UNKNOWN)
                raise
            finally:
                seconds = time.perf_counter() - start
                if record_code is not None:
                    record_code(code)
                for observer in observers:
                    try:
                        observer.handled(code, seconds, response)
                    except Exception:  # a metric never fails the call
                        access_log.exception("call observer failed")
                _log_access(service, method, code, seconds)


def _code_of(context: grpc.ServicerContext, default: grpc.StatusCode) -> grpc.StatusCode:
    """The status the servicer set (abort sets it before raising), else `default`."""
    code = context.code()  # type: ignore[attr-defined]
    return code if isinstance(code, grpc.StatusCode) else default


def _log_access(service: str, method: str, code: grpc.StatusCode, seconds: float) -> None:
    level = logging.DEBUG if service in QUIET_SERVICES else logging.INFO
    if not access_log.isEnabledFor(level):
        return
    identity = call_context.identity_id.get()
    writer = access_writer()
    if writer is not None and level >= writer.level:
        writer.access(
            AccessEntry(
                time.time(),
                level,
                service,
                method,
                code.name,
                seconds,
                call_context.request_id.get(),
                identity,
            )
        )
        return
    fields: dict[str, Any] = {
        "grpc_service": service,
        "grpc_method": method,
        "grpc_code": code.name,
        "duration_ms": round(seconds * 1000, 6),
    }
    if identity:
        fields["identity_id"] = identity
    access_log.log(
        level, "%s/%s %s %.1fms", service, method, code.name, seconds * 1000, extra=fields
    )


# ---------------------------------------------------------------------------------- metrics

_QUOTE_METHODS = frozenset({"EstimateSession", "EstimateTreatmentPlan", "EstimateSessions"})
_REFUSED = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.OUT_OF_RANGE,
    }
)
"""A quote refused for its request (bad field, unknown plan): outcome "invalid"."""
_NOT_A_QUOTE = frozenset({grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED})
"""An unauthenticated caller's refusal is not a quote at all."""
_RULES_REFUSED = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.FAILED_PRECONDITION,
    }
)


def quote_outcomes(method: str, code: grpc.StatusCode, response: Any) -> dict[str, int]:
    """How many sessions an estimate RPC answered, by outcome (empty for other RPCs).

    A batch counts each row: its estimate's coverage, or its own error's code.
    """
    if method not in _QUOTE_METHODS or code in _NOT_A_QUOTE:
        return {}
    if code != grpc.StatusCode.OK or response is None:
        return {"invalid" if code in _REFUSED else "unavailable": 1}
    counts = {"covered": 0, "not_covered": 0, "unavailable": 0, "invalid": 0}
    if method == "EstimateSession":
        estimates = [response.estimate]
    elif method == "EstimateTreatmentPlan":
        estimates = list(response.sessions)
    else:
        estimates = []
        for result in response.results:
            if result.HasField("estimate"):
                estimates.append(result.estimate)
            else:
                row = _status_code(result.error.code)
                counts["invalid" if row in _REFUSED else "unavailable"] += 1
    for estimate in estimates:
        counts["covered" if estimate.covered else "not_covered"] += 1
    return {outcome: n for outcome, n in counts.items() if n}


def publish_outcome(method: str, code: grpc.StatusCode, response: Any) -> str | None:
    """created / unchanged / rejected / failed for PublishRuleSet, None for other RPCs."""
    if method != "PublishRuleSet":
        return None
    if code == grpc.StatusCode.OK and response is not None:
        return "created" if response.created else "unchanged"
    return "rejected" if code in _RULES_REFUSED else "failed"


def _status_code(value: int) -> grpc.StatusCode:
    return next((c for c in grpc.StatusCode if c.value[0] == value), grpc.StatusCode.UNKNOWN)


class MetricsObserver:
    """Feeds service.observability.metrics.Metrics from every call (a CallObserver)."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def bind(self, service: str, method: str) -> MethodMetrics:
        return MethodMetrics(self._metrics, service, method)


class MethodMetrics:
    """The metric series of one method, looked up once: a call only increments them."""

    def __init__(self, metrics: Metrics, service: str, method: str) -> None:
        self._metrics = metrics
        self._service, self._method = service, method
        self._started = metrics.started.labels("unary", service, method)
        self._handling = metrics.handling.labels("unary", service, method)
        self._handled: dict[grpc.StatusCode, Any] = {}
        self._quotes = {o: metrics.quotes.labels(o) for o in QUOTE_OUTCOMES}
        self._publishes = {o: metrics.publishes.labels(o) for o in PUBLISH_OUTCOMES}

    def started(self) -> None:
        self._started.inc()

    def handled(self, code: grpc.StatusCode, seconds: float, response: Any) -> None:
        handled = self._handled.get(code)
        if handled is None:
            handled = self._metrics.handled.labels("unary", self._service, self._method, code.name)
            self._handled[code] = handled
        handled.inc()
        self._handling.observe(seconds)
        if self._service == ESTIMATOR_SERVICE_NAME:
            for outcome, count in quote_outcomes(self._method, code, response).items():
                self._quotes[outcome].inc(count)
        elif self._service == PAYER_RULES_SERVICE_NAME:
            published = publish_outcome(self._method, code, response)
            if published is not None:
                self._publishes[published].inc()
