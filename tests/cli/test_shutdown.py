"""SIGTERM against the real `massage-estimator serve` process with 20 long calls in flight
(52-session treatment plans and 1,000-session batches): zero failures, health NOT_SERVING
before the process exits, exit code 0 (issue 12: it used to cancel 13 of 80)."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import estimator_pb2_grpc as pb_grpc

from tests.api.helpers import d, issue_example
from tests.replicas.test_two_servers import SCRIPT, Replica, free_port, wait_serving

CLIENTS = 20
SERVING: int = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING: int = health_pb2.HealthCheckResponse.NOT_SERVING


def plan_request() -> pb.EstimateTreatmentPlanRequest:
    session = issue_example()
    session.ClearField("date_of_service")
    return pb.EstimateTreatmentPlanRequest(
        session=session,
        recurrence=pb.Recurrence(start_date=d("2026-03-03"), session_count=52, every_days=7),
    )


def batch_request() -> pb.EstimateSessionsRequest:
    return pb.EstimateSessionsRequest(sessions=[issue_example()] * 1000)


def long_call(stub: pb_grpc.EstimatorServiceStub, index: int) -> None:
    if index % 2:
        stub.EstimateTreatmentPlan(plan_request(), timeout=60)
    else:
        answer = stub.EstimateSessions(batch_request(), timeout=60)
        assert answer.succeeded_count == 1000


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Replica]:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(SCRIPT), "serve", "--port", str(port), "--drain-seconds", "5",
                "--database-url", f"sqlite:///{tmp_path / 'store.db'}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    replica = Replica("serve", process, f"127.0.0.1:{port}", log)
    try:
        wait_serving(replica)
        yield replica
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_sigterm_with_20_long_calls_in_flight_fails_none_and_exits_0(server: Replica) -> None:
    health_seen: list[int] = []

    def watch_health() -> None:
        with grpc.insecure_channel(server.target) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            try:
                for answer in stub.Watch(health_pb2.HealthCheckRequest(service="")):
                    health_seen.append(int(answer.status))
            except grpc.RpcError:
                pass  # the server went away

    outcomes: list[str] = []
    stop_calling = threading.Event()

    def client(index: int) -> None:
        with grpc.insecure_channel(server.target) as channel:
            stub = pb_grpc.EstimatorServiceStub(channel)  # type: ignore[no-untyped-call]
            while not stop_calling.is_set():
                try:
                    long_call(stub, index)
                    outcomes.append("ok")
                except grpc.RpcError as exc:
                    outcomes.append(f"{exc.code()}: {exc.details()}")

    watcher = threading.Thread(target=watch_health, daemon=True)
    watcher.start()
    clients = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    for c in clients:
        c.start()
    deadline = time.monotonic() + 120
    while len(outcomes) < CLIENTS and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(outcomes) >= CLIENTS, "the clients never got going"

    server.process.send_signal(signal.SIGTERM)  # every client has a call in flight now
    signalled_at = len(outcomes)
    while NOT_SERVING not in health_seen and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.process.poll() is None, "exited before a load balancer could see NOT_SERVING"
    assert health_seen[0] == SERVING and health_seen[-1] == NOT_SERVING
    # Draining: a brand-new connection and call are still answered.
    with grpc.insecure_channel(server.target) as fresh:
        long_call(pb_grpc.EstimatorServiceStub(fresh), 1)  # type: ignore[no-untyped-call]
    stop_calling.set()  # like a load balancer that saw NOT_SERVING and moved away
    for c in clients:
        c.join(60)
    assert server.process.wait(60) == 0, server.log.read_text()
    failures = [o for o in outcomes if o != "ok"]
    assert failures == [], failures
    assert len(outcomes) >= signalled_at + CLIENTS  # every call in flight at SIGTERM finished
    log = server.log.read_text()
    assert "Traceback" not in log, log
    print(f"{len(outcomes)} long calls, {len(outcomes) - signalled_at} finished after SIGTERM")
