"""Lakeside Choice PPO (payer_rules/lakeside-health), hand-computed.

Calendar year; prescription or physician referral, 90 days; diagnoses M54.5, M54.2, M79.7,
G89.2; CMS units, at most 4 a visit; 97124 $32.00, 97140 $30.00 a unit; no deductible; copay
$20.00 for visits 1-10 and $40.00 for visits 11-24; out-of-pocket $4,000 / $8,000 family;
the plan pays at most $90.00 a visit and $1,200.00 a year; 24 visits; out of network not
covered; rendered by a licensed massage therapist only.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from service.domain.model import (
    LineItemKind,
    Network,
    ProviderCredential,
    ReferralKind,
    SessionRequest,
)
from service.domain.quoting import Quoter

from .expect import acc, assert_covered, assert_money, assert_not_covered, reason_codes

BASE = SessionRequest(
    plan_id="lakeside-choice-ppo",
    session_type="deep_tissue",
    minutes=60,
    date_of_service=date(2026, 3, 2),
    referral_kind=ReferralKind.PRESCRIPTION,
    referral_date=date(2026, 3, 1),
    diagnosis_codes=("M54.50",),
)


def _line(est, kind: LineItemKind) -> str:  # type: ignore[no-untyped-def]
    (item,) = [i for i in est.line_items if i.kind is kind]
    return f"{item.description} | {item.rule_ref}"


def test_first_visit_copay_and_the_per_visit_maximum(quoter: Quoter) -> None:
    est = quoter.estimate(BASE)
    # 60 min -> 4 units x $32.00 = $128.00 allowed; visit 1: copay $20.00 (visits 1-10);
    # the plan would owe $128.00 - $20.00 = $108.00 but pays at most $90.00 a visit, so
    # $108.00 - $90.00 = $18.00 is the client's above the maximum: $20.00 + $18.00 = $38.00.
    assert_covered(est, covered_units=4, billed_units=4)
    assert_money(
        est, allowed=12800, copay=2000, not_covered=1800, plan_pays=9000, patient_pays=3800
    )
    assert _line(est, LineItemKind.COPAY) == (
        "copay $20.00 for visits 1-10 (this is visit 1)"
        " | plans.lakeside-choice-ppo.in_network.copay[#1]"
    )
    assert _line(est, LineItemKind.NOT_COVERED) == (
        "above the plan's maximum of $90.00 a visit"
        " | plans.lakeside-choice-ppo.plan_payment_limit.per_visit"
    )
    assert "ABOVE_PLAN_MAXIMUM" in reason_codes(est)
    # Only the copay counts toward the out-of-pocket maximum; the plan's $90.00 toward its
    # yearly maximum: $1,200.00 - $90.00 = $1,110.00 left.
    assert est.accumulators_after == acc(0, 2000, 1, benefit_paid=9000)
    assert est.benefit_remaining == 111000
    assert est.sessions_remaining == 23


def test_copay_tier_changes_between_visit_10_and_11(quoter: Quoter) -> None:
    tenth = quoter.estimate(replace(BASE, accumulators=acc(0, 18000, 9, benefit_paid=81000)))
    # Visit 10: copay $20.00; owed $108.00 -> $90.00 a visit; $18.00 above; $38.00.
    assert_money(
        tenth, allowed=12800, copay=2000, not_covered=1800, plan_pays=9000, patient_pays=3800
    )
    eleventh = quoter.estimate(replace(BASE, accumulators=acc(0, 20000, 10, benefit_paid=90000)))
    # Visit 11: copay $40.00 (visits 11-24); owed $128.00 - $40.00 = $88.00, under $90.00 a
    # visit and under the $1,200.00 - $900.00 = $300.00 left: the plan pays $88.00.
    assert_money(eleventh, allowed=12800, copay=4000, plan_pays=8800, patient_pays=4000)
    assert _line(eleventh, LineItemKind.COPAY) == (
        "copay $40.00 for visits 11-24 (this is visit 11)"
        " | plans.lakeside-choice-ppo.in_network.copay[#2]"
    )
    assert eleventh.benefit_remaining == 30000 - 8800  # $300.00 - $88.00 = $212.00


def test_copay_is_limited_to_the_allowed_amount_and_no_limit_bites(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, minutes=30))
    # 30 min -> 2 units x $32.00 = $64.00; copay $20.00; the plan owes $44.00, under both
    # maximums, so it pays $44.00 and nothing is above them.
    assert_money(est, allowed=6400, copay=2000, plan_pays=4400, patient_pays=2000)
    assert "ABOVE_PLAN_MAXIMUM" not in reason_codes(est)


def test_yearly_maximum_partly_used(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, accumulators=acc(0, 8000, 4, benefit_paid=115000)))
    # Visit 5: copay $20.00; owed $108.00 -> at most $90.00 a visit -> at most what is left
    # of the year, $1,200.00 - $1,150.00 = $50.00: the plan pays $50.00, and $108.00 - $50.00
    # = $58.00 is the client's above the maximum: $20.00 + $58.00 = $78.00.
    assert_money(
        est, allowed=12800, copay=2000, not_covered=5800, plan_pays=5000, patient_pays=7800
    )
    assert _line(est, LineItemKind.NOT_COVERED) == (
        "above the plan's maximum of $1,200.00 a benefit period ($50.00 of it was left)"
        " | plans.lakeside-choice-ppo.plan_payment_limit.per_benefit_period"
    )
    (reason,) = [r for r in est.reasons if r.code == "ABOVE_PLAN_MAXIMUM"]
    assert reason.message == (
        "Lakeside Choice PPO pays at most $1,200.00 a benefit period for massage, and $50.00 of "
        "it was left before this visit; the $58.00 above it is the client's, and counts toward "
        "neither the deductible nor the out-of-pocket maximum."
    )
    assert est.benefit_remaining == 0
    assert est.accumulators_after == acc(0, 10000, 5, benefit_paid=120000)


def test_yearly_maximum_fully_used_is_not_covered(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, accumulators=acc(0, 8000, 4, benefit_paid=120000)))
    # Nothing left of the $1,200.00: not covered, the therapeutic cash price for 60 minutes,
    # $110.00; no visit used, nothing toward the maximums.
    assert_not_covered(est, "BENEFIT_MAXIMUM_REACHED")
    assert_money(est, allowed=0, not_covered=11000, plan_pays=0, patient_pays=11000)
    assert est.benefit_remaining == 0
    assert est.accumulators_after == acc(0, 8000, 4, benefit_paid=120000)
    (reason,) = [r for r in est.reasons if r.code == "BENEFIT_MAXIMUM_REACHED"]
    assert reason.message == (
        "Lakeside Choice PPO pays at most $1,200.00 a benefit period for massage, and $1,200.00 "
        "has been paid."
    )
    assert reason.rule_ref == "plans.lakeside-choice-ppo.plan_payment_limit.per_benefit_period"


def test_myofascial_per_visit_maximum(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, session_type="myofascial"))
    # 97140: 4 units x $30.00 = $120.00; copay $20.00; owed $100.00 -> $90.00; $10.00 above.
    assert_money(
        est, allowed=12000, copay=2000, not_covered=1000, plan_pays=9000, patient_pays=3000
    )


def test_units_above_the_visit_cap_and_the_maximum_are_two_lines(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, minutes=75))
    # 75 min -> 5 units, 4 covered: $128.00 allowed; copay $20.00; plan $90.00; $18.00 above
    # the maximum; 1 unit above the cap at the clinic's $40.00: $20.00 + $18.00 + $40.00.
    assert_covered(est, covered_units=4, billed_units=5)
    assert_money(
        est, allowed=12800, copay=2000, not_covered=5800, plan_pays=9000, patient_pays=7800
    )
    not_covered = [i.amount for i in est.line_items if i.kind is LineItemKind.NOT_COVERED]
    assert not_covered == [1800, 4000]


def test_out_of_network_is_not_covered(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, network=Network.OUT))
    assert_not_covered(est, "NETWORK_NOT_COVERED")
    assert_money(est, allowed=0, not_covered=11000, plan_pays=0, patient_pays=11000)


def test_only_a_licensed_massage_therapist(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, provider=ProviderCredential.PT))
    assert_not_covered(est, "PROVIDER_NOT_ELIGIBLE")
    assert_money(est, allowed=0, not_covered=11000, plan_pays=0, patient_pays=11000)
    (reason,) = [r for r in est.reasons if r.code == "PROVIDER_NOT_ELIGIBLE"]
    assert reason.message == (
        "Lakeside Choice PPO pays for massage only when a licensed massage therapist renders "
        "it; this session is rendered by a physical therapist."
    )
    assert reason.rule_ref == "plans.lakeside-choice-ppo.rendering_providers"
    # The sample clinic's default credential is lmt: unsaid, the session is covered.
    assert quoter.estimate(BASE).covered is True


def test_treatment_plan_crosses_the_tier_and_runs_out_of_the_yearly_maximum(
    quoter: Quoter,
) -> None:
    template = replace(BASE, accumulators=acc(0, 16000, 8, benefit_paid=90000))
    days = [date(2026, 3, 2 + 7 * i) for i in range(4)] + [date(2026, 3, 30), date(2026, 4, 6)]
    plan = quoter.treatment_plan(template, days)
    got = [(e.covered, e.patient_cost.copay, e.plan_pays, e.patient_pays) for e in plan.sessions]
    assert got == [
        # visit 9: $20.00 copay; owed $108.00 -> $90.00 (left $300.00); $18.00 above: $38.00
        (True, 2000, 9000, 3800),
        # visit 10: the same, with $1,200.00 - $990.00 = $210.00 of the year left
        (True, 2000, 9000, 3800),
        # visit 11: $40.00 copay; owed $88.00, left $120.00: the plan pays $88.00
        (True, 4000, 8800, 4000),
        # visit 12: $40.00 copay; owed $88.00 but only $32.00 left: $32.00; $56.00 above;
        # $40.00 + $56.00 = $96.00
        (True, 4000, 3200, 9600),
        # nothing left of the year's $1,200.00: the cash price $110.00, twice
        (False, 0, 0, 11000),
        (False, 0, 0, 11000),
    ]
    # $38 + $38 + $40 + $96 + $110 + $110 = $432.00; $90 + $90 + $88 + $32 = $300.00
    assert (plan.total_patient_pays, plan.total_plan_pays) == (43200, 30000)
    assert [e.benefit_remaining for e in plan.sessions] == [21000, 12000, 3200, 0, 0, 0]
    assert plan.sessions[-1].accumulators_after == acc(0, 28000, 12, benefit_paid=120000)
