"""Rainier UMP Classic (payer_rules/rainier-public), hand-computed.

Calendar year; a prescription valid 12 months; any diagnosis except the Z00-Z13 families;
CMS units, no cap a visit but at most 4 units a day; 97124 $30.00, 97140 $28.00 in and out of
network; deductible $250 individual / $750 family, then 15% coinsurance in network and 40%
out; out-of-pocket $2,500 / $5,000; balance billing out of network; the two networks' totals
count together; 16 visits; rendered by an LMT, PT or chiropractor.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from service.domain.model import (
    LineItemKind,
    Network,
    NetworkTotals,
    ProviderCredential,
    ReferralKind,
    SessionRequest,
)
from service.domain.quoting import Quoter

from .expect import acc, assert_covered, assert_money, assert_not_covered, reason_codes

BASE = SessionRequest(
    plan_id="rainier-ump-classic",
    session_type="deep_tissue",
    minutes=60,
    date_of_service=date(2026, 5, 4),
    referral_kind=ReferralKind.PRESCRIPTION,
    referral_date=date(2026, 1, 15),
    diagnosis_codes=("M54.50",),
)
MET = acc(25000, 25000, 3)  # the individual deductible met


def _line(est, kind: LineItemKind) -> str:  # type: ignore[no-untyped-def]
    (item,) = [i for i in est.line_items if i.kind is kind]
    return f"{item.description} | {item.rule_ref}"


def test_deductible_then_coinsurance(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, accumulators=acc(20000, 20000, 2)))
    # 60 min -> 4 units x $30.00 = $120.00; deductible left $250 - $200 = $50.00; 15% of
    # ($120.00 - $50.00 = $70.00) = $10.50; share $60.50; plan $59.50.
    assert_covered(est, covered_units=4, billed_units=4)
    assert_money(
        est, allowed=12000, deductible=5000, coinsurance=1050, plan_pays=5950, patient_pays=6050
    )
    assert est.accumulators_after == acc(25000, 26050, 3)


def test_family_deductible_bites_before_the_individuals(quoter: Quoter) -> None:
    family = acc(10000, 10000, 2, family_deductible_met=70000, family_out_of_pocket_met=70000)
    est = quoter.estimate(replace(BASE, accumulators=family))
    # The member has $250 - $100 = $150.00 left, the family $750 - $700 = $50.00: $50.00 is
    # left. Deductible $50.00; 15% of $70.00 = $10.50; share $60.50; plan $59.50.
    assert_money(
        est, allowed=12000, deductible=5000, coinsurance=1050, plan_pays=5950, patient_pays=6050
    )
    assert _line(est, LineItemKind.DEDUCTIBLE) == (
        "deductible: $50.00 of the family's $750.00 left before this visit (the member's own: "
        "$150.00 of $250.00) (in- and out-of-network amounts count together)"
        " | plans.rainier-ump-classic.in_network.family_deductible"
    )
    # The family totals move with the member's: $700 + $50 and $700 + $60.50.
    assert est.accumulators_after == acc(
        15000, 16050, 3, family_deductible_met=75000, family_out_of_pocket_met=76050
    )
    # Without the family's totals only the member's own count: $120.00 all to the deductible.
    alone = quoter.estimate(replace(BASE, accumulators=acc(10000, 10000, 2)))
    assert_money(alone, allowed=12000, deductible=12000, plan_pays=0, patient_pays=12000)


def test_family_out_of_pocket_maximum_bites_first(quoter: Quoter) -> None:
    family = acc(25000, 100000, 5, family_deductible_met=75000, family_out_of_pocket_met=499000)
    est = quoter.estimate(replace(BASE, accumulators=family))
    # Deductible met; 15% of $120.00 = $18.00; the member has $2,500 - $1,000 = $1,500.00 of
    # room, the family $5,000 - $4,990 = $10.00: the share is capped at $10.00; plan $110.00.
    assert_money(est, allowed=12000, coinsurance=1000, plan_pays=11000, patient_pays=1000)
    (reason,) = [r for r in est.reasons if r.code == "OUT_OF_POCKET_MAX_REACHED"]
    assert reason.message == (
        "The family out-of-pocket maximum of $5,000.00 caps the client's share at $10.00 "
        "($4,990.00 already met by the family, in and out of network together)."
    )
    assert reason.rule_ref == "plans.rainier-ump-classic.in_network.family_out_of_pocket_max"


def test_combined_networks_count_the_other_networks_totals(quoter: Quoter) -> None:
    other = NetworkTotals(deductible_met=15000, out_of_pocket_met=15000)
    est = quoter.estimate(replace(BASE, accumulators=acc(10000, 10000, 2), other_network=other))
    # Combined: $100.00 in network + $150.00 out = $250.00 met, nothing left: 15% of $120.00
    # = $18.00; plan $102.00.
    assert_money(est, allowed=12000, coinsurance=1800, plan_pays=10200, patient_pays=1800)
    # accumulators_after holds this network's own totals: $100.00 and $100.00 + $18.00.
    assert est.accumulators_after == acc(10000, 11800, 3)


def test_out_of_network_counts_in_network_totals_and_balance_bills(quoter: Quoter) -> None:
    other = NetworkTotals(deductible_met=25000, out_of_pocket_met=40000)
    est = quoter.estimate(replace(BASE, network=Network.OUT, other_network=other))
    # Out of network, the same $120.00 allowed; the in-network $250.00 met counts: no
    # deductible left; 40% of $120.00 = $48.00; plan $72.00; balance billing: the clinic's
    # 4 x $40.00 = $160.00 - $120.00 = $40.00. The client pays $48.00 + $40.00 = $88.00.
    assert_money(
        est,
        allowed=12000,
        coinsurance=4800,
        balance_billing=4000,
        plan_pays=7200,
        patient_pays=8800,
    )


def test_daily_unit_cap_across_the_days_visits(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, accumulators=MET, units_billed_today=2))
    # 4 units a day, 2 billed earlier: 2 of the 4 units are covered: 2 x $30.00 = $60.00;
    # 15% = $9.00; plan $51.00; 2 units above the daily cap at $40.00 = $80.00. $89.00.
    assert_covered(est, covered_units=2, billed_units=4)
    assert_money(
        est, allowed=6000, coinsurance=900, not_covered=8000, plan_pays=5100, patient_pays=8900
    )
    assert _line(est, LineItemKind.NOT_COVERED) == (
        "97124, 2 units above the 4-unit daily cap at the clinic's charge of $40.00"
        " | plans.rainier-ump-classic.units.max_per_day; clinic charge_per_unit.97124"
    )
    (units,) = [r for r in est.reasons if r.code == "UNITS"]
    assert units.message == (
        "60 minutes make 4 units of 97124 by the CMS 8-minute rule; the plan covers at most 4 "
        "a day and 2 were billed earlier today."
    )


def test_no_units_left_today_is_not_covered(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, accumulators=MET, units_billed_today=4))
    assert_not_covered(est, "DAILY_UNIT_LIMIT_REACHED")
    assert_money(est, allowed=0, not_covered=11000, plan_pays=0, patient_pays=11000)
    assert est.accumulators_after == MET


@pytest.mark.parametrize(
    ("codes", "covered"),
    [
        (("Z00.00",), False),  # a wellness visit
        (("Z13.89",), False),  # screening, the last excluded family
        (("Z00.00", "M79.7"), True),  # one code is not excluded
        (("Z14.1",), True),  # outside Z00-Z13
        (("F41.1",), True),  # any medical condition
    ],
)
def test_any_diagnosis_except_wellness(
    quoter: Quoter, codes: tuple[str, ...], covered: bool
) -> None:
    est = quoter.estimate(replace(BASE, diagnosis_codes=codes))
    assert est.covered is covered
    if not covered:
        (reason,) = [r for r in est.reasons if r.code == "DIAGNOSIS_NOT_QUALIFYING"]
        assert reason.message == (
            f"Every diagnosis ({', '.join(codes)}) is one Rainier UMP Classic excludes (Z00-Z13)."
        )


@pytest.mark.parametrize(
    ("day", "covered"),
    [
        (date(2026, 3, 31), True),  # 12 months from 2025-03-31, the last valid day
        (date(2026, 4, 1), False),
    ],
)
def test_prescription_valid_12_months(quoter: Quoter, day: date, covered: bool) -> None:
    est = quoter.estimate(replace(BASE, date_of_service=day, referral_date=date(2025, 3, 31)))
    assert est.covered is covered
    if not covered:
        (reason,) = [r for r in est.reasons if r.code == "REFERRAL_EXPIRED"]
        assert reason.message == (
            "The prescription issued 2025-03-31 was valid for 12 months, through 2026-03-31."
        )
        assert reason.rule_ref == "plans.rainier-ump-classic.referral.valid_months"


def test_a_physical_therapist_may_render_it_a_physician_may_not(quoter: Quoter) -> None:
    assert quoter.estimate(replace(BASE, provider=ProviderCredential.PT)).covered is True
    est = quoter.estimate(replace(BASE, provider=ProviderCredential.MD_DO))
    assert_not_covered(est, "PROVIDER_NOT_ELIGIBLE")
    (reason,) = [r for r in est.reasons if r.code == "PROVIDER_NOT_ELIGIBLE"]
    assert reason.message == (
        "Rainier UMP Classic pays for massage only when a licensed massage therapist, a "
        "physical therapist or a chiropractor renders it; this session is rendered by a "
        "physician (MD or DO)."
    )


def test_treatment_plan_carries_family_totals_and_resets_them_in_january(quoter: Quoter) -> None:
    template = replace(
        BASE,
        referral_date=date(2026, 11, 1),
        accumulators=acc(
            20000, 20000, 14, family_deductible_met=74000, family_out_of_pocket_met=74000
        ),
        other_network=NetworkTotals(deductible_met=5000, out_of_pocket_met=5000),
    )
    days = [date(2026, 12, 21), date(2026, 12, 28), date(2027, 1, 4), date(2027, 1, 11)]
    plan = quoter.treatment_plan(template, days)
    first, second, january, later = plan.sessions
    # Dec 21: the member has $250 - $200 - $50 (out of network) = $0.00 left, the family
    # $750 - $740 - $50 = $0.00 too: 15% of $120.00 = $18.00; plan $102.00.
    assert_money(first, allowed=12000, coinsurance=1800, plan_pays=10200, patient_pays=1800)
    # Dec 28: the same; visit 16 of 16.
    assert_money(second, allowed=12000, coinsurance=1800, plan_pays=10200, patient_pays=1800)
    assert second.accumulators_after == acc(
        20000, 23600, 16, family_deductible_met=74000, family_out_of_pocket_met=77600
    )
    # Jan 4, 2027: a new year, everything starts again (the other network's too): the
    # $120.00 goes to the $250.00 deductible.
    assert_money(january, allowed=12000, deductible=12000, plan_pays=0, patient_pays=12000)
    assert january.accumulators_after == acc(12000, 12000, 1)
    assert "VISIT_LIMIT_REACHED" not in reason_codes(january)
    # Jan 11: $250 - $120 = $130.00 left (last year's out-of-network $50.00 no longer counts):
    # the $120.00 again goes to the deductible.
    assert_money(later, allowed=12000, deductible=12000, plan_pays=0, patient_pays=12000)
