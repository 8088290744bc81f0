"""EstimateTreatmentPlan end to end: schedules, totals, carry-forward, version switch, errors."""

from __future__ import annotations

import grpc
import pytest
from google.type import date_pb2
from massage_estimator.v1 import estimator_pb2 as pb

from .helpers import cents, d, error_info, field_violations, issue_example, rpc_error_status


def plan_session(**changes: object) -> pb.SessionDetails:
    session = issue_example(**changes)
    session.ClearField("date_of_service")
    return session


def plan(
    stub: object, request: pb.EstimateTreatmentPlanRequest
) -> pb.EstimateTreatmentPlanResponse:
    return stub.EstimateTreatmentPlan(request, timeout=10)  # type: ignore[attr-defined,no-any-return]


def refused(stub: object, request: pb.EstimateTreatmentPlanRequest, code: grpc.StatusCode):  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        plan(stub, request)
    assert caught.value.code() == code, caught.value.details()
    return rpc_error_status(caught.value)


def test_recurrence_totals_are_the_sums(grpc_stub: object) -> None:
    request = pb.EstimateTreatmentPlanRequest(
        session=plan_session(),
        recurrence=pb.Recurrence(start_date=d("2026-03-03"), session_count=6, every_days=7),
    )
    resp = plan(grpc_stub, request)
    assert len(resp.sessions) == 6
    assert [s.date_of_service for s in resp.sessions] == [
        d(x)
        for x in (
            "2026-03-03",
            "2026-03-10",
            "2026-03-17",
            "2026-03-24",
            "2026-03-31",
            "2026-04-07",
        )
    ]
    assert cents(resp.total_patient_pays) == sum(cents(s.patient_pays) for s in resp.sessions)
    assert cents(resp.total_plan_pays) == sum(cents(s.plan_pays) for s in resp.sessions)
    assert cents(resp.total_allowed_amount) == sum(cents(s.allowed_amount) for s in resp.sessions)
    assert resp.covered_session_count == sum(1 for s in resp.sessions if s.covered)
    first, second = resp.sessions[0], resp.sessions[1]
    # the first session matches the single quote; the deductible is met after it
    assert cents(first.patient_pays) == 6480
    assert cents(second.patient_cost.deductible) == 0
    assert cents(second.patient_cost.coinsurance) == 2480  # 20% of $124.00
    assert [s.sessions_remaining for s in resp.sessions] == [16, 15, 14, 13, 12, 11]


def test_explicit_dates_cross_into_the_2027_version(grpc_stub: object) -> None:
    request = pb.EstimateTreatmentPlanRequest(
        session=plan_session(
            referral=pb.Referral(kind=pb.REFERRAL_KIND_PRESCRIPTION, issue_date=d("2026-12-01"))
        ),
        dates=pb.SessionDates(dates=[d("2026-12-22"), d("2027-01-05")]),
    )
    resp = plan(grpc_stub, request)
    versions = [s.rule_version for s in resp.sessions]
    assert versions[0].effective_from == d("2026-01-01")
    assert versions[1].effective_from == d("2027-01-01")
    assert not versions[1].HasField("effective_to")  # open-ended
    assert resp.sessions[1].benefit_period.start_date == d("2027-01-01")
    assert cents(resp.sessions[1].allowed_amount) == 13200  # 4 x $33.00 in 2027
    assert resp.sessions[1].visit_limit == 24
    assert resp.sessions[1].sessions_remaining == 23  # a new year resets visits used


def test_session_date_must_be_unset(grpc_stub: object) -> None:
    request = pb.EstimateTreatmentPlanRequest(
        session=issue_example(minutes=0),
        recurrence=pb.Recurrence(start_date=d("2026-03-03"), session_count=2, every_days=7),
    )
    violations = field_violations(refused(grpc_stub, request, grpc.StatusCode.INVALID_ARGUMENT))
    assert "session.date_of_service" in violations
    assert "session.minutes" in violations  # reported together


@pytest.mark.parametrize(
    ("schedule", "field"),
    [
        ({}, "schedule"),
        (
            {
                "recurrence": pb.Recurrence(
                    start_date=d("2026-03-03"), session_count=0, every_days=7
                )
            },
            "recurrence.session_count",
        ),
        (
            {
                "recurrence": pb.Recurrence(
                    start_date=d("2026-03-03"), session_count=367, every_days=7
                )
            },
            "recurrence.session_count",
        ),
        (
            {
                "recurrence": pb.Recurrence(
                    start_date=d("2026-03-03"), session_count=3, every_days=0
                )
            },
            "recurrence.every_days",
        ),
        (
            {
                "recurrence": pb.Recurrence(
                    start_date=d("2026-03-03"), session_count=3, every_days=366
                )
            },
            "recurrence.every_days",
        ),
        ({"recurrence": pb.Recurrence(session_count=3, every_days=7)}, "recurrence.start_date"),
        ({"dates": pb.SessionDates()}, "dates.dates"),
        ({"dates": pb.SessionDates(dates=[d("2026-03-10"), d("2026-03-03")])}, "dates.dates[1]"),
        ({"dates": pb.SessionDates(dates=[d("2026-03-10"), d("2026-03-10")])}, "dates.dates[1]"),
        (
            {
                "dates": pb.SessionDates(
                    dates=[d("2026-03-10"), date_pb2.Date(year=2026, month=4, day=31)]
                )
            },
            "dates.dates[1]",
        ),
    ],
)
def test_bad_schedule_is_invalid_argument(
    grpc_stub: object, schedule: dict[str, object], field: str
) -> None:
    request = pb.EstimateTreatmentPlanRequest(session=plan_session(), **schedule)  # type: ignore[arg-type]
    status = refused(grpc_stub, request, grpc.StatusCode.INVALID_ARGUMENT)
    assert field in field_violations(status)


def test_366_sessions_are_accepted(grpc_stub: object) -> None:
    request = pb.EstimateTreatmentPlanRequest(
        session=plan_session(
            plan_id="self-pay",
            session_type="swedish",
            minutes=60,
            diagnosis_codes=[],
            referral=pb.Referral(),
        ),
        recurrence=pb.Recurrence(start_date=d("2026-01-01"), session_count=366, every_days=1),
    )
    resp = plan(grpc_stub, request)
    assert len(resp.sessions) == 366
    assert cents(resp.total_patient_pays) == 366 * 9500


def test_a_date_no_version_covers_fails_the_plan(grpc_stub: object) -> None:
    request = pb.EstimateTreatmentPlanRequest(
        session=plan_session(
            referral=pb.Referral(kind=pb.REFERRAL_KIND_PRESCRIPTION, issue_date=d("2025-12-01"))
        ),
        dates=pb.SessionDates(dates=[d("2025-12-20"), d("2026-01-05")]),
    )
    status = refused(grpc_stub, request, grpc.StatusCode.FAILED_PRECONDITION)
    assert error_info(status).reason == "NO_RULE_VERSION"
    assert "session 1" in status.message


def test_unknown_plan_is_not_found(grpc_stub: object) -> None:
    request = pb.EstimateTreatmentPlanRequest(
        session=plan_session(plan_id="nope-plan"),
        recurrence=pb.Recurrence(start_date=d("2026-03-03"), session_count=2, every_days=7),
    )
    refused(grpc_stub, request, grpc.StatusCode.NOT_FOUND)
