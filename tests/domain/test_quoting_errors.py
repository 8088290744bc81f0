"""Bad input and unknowable answers (issue 2 "Errors", cost-rules.md §0): the Quoter names
the field with proto field names, and never answers with a silent zero."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from service.domain.errors import (
    FieldViolation,
    InvalidRequestError,
    NoRuleVersionError,
    PlanNotFoundError,
)
from service.domain.model import Accumulators, ReferralKind, SessionRequest
from service.domain.quoting import Quoter

from .expect import acc, assert_money

GOOD = SessionRequest(
    plan_id="acme-ppo-gold",
    session_type="deep_tissue",
    minutes=60,
    date_of_service=date(2026, 3, 3),
    referral_kind=ReferralKind.PRESCRIPTION,
    referral_date=date(2026, 2, 1),
    diagnosis_codes=("M54.50",),
    accumulators=acc(50000, 50000, 0),
)


def _violations(quoter: Quoter, request: SessionRequest) -> list[FieldViolation]:
    with pytest.raises(InvalidRequestError) as info:
        quoter.estimate(request)
    assert info.value.violations, "an invalid request must name at least one field"
    for v in info.value.violations:
        assert v.description, f"{v.field} has no reason"
    return info.value.violations


def _fields(quoter: Quoter, request: SessionRequest) -> set[str]:
    return {v.field for v in _violations(quoter, request)}


@pytest.mark.parametrize("minutes", [0, -5, 241, 10_000])
def test_minutes_out_of_range(quoter: Quoter, minutes: int) -> None:
    assert "minutes" in _fields(quoter, replace(GOOD, minutes=minutes))


@pytest.mark.parametrize("minutes", [0, 241])
def test_minutes_checked_for_self_pay_too(quoter: Quoter, minutes: int) -> None:
    request = SessionRequest(
        plan_id="self-pay",
        session_type="swedish",
        minutes=minutes,
        date_of_service=date(2026, 3, 3),
    )
    assert "minutes" in _fields(quoter, request)


def test_minutes_bounds_are_valid(quoter: Quoter) -> None:
    # 1 minute: 0 units -> not covered, 30-minute therapeutic cash $65.00.
    one = quoter.estimate(replace(GOOD, minutes=1))
    assert_money(one, allowed=0, not_covered=6500, plan_pays=0, patient_pays=6500)
    # 240 minutes: 16 units billed, 4 covered ($124.00, 20% = $24.80, plan $99.20);
    # 12 units x $40.00 = $480.00 not covered; patient $504.80.
    full = quoter.estimate(replace(GOOD, minutes=240))
    assert (full.billed_units, full.covered_units) == (16, 4)
    assert_money(
        full,
        allowed=12400,
        coinsurance=2480,
        not_covered=48000,
        plan_pays=9920,
        patient_pays=50480,
    )


def test_unknown_session_type_suggests(quoter: Quoter) -> None:
    violations = _violations(quoter, replace(GOOD, session_type="deeptissue"))
    by_field = {v.field: v.description for v in violations}
    assert "session_type" in by_field
    assert "deep_tissue" in by_field["session_type"]  # did you mean


def test_empty_plan_id(quoter: Quoter) -> None:
    assert "plan_id" in _fields(quoter, replace(GOOD, plan_id=""))


@pytest.mark.parametrize("code", ["M5", "54.50", "M54.505555", "M54.", "MM4.50", "m54 50", ""])
def test_malformed_icd10(quoter: Quoter, code: str) -> None:
    assert "diagnosis_codes[0]" in _fields(quoter, replace(GOOD, diagnosis_codes=(code,)))


def test_malformed_icd10_second_code_is_named(quoter: Quoter) -> None:
    fields = _fields(quoter, replace(GOOD, diagnosis_codes=("M54.50", "XYZ")))
    assert "diagnosis_codes[1]" in fields
    assert "diagnosis_codes[0]" not in fields


@pytest.mark.parametrize("code", ["M54", "M54.5", "M54.50", "S39.012A", "G89.3", "F32.A"])
def test_well_formed_icd10_accepted(quoter: Quoter, code: str) -> None:
    quoter.estimate(replace(GOOD, diagnosis_codes=(code,)))


def test_referral_after_date_of_service(quoter: Quoter) -> None:
    assert "referral.issue_date" in _fields(quoter, replace(GOOD, referral_date=date(2026, 3, 4)))


def test_referral_without_issue_date(quoter: Quoter) -> None:
    assert "referral.issue_date" in _fields(quoter, replace(GOOD, referral_date=None))


@pytest.mark.parametrize(
    ("accumulators", "field"),
    [
        (acc(-1, 0, 0), "accumulators.deductible_met"),
        (acc(0, -1, 0), "accumulators.out_of_pocket_met"),
        (acc(0, 0, -1), "accumulators.visits_used"),
    ],
)
def test_negative_accumulators(quoter: Quoter, accumulators: Accumulators, field: str) -> None:
    assert field in _fields(quoter, replace(GOOD, accumulators=accumulators))


@pytest.mark.parametrize(
    ("accumulators", "field"),
    [
        (acc(100_000_001, 0, 0), "accumulators.deductible_met"),
        (acc(0, 100_000_001, 0), "accumulators.out_of_pocket_met"),
        (acc(0, 0, 10_001), "accumulators.visits_used"),
    ],
)
def test_absurdly_large_accumulators(
    quoter: Quoter, accumulators: Accumulators, field: str
) -> None:
    # Above $1,000,000.00 or 10,000 visits no benefit period is real, and sums of such
    # values overflow the wire format (int64 Money units, int32 visits) into INTERNAL.
    assert field in _fields(quoter, replace(GOOD, accumulators=accumulators))


def test_largest_accepted_accumulators_still_quote(quoter: Quoter) -> None:
    est = quoter.estimate(replace(GOOD, accumulators=acc(100_000_000, 100_000_000, 10_000)))
    assert est.covered is False  # acme's 20 visits are used up


def test_unknown_plan(quoter: Quoter) -> None:
    with pytest.raises(PlanNotFoundError) as info:
        quoter.estimate(replace(GOOD, plan_id="acme-ppo-golf"))
    assert info.value.plan_id == "acme-ppo-golf"
    assert "acme-ppo-gold" in info.value.suggestions


def test_no_rule_version_before_acme_2026(quoter: Quoter) -> None:
    with pytest.raises(NoRuleVersionError) as info:
        quoter.estimate(
            replace(GOOD, date_of_service=date(2025, 12, 31), referral_date=date(2025, 12, 1))
        )
    assert info.value.plan_id == "acme-ppo-gold"
    assert info.value.date_of_service == date(2025, 12, 31)
    assert info.value.reason == "NO_RULE_VERSION"


def test_no_rule_version_known_as_of_before_publication(quoter: Quoter) -> None:
    # The sample versions were published 2025-11-01 09:00 UTC (conftest); a replay as of an
    # earlier moment knows none of them.
    with pytest.raises(NoRuleVersionError):
        quoter.estimate(GOOD, as_of=datetime(2025, 10, 1, tzinfo=UTC))
