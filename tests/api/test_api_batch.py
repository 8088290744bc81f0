"""EstimateSessions end to end: each row answered or failed on its own, with the details it
would get alone."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import code_pb2
from massage_estimator.v1 import estimator_pb2 as pb

from .helpers import cents, d, error_info, field_violations, issue_example, rpc_error_status


def test_mixed_good_and_bad_rows(grpc_stub: object) -> None:
    sessions = [
        issue_example(),
        issue_example(minutes=0),
        issue_example(plan_id="acme-ppo-gld"),
        issue_example(
            date_of_service=d("2025-06-01"), referral=pb.Referral(kind=pb.REFERRAL_KIND_NONE)
        ),
        issue_example(plan_id="self-pay", session_type="hot_stone", minutes=90, diagnosis_codes=[]),
        issue_example(diagnosis_codes=["bad"], network=5),
    ]
    resp = grpc_stub.EstimateSessions(pb.EstimateSessionsRequest(sessions=sessions), timeout=10)  # type: ignore[attr-defined]
    assert [r.index for r in resp.results] == list(range(len(sessions)))
    assert [r.WhichOneof("result") for r in resp.results] == [
        "estimate",
        "error",
        "error",
        "error",
        "estimate",
        "error",
    ]
    assert (resp.succeeded_count, resp.failed_count) == (2, 4)
    assert cents(resp.results[0].estimate.patient_pays) == 6480
    assert cents(resp.results[4].estimate.patient_pays) == 13500  # relaxation 90 minutes

    bad_minutes = resp.results[1].error
    assert bad_minutes.code == code_pb2.INVALID_ARGUMENT
    assert set(field_violations(bad_minutes)) == {"sessions[1].minutes"}
    assert resp.results[2].error.code == code_pb2.NOT_FOUND
    assert error_info(resp.results[2].error).reason == "PLAN_NOT_FOUND"
    assert resp.results[3].error.code == code_pb2.FAILED_PRECONDITION
    assert error_info(resp.results[3].error).reason == "NO_RULE_VERSION"
    assert set(field_violations(resp.results[5].error)) == {
        "sessions[5].diagnosis_codes[0]",
        "sessions[5].network",
    }


def test_a_row_fails_with_the_details_it_would_get_alone(grpc_stub: object) -> None:
    bad = issue_example(minutes=241, plan_id="acme-ppo-gold")
    with pytest.raises(grpc.RpcError) as caught:
        grpc_stub.EstimateSession(pb.EstimateSessionRequest(session=bad), timeout=10)  # type: ignore[attr-defined]
    alone = rpc_error_status(caught.value)
    resp = grpc_stub.EstimateSessions(  # type: ignore[attr-defined]
        pb.EstimateSessionsRequest(sessions=[issue_example(), bad]), timeout=10
    )
    in_batch = resp.results[1].error
    assert in_batch.code == alone.code
    assert in_batch.message.replace("sessions[1].", "session.") == alone.message
    assert {
        k.replace("sessions[1].", "session."): v for k, v in field_violations(in_batch).items()
    } == field_violations(alone)
    assert error_info(in_batch) == error_info(alone)


def test_empty_batch_is_invalid_argument(grpc_stub: object) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        grpc_stub.EstimateSessions(pb.EstimateSessionsRequest(), timeout=10)  # type: ignore[attr-defined]
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "sessions" in field_violations(rpc_error_status(caught.value))


def test_over_1000_sessions_is_invalid_argument(grpc_stub: object) -> None:
    request = pb.EstimateSessionsRequest(sessions=[issue_example()] * 1001)
    with pytest.raises(grpc.RpcError) as caught:
        grpc_stub.EstimateSessions(request, timeout=30)  # type: ignore[attr-defined]
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "1000" in field_violations(rpc_error_status(caught.value))["sessions"]


def test_1000_sessions_in_one_call(grpc_stub: object) -> None:
    sessions = [issue_example(minutes=8 + i % 200) for i in range(1000)]
    resp = grpc_stub.EstimateSessions(pb.EstimateSessionsRequest(sessions=sessions), timeout=60)  # type: ignore[attr-defined]
    assert resp.succeeded_count == 1000 and resp.failed_count == 0
    assert [r.estimate.minutes for r in resp.results] == [8 + i % 200 for i in range(1000)]
