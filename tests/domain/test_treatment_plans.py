"""Treatment plans (cost-rules.md §6): accumulators carry forward session by session, reset
in a new benefit period; each date uses the version effective on it; prescriptions expire.
Every figure is hand-computed; totals are checked against the hand-computed sums."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from service.domain.errors import (
    EstimateUnavailableError,
    InvalidRequestError,
    NoRuleVersionError,
)
from service.domain.index import RuleIndex
from service.domain.model import (
    Clinic,
    Estimate,
    ReferralKind,
    RuleSetVersion,
    SessionRequest,
    TreatmentPlanEstimate,
)
from service.domain.quoting import Quoter

from .expect import acc, assert_money, reason_codes

ACME = SessionRequest(
    plan_id="acme-ppo-gold",
    session_type="deep_tissue",
    minutes=60,
    date_of_service=date(2026, 11, 20),
    referral_kind=ReferralKind.PRESCRIPTION,
    referral_date=date(2026, 11, 15),
    diagnosis_codes=("M54.50",),
    accumulators=acc(50000, 50000, 3),
)


def every(start: date, days: int, count: int) -> list[date]:
    return [start + timedelta(days=days * i) for i in range(count)]


def row(est: Estimate) -> tuple[bool, int, int, int, int | None]:
    """covered, patient pays, plan pays, allowed, sessions remaining."""
    return (
        est.covered,
        est.patient_pays,
        est.plan_pays,
        est.allowed_amount,
        est.sessions_remaining,
    )


def assert_totals(
    plan: TreatmentPlanEstimate, patient: int, plan_pays: int, allowed: int, covered: int
) -> None:
    assert plan.total_patient_pays == patient
    assert plan.total_plan_pays == plan_pays
    assert plan.total_allowed_amount == allowed
    assert plan.covered_session_count == covered
    # ...and they are the sums of the sessions shown.
    assert sum(s.patient_pays for s in plan.sessions) == patient
    assert sum(s.plan_pays for s in plan.sessions) == plan_pays
    assert sum(s.allowed_amount for s in plan.sessions) == allowed


def test_acme_weekly_across_new_year(quoter: Quoter) -> None:
    dates = every(date(2026, 11, 20), 7, 8)
    # 2026-11-20, 11-27, 12-04, 12-11, 12-18, 12-25, 2027-01-01, 2027-01-08; the prescription
    # of 2026-11-15 is 54 days old on the last date: valid throughout.
    assert dates[-1] == date(2027, 1, 8)
    plan = quoter.treatment_plan(ACME, dates)
    assert [s.date_of_service for s in plan.sessions] == dates
    # 2026 (deductible met): $124.00 allowed, 20% = $24.80, plan $99.20; visits 4..9 of 20.
    # 2027-01-01: new calendar year, accumulators reset, 2027 version: $132.00 all to the
    # new $600.00 deductible (twice: $600 - $132 = $468 still left), visits 1, 2 of 24.
    assert [row(s) for s in plan.sessions] == [
        (True, 2480, 9920, 12400, 16),
        (True, 2480, 9920, 12400, 15),
        (True, 2480, 9920, 12400, 14),
        (True, 2480, 9920, 12400, 13),
        (True, 2480, 9920, 12400, 12),
        (True, 2480, 9920, 12400, 11),
        (True, 13200, 0, 13200, 23),
        (True, 13200, 0, 13200, 22),
    ]
    versions = [s.rule_version.version if s.rule_version else None for s in plan.sessions]
    assert versions == ["2026.1"] * 6 + ["2027.1"] * 2
    # OOP 2026: $500 + 6 x $24.80 = $648.80; 2027 after two sessions: $264.00.
    assert plan.sessions[5].accumulators_after == acc(50000, 64880, 9)
    assert plan.sessions[6].accumulators_after == acc(13200, 13200, 1)
    assert plan.sessions[7].accumulators_after == acc(26400, 26400, 2)
    assert plan.sessions[6].benefit_period == (date(2027, 1, 1), date(2027, 12, 31))
    assert_money(plan.sessions[7], allowed=13200, deductible=13200, plan_pays=0, patient_pays=13200)
    # Totals: patient 6 x $24.80 + 2 x $132.00 = $148.80 + $264.00 = $412.80;
    # plan 6 x $99.20 = $595.20; allowed 6 x $124 + 2 x $132 = $1,008.00.
    assert_totals(plan, patient=41280, plan_pays=59520, allowed=100800, covered=8)


def test_acme_deductible_fills_session_by_session(quoter: Quoter) -> None:
    template = replace(ACME, referral_date=date(2026, 3, 1), accumulators=acc(0, 0, 0))
    plan = quoter.treatment_plan(template, every(date(2026, 3, 2), 7, 6))
    # $124.00 a session against a $500.00 deductible:
    # 1-4: $124.00 each to the deductible (met $124, $248, $372, $496);
    # 5: deductible $4.00, 20% x $120.00 = $24.00 -> patient $28.00, plan $96.00;
    # 6: 20% x $124.00 = $24.80, plan $99.20.
    assert [row(s) for s in plan.sessions] == [
        (True, 12400, 0, 12400, 19),
        (True, 12400, 0, 12400, 18),
        (True, 12400, 0, 12400, 17),
        (True, 12400, 0, 12400, 16),
        (True, 2800, 9600, 12400, 15),
        (True, 2480, 9920, 12400, 14),
    ]
    assert_money(
        plan.sessions[4],
        allowed=12400,
        deductible=400,
        coinsurance=2400,
        plan_pays=9600,
        patient_pays=2800,
    )
    assert [s.accumulators_after.deductible_met for s in plan.sessions] == [
        12400,
        24800,
        37200,
        49600,
        50000,
        50000,
    ]
    # OOP: $496.00 + $28.00 + $24.80 = $548.80.
    assert plan.sessions[-1].accumulators_after == acc(50000, 54880, 6)
    # Totals: patient 4 x $124 + $28 + $24.80 = $548.80; plan $96 + $99.20 = $195.20.
    assert_totals(plan, patient=54880, plan_pays=19520, allowed=74400, covered=6)


def test_acme_visit_limit_runs_out(quoter: Quoter) -> None:
    template = replace(
        ACME,
        referral_date=date(2026, 5, 25),
        accumulators=acc(50000, 50000, 18),
        prior_authorization_on_file=True,
    )
    plan = quoter.treatment_plan(template, every(date(2026, 6, 1), 7, 4))
    # Visits 19 and 20 covered ($24.80 / $99.20); then 20 of 20 used: not covered, the
    # therapeutic 60-minute cash price $110.00 each, no visit used.
    assert [row(s) for s in plan.sessions] == [
        (True, 2480, 9920, 12400, 1),
        (True, 2480, 9920, 12400, 0),
        (False, 11000, 0, 0, 0),
        (False, 11000, 0, 0, 0),
    ]
    assert "VISIT_LIMIT_REACHED" in reason_codes(plan.sessions[2])
    assert plan.sessions[3].accumulators_after == acc(50000, 54960, 20)
    # Totals: patient 2 x $24.80 + 2 x $110.00 = $269.60; plan 2 x $99.20 = $198.40.
    assert_totals(plan, patient=26960, plan_pays=19840, allowed=24800, covered=2)


def test_acme_prescription_expires_part_way(quoter: Quoter) -> None:
    template = replace(ACME, referral_date=date(2026, 3, 1), accumulators=acc(50000, 50000, 0))
    # From 2026-03-01: 05-29 is day 89, 05-30 day 90 (Mar 31 = 30, Apr 30 = 60, May 30 = 90),
    # 05-31 day 91 (expired), 06-07 day 98.
    dates = [date(2026, 5, 29), date(2026, 5, 30), date(2026, 5, 31), date(2026, 6, 7)]
    plan = quoter.treatment_plan(template, dates)
    assert [row(s) for s in plan.sessions] == [
        (True, 2480, 9920, 12400, 19),
        (True, 2480, 9920, 12400, 18),
        (False, 11000, 0, 0, 18),
        (False, 11000, 0, 0, 18),
    ]
    assert "REFERRAL_EXPIRED" in reason_codes(plan.sessions[2])
    assert "REFERRAL_EXPIRED" in reason_codes(plan.sessions[3])
    assert_totals(plan, patient=26960, plan_pays=19840, allowed=24800, covered=2)


def test_contoso_plan_year_reset_on_july_1(quoter: Quoter) -> None:
    template = SessionRequest(
        plan_id="contoso-hmo-silver",
        session_type="myofascial",
        minutes=60,
        date_of_service=date(2027, 6, 17),
        referral_kind=ReferralKind.INTEGRATIVE_CARE_PLAN,
        referral_date=date(2027, 5, 1),
        diagnosis_codes=("F41.1",),
        accumulators=acc(0, 0, 11),
    )
    dates = [date(2027, 6, 17), date(2027, 6, 24), date(2027, 7, 1), date(2027, 7, 8)]
    plan = quoter.treatment_plan(template, dates)
    # 12th visit of the plan year: $108.00 allowed, $25.00 copay, plan $83.00, 0 left.
    # 06-24: 12 of 12 used -> cash $110.00. 07-01: new plan year, visits reset: covered
    # again, 11 then 10 left.
    assert [row(s) for s in plan.sessions] == [
        (True, 2500, 8300, 10800, 0),
        (False, 11000, 0, 0, 0),
        (True, 2500, 8300, 10800, 11),
        (True, 2500, 8300, 10800, 10),
    ]
    assert "VISIT_LIMIT_REACHED" in reason_codes(plan.sessions[1])
    assert plan.sessions[1].benefit_period == (date(2026, 7, 1), date(2027, 6, 30))
    assert plan.sessions[2].benefit_period == (date(2027, 7, 1), date(2028, 6, 30))
    assert plan.sessions[2].accumulators_after == acc(0, 2500, 1)
    assert plan.sessions[3].accumulators_after == acc(0, 5000, 2)
    # Totals: patient $25 + $110 + $25 + $25 = $185.00; plan 3 x $83.00 = $249.00.
    assert_totals(plan, patient=18500, plan_pays=24900, allowed=32400, covered=3)


def test_cedar_calendar_year_reset_without_version_change(quoter: Quoter) -> None:
    template = SessionRequest(
        plan_id="cedar-hdhp-hsa",
        session_type="deep_tissue",
        minutes=60,
        date_of_service=date(2026, 12, 24),
        diagnosis_codes=("M54.50",),
        accumulators=acc(295000, 295000, 10),
    )
    plan = quoter.treatment_plan(template, every(date(2026, 12, 24), 7, 3))
    # 12-24: deductible $50.00 + 10% x $41.86 = $4.19 -> $54.19, plan $37.67.
    # 12-31: 10% x $91.86 = $9.19, plan $82.67.
    # 2027-01-07: new year, deductible $3,000 again: $91.86 all deductible.
    assert [row(s) for s in plan.sessions] == [
        (True, 5419, 3767, 9186, 19),
        (True, 919, 8267, 9186, 18),
        (True, 9186, 0, 9186, 29),
    ]
    assert plan.sessions[1].accumulators_after == acc(300000, 301338, 12)
    assert plan.sessions[2].accumulators_after == acc(9186, 9186, 1)
    # Totals: patient $54.19 + $9.19 + $91.86 = $155.24; plan $37.67 + $82.67 = $120.34.
    assert_totals(plan, patient=15524, plan_pays=12034, allowed=27558, covered=3)


def test_summit_six_visits_then_cash(quoter: Quoter) -> None:
    template = SessionRequest(
        plan_id="summit-ma-plus",
        session_type="medical",
        minutes=60,
        date_of_service=date(2026, 5, 5),
        referral_kind=ReferralKind.PRESCRIPTION,
        referral_date=date(2026, 4, 1),
        diagnosis_codes=("M54.2",),
    )
    plan = quoter.treatment_plan(template, every(date(2026, 5, 5), 7, 7))
    # Last date 2026-06-16: 76 days after the prescription. Six visits at $20 copay /
    # $40 plan, then the 7th at the $110.00 cash price.
    assert [row(s) for s in plan.sessions] == [
        (True, 2000, 4000, 6000, 5),
        (True, 2000, 4000, 6000, 4),
        (True, 2000, 4000, 6000, 3),
        (True, 2000, 4000, 6000, 2),
        (True, 2000, 4000, 6000, 1),
        (True, 2000, 4000, 6000, 0),
        (False, 11000, 0, 0, 0),
    ]
    # Totals: patient 6 x $20 + $110 = $230.00; plan 6 x $40 = $240.00.
    assert_totals(plan, patient=23000, plan_pays=24000, allowed=36000, covered=6)


def test_self_pay_plan(quoter: Quoter) -> None:
    template = SessionRequest(
        plan_id="self-pay", session_type="deep_tissue", minutes=50, date_of_service=date(2026, 3, 3)
    )
    plan = quoter.treatment_plan(template, every(date(2026, 3, 3), 14, 3))
    # 50 minutes priced as 60: $110.00 x 3 = $330.00.
    assert [s.patient_pays for s in plan.sessions] == [11000, 11000, 11000]
    assert_totals(plan, patient=33000, plan_pays=0, allowed=0, covered=0)


def test_date_without_version_fails_the_whole_plan(quoter: Quoter) -> None:
    template = SessionRequest(
        plan_id="contoso-hmo-silver",
        session_type="myofascial",
        minutes=60,
        date_of_service=date(2026, 6, 24),
        referral_kind=ReferralKind.INTEGRATIVE_CARE_PLAN,
        referral_date=date(2026, 6, 1),
        diagnosis_codes=("F41.1",),
    )
    # Contoso's rules start 2026-07-01: the first session has no version.
    with pytest.raises(NoRuleVersionError):
        quoter.treatment_plan(template, [date(2026, 6, 24), date(2026, 7, 1)])


def test_a_session_that_cannot_be_priced_is_named(quoter: Quoter) -> None:
    # 150 minutes: covered (4 units) while visits last, but once the 20 visits are used the
    # session is priced at cash, and no cash price is listed beyond 120 minutes. The whole
    # plan fails as before; the error must say which session, or the first (covered) one
    # reads as if it had no price.
    template = replace(
        ACME, minutes=150, referral_date=date(2026, 5, 25), accumulators=acc(50000, 50000, 19)
    )
    with pytest.raises(EstimateUnavailableError) as info:
        quoter.treatment_plan(template, every(date(2026, 6, 1), 7, 3))
    assert info.value.reason == "NO_CASH_PRICE"
    assert "session 2 (2026-06-08) of the treatment plan" in str(info.value)
    assert "150 minutes" in str(info.value)


def test_no_dates_is_invalid(quoter: Quoter) -> None:
    with pytest.raises(InvalidRequestError):
        quoter.treatment_plan(ACME, [])


def test_plan_replayed_before_2027_rules_were_published(
    versions: list[RuleSetVersion], clinic: Clinic
) -> None:
    # 2027.1 published on 2026-06-01; a plan priced as of 2026-03-01 cannot answer its
    # 2027 sessions: the whole plan fails (no partial answer), naming the session.
    later = datetime(2026, 6, 1, tzinfo=UTC)
    shifted = [replace(v, published_at=later) if v.version == "2027.1" else v for v in versions]
    replay = Quoter(RuleIndex.build(shifted), clinic)
    dates = every(date(2026, 11, 20), 7, 8)
    with pytest.raises(NoRuleVersionError) as info:
        replay.treatment_plan(ACME, dates, as_of=datetime(2026, 3, 1, tzinfo=UTC))
    assert info.value.date_of_service == date(2027, 1, 1)  # session 7, the first in 2027
    # As of publication, the same plan answers with 2027 rates from 2027-01-01.
    plan = replay.treatment_plan(ACME, dates, as_of=later)
    assert [s.allowed_amount for s in plan.sessions][-2:] == [13200, 13200]  # 4 x $33.00
