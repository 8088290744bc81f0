"""Fuzz the real server: whatever a client sends, the answer is an estimate or a deliberate
error (INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION) with a message, never INTERNAL,
UNKNOWN or a stack trace, and every estimate that comes back is internally consistent."""

from __future__ import annotations

import grpc
import pytest
from google.type import date_pb2, money_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import estimator_pb2_grpc as pb_grpc

from tests.api.helpers import cents

DELIBERATE = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
}

DELIBERATE_CODES = {code.value[0] for code in DELIBERATE}  # google.rpc.Code numbers

INT32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)

plan_ids = st.one_of(
    st.sampled_from(
        ["acme-ppo-gold", "contoso-hmo-silver", "cedar-hdhp-hsa", "summit-ma-plus", "self-pay"]
    ),
    st.text(max_size=30),
)
session_types = st.one_of(
    st.sampled_from(["deep_tissue", "swedish", "myofascial", "medical", "sports", "hot_stone"]),
    st.text(max_size=20),
)
# Mostly plausible dates, sometimes impossible ones (month 13, day 31 in February, zeros).
dates = st.one_of(
    st.dates().map(lambda d: date_pb2.Date(year=d.year, month=d.month, day=d.day)),
    st.builds(
        date_pb2.Date,
        year=st.integers(0, 10000),
        month=st.integers(0, 13),
        day=st.integers(0, 32),
    ),
)
money = st.one_of(
    st.builds(
        money_pb2.Money,
        currency_code=st.just("USD"),
        units=st.integers(0, 10_000),
        nanos=st.sampled_from([0, 10_000_000, 500_000_000]),
    ),
    st.builds(
        money_pb2.Money,
        currency_code=st.sampled_from(["", "USD", "EUR", "usd", "XXXX"]),
        units=INT64,
        nanos=st.integers(-999_999_999, 999_999_999),
    ),
)
diagnoses = st.lists(
    st.one_of(
        st.sampled_from(["M54.50", "M54.2", "F41.1", "S13.4XXA", "G89.3"]), st.text(max_size=12)
    ),
    max_size=4,
)
sessions = st.builds(
    pb.SessionDetails,
    plan_id=plan_ids,
    session_type=session_types,
    minutes=st.one_of(st.integers(0, 250), INT32),
    referral=st.builds(pb.Referral, kind=st.integers(-1, 6), issue_date=dates),
    diagnosis_codes=diagnoses,
    date_of_service=dates,
    network=st.integers(-1, 4),
    injury=st.integers(-1, 5),
    accumulators=st.builds(
        pb.Accumulators,
        deductible_met=money,
        out_of_pocket_met=money,
        visits_used=st.one_of(st.integers(0, 40), INT32),
    ),
    prior_authorization_on_file=st.booleans(),
)


def assert_consistent(est: pb.Estimate) -> None:
    cost = est.patient_cost
    parts = [cost.copay, cost.deductible, cost.coinsurance, cost.not_covered, cost.balance_billing]
    assert cents(est.patient_pays) == sum(cents(p) for p in parts)
    share = cents(cost.copay) + cents(cost.deductible) + cents(cost.coinsurance)
    assert share + cents(est.plan_pays) == cents(est.allowed_amount)
    assert cents(est.plan_pays) >= 0
    assert est.covered_units <= est.billed_units
    if not est.covered:
        assert cents(est.plan_pays) == 0
    assert est.reasons, "every estimate explains itself"


@pytest.fixture(scope="module")
def stub(grpc_channel: grpc.Channel) -> pb_grpc.EstimatorServiceStub:
    return pb_grpc.EstimatorServiceStub(grpc_channel)  # type: ignore[no-untyped-call]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(session=sessions)
def test_any_session_gets_an_estimate_or_a_deliberate_error(
    stub: pb_grpc.EstimatorServiceStub, session: pb.SessionDetails
) -> None:
    try:
        reply = stub.EstimateSession(pb.EstimateSessionRequest(session=session), timeout=10)
    except grpc.RpcError as err:
        assert err.code() in DELIBERATE, (err.code(), err.details())
        assert err.details(), "an error says what is wrong"
        assert "Traceback" not in (err.details() or "")
        return
    assert_consistent(reply.estimate)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(sessions, min_size=1, max_size=20))
def test_any_batch_answers_every_row_on_its_own(
    stub: pb_grpc.EstimatorServiceStub, batch: list[pb.SessionDetails]
) -> None:
    reply = stub.EstimateSessions(pb.EstimateSessionsRequest(sessions=batch), timeout=30)
    assert [r.index for r in reply.results] == list(range(len(batch)))
    assert reply.succeeded_count + reply.failed_count == len(batch)
    for result in reply.results:
        if result.HasField("estimate"):
            assert_consistent(result.estimate)
        else:
            assert (
                grpc.StatusCode(next(c for c in grpc.StatusCode if c.value[0] == result.error.code))
                in DELIBERATE
            ), result.error
            assert result.error.message
