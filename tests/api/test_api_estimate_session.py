"""EstimateSession end to end on a real server: the issue's example and every error case."""

from __future__ import annotations

import re
from typing import Any

import grpc
import pytest
from google.protobuf import timestamp_pb2
from google.type import date_pb2, money_pb2
from massage_estimator.v1 import estimator_pb2 as pb

from .helpers import cents, d, error_info, field_violations, issue_example, rpc_error_status, usd


def estimate(stub: object, session: pb.SessionDetails, **kw: Any) -> pb.Estimate:
    response = stub.EstimateSession(  # type: ignore[attr-defined]
        pb.EstimateSessionRequest(session=session, **kw), timeout=10
    )
    return response.estimate  # type: ignore[no-any-return]


def refused(stub: object, session: pb.SessionDetails, code: grpc.StatusCode, **kw: object):  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        estimate(stub, session, **kw)
    err = caught.value
    assert err.code() == code, err.details()
    status = rpc_error_status(err)
    assert status.code == code.value[0]
    assert "Traceback" not in status.message
    return status


def test_issue_example_quote(grpc_stub: object) -> None:
    est = estimate(grpc_stub, issue_example())
    assert est.covered
    assert est.coverage_basis == pb.COVERAGE_BASIS_MEDICAL_NECESSITY
    assert est.cpt_code == "97124"
    assert est.unit_method == pb.UNIT_METHOD_CMS_8_MINUTE
    assert (est.billed_units, est.covered_units) == (4, 4)
    assert cents(est.allowed_amount) == 12400  # 4 x $31.00
    assert cents(est.patient_cost.deductible) == 5000  # $500 - $450 met
    assert cents(est.patient_cost.coinsurance) == 1480  # 20% of $74.00
    assert cents(est.patient_pays) == 6480
    assert cents(est.plan_pays) == 5920
    assert cents(est.patient_pays) + cents(est.plan_pays) == cents(est.allowed_amount)
    assert est.HasField("sessions_remaining") and est.sessions_remaining == 16  # 20 - 3 - 1
    assert est.visit_limit == 20
    assert not est.prior_authorization_required
    assert est.rule_version.payer_id == "acme-health"
    assert est.rule_version.plan_id == "acme-ppo-gold"
    assert est.rule_version.effective_from == d("2026-01-01")
    assert est.rule_version.effective_to == d("2026-12-31")
    assert re.fullmatch(r"(sha256:)?[0-9a-f]{64}", est.rule_version.checksum)
    assert est.rule_version.published_at.seconds > 0
    assert est.benefit_period.start_date == d("2026-01-01")
    assert est.benefit_period.end_date == d("2026-12-31")
    assert cents(est.accumulators_after.deductible_met) == 50000
    assert est.accumulators_after.visits_used == 4
    kinds = [item.kind for item in est.line_items]
    assert pb.LINE_ITEM_KIND_ALLOWED in kinds and pb.LINE_ITEM_KIND_COINSURANCE in kinds
    for item in est.line_items:
        assert item.amount.currency_code == "USD"
        assert item.rule_ref


def test_money_is_usd_units_and_nanos(grpc_stub: object) -> None:
    est = estimate(grpc_stub, issue_example())
    assert est.patient_pays == money_pb2.Money(currency_code="USD", units=64, nanos=800_000_000)


def test_self_pay_has_no_rule_version_and_no_remaining(grpc_stub: object) -> None:
    est = estimate(
        grpc_stub,
        issue_example(plan_id="self-pay", session_type="swedish", minutes=60, diagnosis_codes=[]),
    )
    assert not est.covered
    assert est.coverage_basis == pb.COVERAGE_BASIS_SELF_PAY
    assert cents(est.patient_pays) == 9500  # relaxation 60 minutes
    assert cents(est.plan_pays) == 0
    assert not est.HasField("rule_version")
    assert not est.HasField("sessions_remaining")
    assert not est.HasField("visit_limit")


def test_unspecified_enums_mean_in_network_no_injury(grpc_stub: object) -> None:
    explicit = estimate(grpc_stub, issue_example())
    defaulted = estimate(
        grpc_stub,
        issue_example(network=pb.NETWORK_UNSPECIFIED, injury=pb.INJURY_UNSPECIFIED),
    )
    assert defaulted.allowed_amount == explicit.allowed_amount
    assert defaulted.patient_pays == explicit.patient_pays


