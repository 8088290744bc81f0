"""Build, start and stop the gRPC server: EstimatorService, health checking and reflection.

Health reports NOT_SERVING until the caller says the rule index is loaded (mark_serving), so
a load balancer never routes a quote to a replica that cannot answer it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from massage_estimator.v1 import clinics_pb2_grpc as cpb_grpc
from massage_estimator.v1 import estimator_pb2_grpc as pb_grpc
from massage_estimator.v1 import payer_rules_pb2_grpc as rpb_grpc

from service.api.clinics import SERVICE_NAME as CLINIC_SERVICE_NAME
from service.api.clinics import ClinicServicer
from service.api.drain import drain_then_stop
from service.api.estimator import SERVICE_NAME, QuoterLike
from service.api.guard import RequestGuard
from service.api.limits import limits_for
from service.api.payer_rules import SERVICE_NAME as PAYER_RULES_SERVICE_NAME
from service.api.payer_rules import PayerRulesServicer
from service.api.quotes import QuotingServicer
from service.usecases import QuoteService, RuleSetService
from service.usecases.clinics import ClinicProfileService
from service.usecases.impact import ImpactPreviewService
from service.wire import bracketed, host_port

log = logging.getLogger(__name__)

HEALTH_SERVICE_NAME = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
SERVED_SERVICES = ("", SERVICE_NAME, PAYER_RULES_SERVICE_NAME)
"""Service names health answers for: "" is the whole server."""
STORE_HEALTH_NAME = "massage_estimator.v1.RuleStore"
"""Health of the rule store alone: NOT_SERVING while the database is unreachable. Kept apart
from the names above so an outage never takes quoting (answered from memory) out of a load
balancer; watch it for alerts, never probe readiness with it."""


class BindError(RuntimeError):
    """The configured address could not be bound (in use, or not a local address)."""


@dataclass
class GrpcServer:
    """A started server and what a caller needs to talk about it."""

    server: grpc.Server
    health: health.HealthServicer
    host: str
    port: int

    @property
    def address(self) -> str:
        return host_port(self.host, self.port)

    @property
    def target(self) -> str:
        """An address a local client can dial (wildcard hosts become loopback)."""
        host = {"0.0.0.0": "127.0.0.1", "[::]": "[::1]", "::": "[::1]"}.get(self.host, self.host)
        return host_port(host, self.port)

    def mark_serving(self) -> None:
        for name in SERVED_SERVICES:
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    def mark_store(self, reachable: bool) -> None:
        """Report whether the rule store answers (under STORE_HEALTH_NAME only)."""
        serving = health_pb2.HealthCheckResponse.SERVING
        self.health.set(
            STORE_HEALTH_NAME, serving if reachable else health_pb2.HealthCheckResponse.NOT_SERVING
        )

    def stop(self, grace: float | None, drain: float = 0.0) -> None:
        """Health NOT_SERVING at once; keep answering every call for `drain` seconds; then
        stop accepting calls and let in-flight ones finish for `grace` seconds (service.api.drain
        says why)."""
        drain_then_stop(self.server, self.health, grace, drain)

    def wait(self, timeout: float | None = None) -> bool:
        return self.server.wait_for_termination(timeout)


def build_server(
    quoter: QuoterLike,
    *,
    host: str,
    port: int,
    max_workers: int = 16,
    batch_max: int = 1000,
    quotes: QuoteService | None = None,
    rule_sets: RuleSetService | None = None,
    reuse_port: bool = False,
    impact: ImpactPreviewService | None = None,
    clinics: ClinicProfileService | None = None,
    interceptors: Sequence[grpc.ServerInterceptor[Any, Any]] = (),
    credentials: grpc.ServerCredentials | None = None,
    max_message_bytes: int | None = None,
    max_concurrent_rpcs: int | None = None,
) -> GrpcServer:
    """Create and start the server bound to host:port (port 0 picks a free one).

    Health stays NOT_SERVING until `mark_serving()`. Without `quotes`, save_quote requests
    are refused; without `rule_sets`, PayerRulesService is not offered. `reuse_port` is only
    for the processes of `serve --processes N` (service.cli.processes), whose parent holds
    the port: otherwise a taken port must fail.
    """
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="rpc"),
        options=[
            ("grpc.so_reuseport", 1 if reuse_port else 0),
            *(
                [
                    ("grpc.max_receive_message_length", max_message_bytes),
                    ("grpc.max_send_message_length", max_message_bytes),
                ]
                if max_message_bytes
                else []
            ),
        ],
        # telemetry outermost, so a request the guard refuses is still counted and logged
        interceptors=[*interceptors, RequestGuard(limits_for(batch_max))],
        maximum_concurrent_rpcs=max_concurrent_rpcs,
    )
    pb_grpc.add_EstimatorServiceServicer_to_server(  # type: ignore[no-untyped-call]
        QuotingServicer(quoter, batch_max=batch_max, quotes=quotes), server
    )
    if rule_sets is not None:
        rpb_grpc.add_PayerRulesServiceServicer_to_server(  # type: ignore[no-untyped-call]
            PayerRulesServicer(rule_sets, impact), server
        )
    if clinics is not None:
        cpb_grpc.add_ClinicServiceServicer_to_server(  # type: ignore[no-untyped-call]
            ClinicServicer(clinics), server
        )
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    for name in (*SERVED_SERVICES, STORE_HEALTH_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (
            SERVICE_NAME,
            PAYER_RULES_SERVICE_NAME,
            CLINIC_SERVICE_NAME,
            HEALTH_SERVICE_NAME,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    bind_host = bracketed(host)
    try:
        address = f"{bind_host}:{port}"
        if credentials is not None:
            bound = server.add_secure_port(address, credentials)
        else:
            bound = server.add_insecure_port(address)
    except RuntimeError as exc:  # grpc raises RuntimeError when it cannot bind
        raise BindError(f"cannot listen on {bind_host}:{port}: {exc}") from exc
    if bound == 0:
        raise BindError(f"cannot listen on {bind_host}:{port} (in use or not a local address)")
    server.start()
    return GrpcServer(server=server, health=health_servicer, host=bind_host, port=bound)
