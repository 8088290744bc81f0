"""The server around the servicer: health, reflection, ports, start-up seeding, INTERNAL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import estimator_pb2_grpc as pb_grpc

from service.api.server import BindError, build_server
from service.app import Application, start
from service.domain import model
from service.domain.quoting import Quoter
from service.settings import Settings

from .helpers import error_info, issue_example, rpc_error_status

SERVICE = "massage_estimator.v1.EstimatorService"


@pytest.mark.parametrize("service", ["", SERVICE])
def test_health_is_serving(grpc_channel: grpc.Channel, service: str) -> None:
    stub = health_pb2_grpc.HealthStub(grpc_channel)
    resp = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
    assert resp.status == health_pb2.HealthCheckResponse.SERVING


def test_health_unknown_service_is_not_found(grpc_channel: grpc.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(grpc_channel)
    with pytest.raises(grpc.RpcError) as caught:
        stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=5)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def _reflect(
    channel: grpc.Channel, request: reflection_pb2.ServerReflectionRequest
) -> reflection_pb2.ServerReflectionResponse:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    return next(iter(stub.ServerReflectionInfo(iter([request]), timeout=5)))


def test_reflection_lists_the_service(grpc_channel: grpc.Channel) -> None:
    resp = _reflect(grpc_channel, reflection_pb2.ServerReflectionRequest(list_services=""))
    names = {s.name for s in resp.list_services_response.service}
    assert {SERVICE, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= names


def test_reflection_describes_the_service(grpc_channel: grpc.Channel) -> None:
    resp = _reflect(
        grpc_channel, reflection_pb2.ServerReflectionRequest(file_containing_symbol=SERVICE)
    )
    assert resp.file_descriptor_response.file_descriptor_proto


def test_app_reports_the_bound_port_and_what_it_serves(estimator_app: Application) -> None:
    assert estimator_app.port > 0
    assert estimator_app.target == f"127.0.0.1:{estimator_app.port}"
    index = estimator_app.quoter.index
    assert {"acme-ppo-gold", "contoso-hmo-silver", "cedar-hdhp-hsa", "summit-ma-plus"} <= set(
        index.plan_ids()
    )
    assert len(index.versions) == 9


def test_second_start_serves_from_the_store_without_reseeding(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, service_settings: Callable[..., Settings]
) -> None:
    db = tmp_path / "db" / "nested" / "estimator.db"  # the folder is created
    caplog.set_level("INFO", logger="service.app")
    first = start(service_settings(db))
    try:
        assert db.exists()
        assert "seeded 9 versions" in caplog.text
    finally:
        first.stop(grace=0)
    caplog.clear()
    second = start(service_settings(db))
    try:
        assert "seeded" not in caplog.text
        assert f"127.0.0.1:{second.port}" in caplog.text
        assert "9 rule versions" in caplog.text
        with grpc.insecure_channel(second.target) as channel:
            stub = pb_grpc.EstimatorServiceStub(channel)  # type: ignore[no-untyped-call]
            resp = stub.EstimateSession(
                pb.EstimateSessionRequest(session=issue_example()), timeout=10
            )
            assert resp.estimate.patient_pays.units == 64
            # published versions keep their first publish time across restarts
            assert resp.estimate.rule_version.published_at.seconds > 0
    finally:
        second.stop(grace=0)


def test_stop_turns_health_off_and_closes_the_port(
    tmp_path: Path, service_settings: Callable[..., Settings]
) -> None:
    app = start(service_settings(tmp_path / "estimator.db"))
    target = app.target
    app.stop(grace=0)
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.Check(health_pb2.HealthCheckRequest(), timeout=2)
    assert caught.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def test_a_port_in_use_is_a_clear_bind_error(estimator_app: Application) -> None:
    with pytest.raises(BindError, match=str(estimator_app.port)):
        build_server(estimator_app.quoter, host="127.0.0.1", port=estimator_app.port)


class _BrokenQuoter(Quoter):
    """A quoter whose engine has a bug: the only way to make the real code raise an
    unexpected exception on purpose, to prove no traceback reaches the client."""

    def estimate(
        self, request: model.SessionRequest, as_of: datetime | None = None
    ) -> model.Estimate:
        raise ZeroDivisionError("secret internal detail")

    def treatment_plan(
        self, template: model.SessionRequest, dates: object, as_of: datetime | None = None
    ) -> model.TreatmentPlanEstimate:
        raise KeyError("secret internal detail")


def test_unexpected_errors_are_internal_without_detail(
    estimator_app: Application, caplog: pytest.LogCaptureFixture
) -> None:
    server = build_server(
        _BrokenQuoter(estimator_app.quoter.index, estimator_app.quoter.clinic),
        host="127.0.0.1",
        port=0,
    )
    server.mark_serving()
    try:
        with grpc.insecure_channel(server.target) as channel:
            stub = pb_grpc.EstimatorServiceStub(channel)  # type: ignore[no-untyped-call]
            with pytest.raises(grpc.RpcError) as caught:
                stub.EstimateSession(pb.EstimateSessionRequest(session=issue_example()), timeout=10)
            assert caught.value.code() == grpc.StatusCode.INTERNAL
            status = rpc_error_status(caught.value)
            assert "secret" not in status.message and "Traceback" not in status.message
            assert error_info(status).reason == "INTERNAL"
            resp = stub.EstimateSessions(
                pb.EstimateSessionsRequest(sessions=[issue_example()]), timeout=10
            )
            assert resp.failed_count == 1
            assert "secret" not in resp.results[0].error.message
    finally:
        server.stop(0)
    assert "secret internal detail" in caplog.text  # logged on the server side