def test_empty_currency_is_read_as_usd(grpc_stub: object) -> None:
    acc = pb.Accumulators(
        deductible_met=money_pb2.Money(units=450),
        out_of_pocket_met=money_pb2.Money(units=450),
        visits_used=3,
    )
    est = estimate(grpc_stub, issue_example(accumulators=acc))
    assert cents(est.patient_pays) == 6480


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"minutes": 0}, "session.minutes"),
        ({"minutes": 241}, "session.minutes"),
        ({"session_type": "deep_tisue"}, "session.session_type"),
        ({"diagnosis_codes": ["M54.50", "54.50M"]}, "session.diagnosis_codes[1]"),
        (
            {
                "referral": pb.Referral(
                    kind=pb.REFERRAL_KIND_PRESCRIPTION, issue_date=d("2026-03-04")
                )
            },
            "session.referral.issue_date",
        ),
        (
            {"referral": pb.Referral(kind=pb.REFERRAL_KIND_PRESCRIPTION)},
            "session.referral.issue_date",
        ),
        (
            {
                "accumulators": pb.Accumulators(
                    deductible_met=money_pb2.Money(currency_code="USD", units=-5)
                )
            },
            "session.accumulators.deductible_met",
        ),
        (
            {
                "accumulators": pb.Accumulators(
                    out_of_pocket_met=money_pb2.Money(currency_code="USD", nanos=-10_000_000)
                )
            },
            "session.accumulators.out_of_pocket_met",
        ),
        ({"accumulators": pb.Accumulators(visits_used=-1)}, "session.accumulators.visits_used"),
        (
            {
                "accumulators": pb.Accumulators(
                    deductible_met=money_pb2.Money(currency_code="EUR", units=5)
                )
            },
            "session.accumulators.deductible_met.currency_code",
        ),
        (
            {
                "accumulators": pb.Accumulators(
                    deductible_met=money_pb2.Money(currency_code="USD", units=5, nanos=5)
                )
            },
            "session.accumulators.deductible_met.nanos",
        ),
        ({"date_of_service": date_pb2.Date(year=2026, month=13, day=1)}, "session.date_of_service"),
        ({"date_of_service": date_pb2.Date(year=2026, month=2, day=30)}, "session.date_of_service"),
        ({"date_of_service": date_pb2.Date(year=2026, month=3, day=0)}, "session.date_of_service"),
        ({"date_of_service": date_pb2.Date()}, "session.date_of_service"),
        (
            {
                "referral": pb.Referral(
                    kind=pb.REFERRAL_KIND_PRESCRIPTION,
                    issue_date=date_pb2.Date(year=2026, month=0, day=1),
                )
            },
            "session.referral.issue_date",
        ),
        ({"network": 7}, "session.network"),
        ({"injury": 9}, "session.injury"),
        (
            {"referral": pb.Referral(kind=42, issue_date=d("2026-02-01"))},  # type: ignore[arg-type]
            "session.referral.kind",
        ),
        ({"plan_id": ""}, "session.plan_id"),
    ],
)
def test_bad_input_is_invalid_argument_naming_the_field(
    grpc_stub: object, changes: dict[str, object], field: str
) -> None:
    status = refused(grpc_stub, issue_example(**changes), grpc.StatusCode.INVALID_ARGUMENT)
    violations = field_violations(status)
    assert field in violations, violations
    assert violations[field]
    info = error_info(status)
    assert info.domain == "massage-estimator"
    assert info.reason == "INVALID_ARGUMENT"


def test_every_bad_field_is_reported_at_once(grpc_stub: object) -> None:
    session = issue_example(
        minutes=0,
        session_type="nope",
        date_of_service=date_pb2.Date(year=2026, month=13, day=1),
        accumulators=pb.Accumulators(
            deductible_met=money_pb2.Money(currency_code="CAD", units=1), visits_used=-2
        ),
    )
    status = refused(grpc_stub, session, grpc.StatusCode.INVALID_ARGUMENT)
    assert set(field_violations(status)) >= {
        "session.minutes",
        "session.session_type",
        "session.date_of_service",
        "session.accumulators.deductible_met.currency_code",
        "session.accumulators.visits_used",
    }


