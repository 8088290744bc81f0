"""Clauses on copies of the sample plans, where the samples do not show an edge: month-end
referral expiry, half-cent rounding of a reduction, two unit caps cutting one visit, open
tiers and tiers after the deductible. Every figure is hand-computed."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from service.domain.engine import estimate_session
from service.domain.index import RuleIndex
from service.domain.model import (
    Clinic,
    CopayTier,
    LineItemKind,
    ReferralKind,
    ReferralRule,
    SameDayReduction,
    SessionRequest,
    UnitLimits,
)

from .expect import acc, assert_covered, assert_money

DAY = date(2026, 9, 14)


def test_a_one_month_prescription_from_january_31_ends_february_28(
    index: RuleIndex, clinic: Clinic
) -> None:
    version, plan = index.resolve("rainier-ump-classic", DAY)
    monthly = replace(plan, referral=ReferralRule(True, plan.referral.accepted_kinds, None, 1))
    request = SessionRequest(
        plan_id=plan.plan_id,
        session_type="medical",
        minutes=60,
        date_of_service=date(2026, 2, 28),
        referral_kind=ReferralKind.PRESCRIPTION,
        referral_date=date(2026, 1, 31),
        diagnosis_codes=("M79.7",),
    )
    assert estimate_session(request, monthly, version, clinic).covered is True
    late = estimate_session(
        replace(request, date_of_service=date(2026, 3, 1)), monthly, version, clinic
    )
    assert late.covered is False
    (reason,) = [r for r in late.reasons if r.code == "REFERRAL_EXPIRED"]
    assert reason.message == (
        "The prescription issued 2026-01-31 was valid for 1 month, through 2026-02-28."
    )
    assert [m.message for m in late.missing] == [
        "Obtain a new prescription; the current one expired 2026-02-28."
    ]


def test_a_reduction_is_rounded_half_up_once(index: RuleIndex, clinic: Clinic) -> None:
    version, plan = index.resolve("acme-ppo-gold", DAY)
    eighth = SameDayReduction(
        frozenset({"98940"}), Decimal("0.125"), "plans.x.same_day_reductions[#1]"
    )
    reduced = replace(plan, same_day_reductions=(eighth,))
    request = SessionRequest(
        plan_id=plan.plan_id,
        session_type="myofascial",
        minutes=15,
        date_of_service=DAY,
        referral_kind=ReferralKind.PRESCRIPTION,
        referral_date=date(2026, 9, 1),
        diagnosis_codes=("M54.50",),
        accumulators=acc(50000, 50000, 2),
        same_day_procedure_codes=(" 98940 ",),
    )
    est = estimate_session(request, reduced, version, clinic)
    # 1 unit of 97140 at $29.00; 12.5% of $29.00 = $3.625 -> $3.63 (half up), a reduction of
    # $25.37; deductible met; 20% of $3.63 = $0.726 -> $0.73; plan $2.90.
    assert_money(est, allowed=363, reduction=-2537, coinsurance=73, plan_pays=290, patient_pays=73)


def test_the_visit_cap_and_the_daily_cap_each_cut_their_units(
    index: RuleIndex, clinic: Clinic
) -> None:
    version, plan = index.resolve("acme-ppo-gold", DAY)
    capped = replace(plan, unit_limits=UnitLimits(per_visit=4, per_day=5))
    request = SessionRequest(
        plan_id=plan.plan_id,
        session_type="deep_tissue",
        minutes=90,
        date_of_service=DAY,
        referral_kind=ReferralKind.PRESCRIPTION,
        referral_date=date(2026, 9, 1),
        diagnosis_codes=("M54.50",),
        accumulators=acc(50000, 50000, 2),
        units_billed_today=2,
    )
    est = estimate_session(request, capped, version, clinic)
    # 90 min -> 6 units; the visit cap leaves 4 (2 above it); the day has 5 - 2 = 3 left
    # (1 more above it): 3 covered x $31.00 = $93.00; 20% = $18.60; plan $74.40; 3 units at
    # the clinic's $40.00 = $120.00 not covered. $18.60 + $120.00 = $138.60.
    assert_covered(est, covered_units=3, billed_units=6)
    assert_money(
        est, allowed=9300, coinsurance=1860, not_covered=12000, plan_pays=7440, patient_pays=13860
    )
    assert [
        (i.units, i.rule_ref) for i in est.line_items if i.kind is LineItemKind.NOT_COVERED
    ] == [
        (2, "plans.acme-ppo-gold.units.max_per_visit; clinic charge_per_unit.97124"),
        (1, "plans.acme-ppo-gold.units.max_per_day; clinic charge_per_unit.97124"),
    ]


def test_an_open_last_tier_and_tiers_after_the_deductible(index: RuleIndex, clinic: Clinic) -> None:
    version, plan = index.resolve("birch-hdhp-copay", DAY)
    ref = "plans.birch-hdhp-copay.in_network.copay"
    tiers = (CopayTier(1, 5, 1000, f"{ref}[#1]"), CopayTier(6, None, 3500, f"{ref}[#2]"))
    tiered = replace(plan, in_network=replace(plan.in_network, copay=tiers))
    request = SessionRequest(
        plan_id=plan.plan_id,
        session_type="deep_tissue",
        minutes=60,
        date_of_service=DAY,
        diagnosis_codes=("M54.50",),
        accumulators=acc(159000, 159000, 5),
    )
    est = estimate_session(request, tiered, version, clinic)
    # Visit 6 (tier 6 and later: $35.00); deductible left $10.00; copay min($35.00,
    # $120.00 - $10.00) = $35.00; share $45.00; plan $75.00.
    assert_money(est, allowed=12000, deductible=1000, copay=3500, plan_pays=7500, patient_pays=4500)
    (copay,) = [i for i in est.line_items if i.kind is LineItemKind.COPAY]
    assert copay.description == (
        "copay $35.00 for visits 6 and later (this is visit 6) after the deductible"
    )
    fifth = estimate_session(
        replace(request, accumulators=acc(160000, 160000, 4)), tiered, version, clinic
    )
    # Visit 5: $10.00; plan $110.00.
    assert_money(fifth, allowed=12000, copay=1000, plan_pays=11000, patient_pays=1000)
