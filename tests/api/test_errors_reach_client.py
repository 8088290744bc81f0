"""Errors always reach the client, small: capped details, undecodable bodies, list limits, and
no PHI in the log when a store write fails (issue 12)."""

from __future__ import annotations

import logging
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf.descriptor import Descriptor
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import estimator_pb2_grpc as pb_grpc
from massage_estimator.v1 import payer_rules_pb2 as rpb

from service.api.limits import REPEATED_LIMITS
from service.wire import MAX_DETAIL_ITEMS, MAX_DETAIL_TEXT, MAX_STATUS_MESSAGE

from .helpers import d, error_info, field_violations, issue_example, rpc_error_status
from .rules_helpers import clients_for, running_server

ESTIMATE = "/massage_estimator.v1.EstimatorService/EstimateSession"


def _fail(call: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()  # type: ignore[operator]
    err = caught.value
    assert isinstance(err, grpc.RpcError)
    return err


def test_a_plan_repeating_one_date_50_times_gets_invalid_argument_with_capped_details(
    grpc_stub: pb_grpc.EstimatorServiceStub,
) -> None:
    template = issue_example()
    template.ClearField("date_of_service")
    request = pb.EstimateTreatmentPlanRequest(
        session=template, dates=pb.SessionDates(dates=[d("2026-03-03")] * 50)
    )
    err = _fail(lambda: grpc_stub.EstimateTreatmentPlan(request, timeout=10))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_error_status(err)
    violations = field_violations(status)
    assert len(violations) == MAX_DETAIL_ITEMS
    assert violations["\u2026"].endswith("more violations not listed")
    assert len(status.message) <= MAX_STATUS_MESSAGE


def test_a_4000_character_diagnosis_code_gets_invalid_argument_with_a_clipped_value(
    grpc_stub: pb_grpc.EstimatorServiceStub,
) -> None:
    code = "M" * 4000
    request = pb.EstimateSessionRequest(session=issue_example(diagnosis_codes=[code]))
    err = _fail(lambda: grpc_stub.EstimateSession(request, timeout=10))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_error_status(err)
    described = field_violations(status)
    assert any(f.startswith("session.diagnosis_codes") for f in described)
    assert all(len(text) <= MAX_DETAIL_TEXT for text in described.values())


def test_a_4000_character_plan_id_gets_not_found(grpc_stub: pb_grpc.EstimatorServiceStub) -> None:
    request = pb.EstimateSessionRequest(session=issue_example(plan_id="p" * 4000))
    err = _fail(lambda: grpc_stub.EstimateSession(request, timeout=10))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    info = error_info(rpc_error_status(err))
    assert all(len(value) <= MAX_DETAIL_TEXT for value in info.metadata.values())


def test_an_undecodable_body_gets_invalid_argument_and_one_log_line(
    grpc_channel: grpc.Channel, caplog: pytest.LogCaptureFixture
) -> None:
    raw = grpc_channel.unary_unary(ESTIMATE, request_serializer=None, response_deserializer=None)
    with caplog.at_level(logging.WARNING):
        err = _fail(lambda: raw(b"\xff", timeout=10))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(rpc_error_status(err)).reason == "UNDECODABLE_REQUEST"
    assert [r.getMessage() for r in caplog.records] == [
        f"undecodable request body for {ESTIMATE} (1 bytes, DecodeError); answered INVALID_ARGUMENT"
    ]
    assert caplog.records[0].exc_info is None


@pytest.mark.parametrize(
    ("request_", "field", "limit"),
    [
        (
            pb.EstimateSessionRequest(session=issue_example(diagnosis_codes=["M54.50"] * 13)),
            "session.diagnosis_codes",
            12,
        ),
        (
            pb.EstimateSessionRequest(
                session=issue_example(same_day_procedure_codes=["97110"] * 21)
            ),
            "session.same_day_procedure_codes",
            20,
        ),
    ],
)
def test_a_list_over_its_limit_is_refused_naming_the_field(
    grpc_stub: pb_grpc.EstimatorServiceStub,
    request_: pb.EstimateSessionRequest,
    field: str,
    limit: int,
) -> None:
    err = _fail(lambda: grpc_stub.EstimateSession(request_, timeout=10))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(rpc_error_status(err)) == {
        field: f"must hold at most {limit} entries, not {limit + 1}"
    }


def test_450000_diagnosis_codes_in_a_batch_are_refused_before_any_work(
    grpc_stub: pb_grpc.EstimatorServiceStub,
) -> None:
    many = issue_example()
    many.diagnosis_codes.extend(["M54.50"] * 450_000)
    request = pb.EstimateSessionsRequest(sessions=[issue_example(), many])
    err = _fail(lambda: grpc_stub.EstimateSessions(request, timeout=30))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(field_violations(rpc_error_status(err))) == ["sessions[1].diagnosis_codes"]


def _repeated_request_fields(message: Descriptor, seen: set[str]) -> set[str]:
    found: set[str] = set()
    if message.full_name in seen:
        return found
    seen.add(message.full_name)
    for field in message.fields:
        if field.is_repeated:
            found.add(field.full_name)
        if field.message_type is not None and field.message_type.full_name.startswith(
            "massage_estimator."
        ):
            found |= _repeated_request_fields(field.message_type, seen)
    return found


def test_every_repeated_request_field_has_a_limit() -> None:
    fields: set[str] = set()
    for module in (pb, rpb):
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                fields |= _repeated_request_fields(method.input_type, set())
    assert fields, "no repeated request fields found: the walk is broken"
    assert fields - set(REPEATED_LIMITS) == set()


def test_a_failing_saved_quote_write_logs_no_diagnosis_code_or_date(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with running_server(tmp_path / "quotes.db") as app, clients_for(app.target) as c:
        with app.store.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "CREATE TRIGGER refuse_quotes BEFORE INSERT ON saved_quote "
                    "BEGIN SELECT RAISE(ABORT, 'disk said no'); END"
                )
            )
        session = issue_example(diagnosis_codes=["S13.4XXA"], date_of_service=d("2026-03-17"))
        with caplog.at_level(logging.INFO):
            err = _fail(
                lambda: c.estimator.EstimateSession(
                    pb.EstimateSessionRequest(session=session, save_quote=True), timeout=10
                )
            )
    assert err.code() != grpc.StatusCode.OK
    logged = caplog.text + "".join(
        logging.Formatter().formatException(r.exc_info) for r in caplog.records if r.exc_info
    )
    assert "disk said no" in logged  # the failure itself is logged ...
    assert "[parameters:" not in logged  # ... without the statement's parameters
    for phi in ("S13.4XXA", "2026-03-17", '"day":17'):
        assert phi not in logged
