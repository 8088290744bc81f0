"""A stand-in gRPC server that answers UNAVAILABLE a set number of times, counting attempts:
what a client's retry policy (service.wire.service_config) sees from a draining replica."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import estimator_pb2_grpc as pb_grpc
from massage_estimator.v1 import payer_rules_pb2 as rpb
from massage_estimator.v1 import payer_rules_pb2_grpc as rpb_grpc


@dataclass
class Flaky:
    """How many times each method fails before it answers, and the attempts seen."""

    failures: dict[str, int]
    attempts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    target: str = ""

    def attempt(self, method: str, context: grpc.ServicerContext) -> None:
        with self.lock:
            self.attempts[method] += 1
            fail = self.attempts[method] <= self.failures.get(method, 0)
        if fail:
            context.abort(grpc.StatusCode.UNAVAILABLE, "draining")


class _Rules(rpb_grpc.PayerRulesServiceServicer):
    def __init__(self, flaky: Flaky) -> None:
        self.flaky = flaky

    def ListRuleSets(
        self, request: rpb.ListRuleSetsRequest, context: grpc.ServicerContext
    ) -> rpb.ListRuleSetsResponse:
        self.flaky.attempt("ListRuleSets", context)
        return rpb.ListRuleSetsResponse(rule_sets=[rpb.RuleSetInfo(payer_id="acme-health")])


class _Estimator(pb_grpc.EstimatorServiceServicer):
    def __init__(self, flaky: Flaky) -> None:
        self.flaky = flaky

    def EstimateSession(
        self, request: pb.EstimateSessionRequest, context: grpc.ServicerContext
    ) -> pb.EstimateSessionResponse:
        self.flaky.attempt("EstimateSession", context)
        return pb.EstimateSessionResponse(quote_id="q-1")


@contextmanager
def flaky_server(failures: dict[str, int]) -> Iterator[Flaky]:
    flaky = Flaky(failures)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    rpb_grpc.add_PayerRulesServiceServicer_to_server(_Rules(flaky), server)  # type: ignore[no-untyped-call]
    pb_grpc.add_EstimatorServiceServicer_to_server(_Estimator(flaky), server)  # type: ignore[no-untyped-call]
    servicer = health.HealthServicer()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    flaky.target = f"127.0.0.1:{port}"
    try:
        yield flaky
    finally:
        server.stop(0).wait()