def test_unknown_session_type_suggests_the_near_name(grpc_stub: object) -> None:
    status = refused(
        grpc_stub, issue_example(session_type="deep_tisue"), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert "deep_tissue" in field_violations(status)["session.session_type"]


def test_unknown_plan_is_not_found_with_did_you_mean(grpc_stub: object) -> None:
    status = refused(grpc_stub, issue_example(plan_id="acme-ppo-gld"), grpc.StatusCode.NOT_FOUND)
    assert "acme-ppo-gld" in status.message
    assert "did you mean" in status.message and "acme-ppo-gold" in status.message
    info = error_info(status)
    assert info.reason == "PLAN_NOT_FOUND"
    assert info.metadata["plan_id"] == "acme-ppo-gld"


def test_date_no_version_covers_is_failed_precondition(grpc_stub: object) -> None:
    status = refused(
        grpc_stub,
        issue_example(
            date_of_service=d("2025-12-15"),
            referral=pb.Referral(kind=pb.REFERRAL_KIND_PRESCRIPTION, issue_date=d("2025-12-01")),
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert "2025-12-15" in status.message
    info = error_info(status)
    assert info.reason == "NO_RULE_VERSION"
    assert info.metadata["date_of_service"] == "2025-12-15"


def test_contoso_before_its_first_version_is_failed_precondition(grpc_stub: object) -> None:
    session = issue_example(
        plan_id="contoso-hmo-silver",
        referral=pb.Referral(
            kind=pb.REFERRAL_KIND_INTEGRATIVE_CARE_PLAN, issue_date=d("2026-02-01")
        ),
    )
    refused(grpc_stub, session, grpc.StatusCode.FAILED_PRECONDITION)


def test_rules_as_of_before_any_publish_is_failed_precondition(grpc_stub: object) -> None:
    long_ago = timestamp_pb2.Timestamp(seconds=946684800)  # 2000-01-01T00:00:00Z
    status = refused(
        grpc_stub, issue_example(), grpc.StatusCode.FAILED_PRECONDITION, rules_as_of=long_ago
    )
    assert error_info(status).reason == "NO_RULE_VERSION"


def test_rules_as_of_now_answers(grpc_stub: object) -> None:
    now = timestamp_pb2.Timestamp()
    now.GetCurrentTime()
    est = estimate(grpc_stub, issue_example(), rules_as_of=now)
    assert cents(est.patient_pays) == 6480


def test_over_longest_cash_price_is_failed_precondition_not_zero(grpc_stub: object) -> None:
    session = issue_example(plan_id="self-pay", session_type="swedish", minutes=150)
    status = refused(grpc_stub, session, grpc.StatusCode.FAILED_PRECONDITION)
    assert error_info(status).reason
    assert "unavailable" in status.message


def test_out_of_network_adds_balance_billing(grpc_stub: object) -> None:
    est = estimate(grpc_stub, issue_example(network=pb.NETWORK_OUT))
    assert est.covered
    assert cents(est.allowed_amount) == 10000  # 4 x $25.00 out of network
    assert cents(est.patient_cost.balance_billing) == 6000  # 4 x ($40 - $25)
    assert cents(est.patient_pays) == sum(
        cents(m)
        for m in (
            est.patient_cost.copay,
            est.patient_cost.deductible,
            est.patient_cost.coinsurance,
            est.patient_cost.not_covered,
            est.patient_cost.balance_billing,
        )
    )


def test_money_helper_roundtrip() -> None:
    assert cents(usd("64.80")) == 6480


def test_malformed_rules_as_of_is_invalid_argument(grpc_stub: object) -> None:
    bad = timestamp_pb2.Timestamp(seconds=1767225600, nanos=-1)
    status = refused(grpc_stub, issue_example(), grpc.StatusCode.INVALID_ARGUMENT, rules_as_of=bad)
    assert "rules_as_of" in field_violations(status)


HUGE = money_pb2.Money(currency_code="USD", units=2**63 - 1)  # the largest Money.units


@pytest.mark.parametrize(
    ("accumulators", "field"),
    [
        # Summit has no out-of-pocket maximum: the $20.00 copay was added to an amount already
        # at the int64 limit of Money.units, and the answer crashed with INTERNAL.
        (
            pb.Accumulators(out_of_pocket_met=HUGE),
            "session.accumulators.out_of_pocket_met",
        ),
        (
            pb.Accumulators(deductible_met=HUGE),
            "session.accumulators.deductible_met",
        ),
        (pb.Accumulators(visits_used=2**31 - 1), "session.accumulators.visits_used"),
    ],
)
def test_absurdly_large_accumulators_are_invalid_argument_not_internal(
    grpc_stub: object, accumulators: pb.Accumulators, field: str
) -> None:
    session = issue_example(
        plan_id="summit-ma-plus", session_type="medical", minutes=60, accumulators=accumulators
    )
    status = refused(grpc_stub, session, grpc.StatusCode.INVALID_ARGUMENT)
    assert "at most" in field_violations(status)[field]
