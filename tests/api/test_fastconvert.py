"""The handlers' conversion (service.api.fastconvert, cached parts) answers byte for byte as
the reference conversion (convert.estimate_to_proto): on every sample payer's plans and on
random requests, also through the real EstimatorServicer."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from massage_estimator.v1 import estimator_pb2 as pb

from scripts.bench.workload import to_proto
from service import wire
from service.api import convert, fastconvert
from service.api.estimator import EstimatorServicer
from service.domain.errors import EstimatorError
from service.domain.index import RuleIndex
from service.domain.model import Accumulators, Injury, Network, ReferralKind, SessionRequest
from service.domain.quoting import Quoter
from service.rulefiles import load_rules_dir

CLINIC, PARSED = load_rules_dir()
VERSIONS = [p.to_version(datetime(2026, 1, 1, tzinfo=UTC), "test") for p in PARSED]
QUOTER = Quoter(RuleIndex.build(VERSIONS), CLINIC)
# (plan id, a date of service inside the version) for every plan of every sample version
PLAN_DAYS = sorted(
    {(plan.plan_id, v.effective_from + timedelta(days=40)) for v in VERSIONS for plan in v.plans}
)
SESSION_TYPES = sorted(CLINIC.session_types)


def both(request: SessionRequest) -> tuple[bytes, bytes] | None:
    """(fast, reference) bytes of the estimate for the request; None when it is refused."""
    try:
        estimate = QUOTER.estimate(request)
    except EstimatorError:
        return None
    fast = fastconvert.estimate_to_proto(estimate).SerializeToString(deterministic=True)
    # Twice: the second answer comes from the caches the first one filled.
    again = fastconvert.estimate_to_proto(estimate).SerializeToString(deterministic=True)
    assert again == fast
    reference = convert.estimate_to_proto(estimate).SerializeToString(deterministic=True)
    return fast, reference


class _NoContext:
    def abort(self, *args: Any) -> None:
        raise AssertionError(f"the request failed: {args}")


@pytest.mark.parametrize(("plan_id", "day"), PLAN_DAYS)
def test_every_sample_plan_answers_the_same_bytes(plan_id: str, day: date) -> None:
    compared = 0
    for session_type in SESSION_TYPES:
        for network in Network:
            for referral in (ReferralKind.NONE, ReferralKind.PRESCRIPTION):
                request = SessionRequest(
                    plan_id=plan_id,
                    session_type=session_type,
                    minutes=60,
                    date_of_service=day,
                    referral_kind=referral,
                    referral_date=None
                    if referral is ReferralKind.NONE
                    else day - timedelta(days=10),
                    diagnosis_codes=("M54.50",),
                    network=network,
                    accumulators=Accumulators(deductible_met=10_000, visits_used=3),
                )
                pair = both(request)
                if pair is not None:
                    assert pair[0] == pair[1], request
                    compared += 1
    assert compared > 0


def test_the_servicer_answers_with_the_reference_bytes() -> None:
    day = PLAN_DAYS[0][1]
    request = SessionRequest(
        plan_id=PLAN_DAYS[0][0],
        session_type="deep_tissue",
        minutes=53,
        date_of_service=day,
        referral_kind=ReferralKind.PRESCRIPTION,
        referral_date=day - timedelta(days=5),
        diagnosis_codes=("M54.50",),
    )
    served = EstimatorServicer(QUOTER).EstimateSession(
        pb.EstimateSessionRequest(session=to_proto(request)),
        _NoContext(),  # type: ignore[arg-type]
    )
    estimate = QUOTER.estimate(request)
    reference = pb.EstimateSessionResponse(estimate=convert.estimate_to_proto(estimate))
    assert served.SerializeToString(deterministic=True) == reference.SerializeToString(
        deterministic=True
    )
    batch = EstimatorServicer(QUOTER).EstimateSessions(
        pb.EstimateSessionsRequest(sessions=[to_proto(request)] * 3),
        _NoContext(),  # type: ignore[arg-type]
    )
    assert [r.estimate for r in batch.results] == [reference.estimate] * 3


requests = st.builds(
    SessionRequest,
    plan_id=st.sampled_from([p for p, _ in PLAN_DAYS] + ["self-pay"]),
    session_type=st.sampled_from(SESSION_TYPES),
    minutes=st.integers(1, 150),
    date_of_service=st.dates(date(2025, 6, 1), date(2028, 6, 30)),
    referral_kind=st.sampled_from(list(ReferralKind)),
    referral_date=st.one_of(st.none(), st.dates(date(2025, 1, 1), date(2028, 6, 30))),
    diagnosis_codes=st.lists(
        st.sampled_from(["M54.50", "M54.2", "F41.1", "S13.4XXA", "G89.3", "M79.7", "Z00.00"]),
        max_size=3,
        unique=True,
    ).map(tuple),
    network=st.sampled_from(list(Network)),
    injury=st.sampled_from(list(Injury)),
    accumulators=st.builds(
        Accumulators,
        deductible_met=st.integers(0, 500_000),
        out_of_pocket_met=st.integers(0, 900_000),
        visits_used=st.integers(0, 40),
    ),
    prior_authorization_on_file=st.booleans(),
    units_billed_today=st.integers(0, 6),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=requests)
def test_random_requests_answer_the_same_bytes(request: SessionRequest) -> None:
    pair = both(request)
    if pair is not None:
        assert pair[0] == pair[1]


def test_a_full_cache_is_emptied_not_grown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastconvert, "CACHE_LIMIT", 3)
    fastconvert._money.clear()
    for cents in range(10):
        assert fastconvert.money(cents) == wire.money_to_proto(cents)
        assert len(fastconvert._money) <= 3
