"""Summit MA Plus (payer_rules/summit-medicare-advantage), hand-computed against issue 2.

Supplemental benefit from 2026-01-01: prescription at most 90 days old, pain-list diagnosis;
medical, deep_tissue and myofascial only; flat $60.00 per visit for up to 4 units (8-minute
rule), units above 4 at the clinic's $40.00; copay $20.00; no deductible; 6 visits per year.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from service.domain.errors import EstimateUnavailableError
from service.domain.model import (
    CoverageBasis,
    Network,
    ReferralKind,
    SessionRequest,
    UnitMethod,
)
from service.domain.quoting import Quoter

from .expect import acc, assert_covered, assert_money, assert_not_covered, missing_codes

BASE = SessionRequest(
    plan_id="summit-ma-plus",
    session_type="deep_tissue",
    minutes=60,
    date_of_service=date(2026, 5, 5),
    referral_kind=ReferralKind.PRESCRIPTION,
    referral_date=date(2026, 4, 1),
    diagnosis_codes=("M54.50",),
    accumulators=acc(0, 0, 0),
)


def test_60_minutes_flat(quoter: Quoter) -> None:
    est = quoter.estimate(BASE)
    # 60 min -> 4 units; flat allowed $60.00; copay min($20.00, $60.00) = $20.00;
    # plan $60.00 - $20.00 = $40.00.
    assert_covered(est, covered_units=4, billed_units=4)
    assert est.unit_method is UnitMethod.PER_VISIT_FLAT
    assert est.coverage_basis is CoverageBasis.SUPPLEMENTAL_BENEFIT
    assert_money(est, allowed=6000, copay=2000, plan_pays=4000, patient_pays=2000)
    assert est.visit_limit == 6
    assert est.sessions_remaining == 5
    assert est.prior_authorization_required is False
    assert est.hsa_eligible is False
    # No deductible: deductible met stays 0; OOP met += $20.00 copay.
    assert est.accumulators_after == acc(0, 2000, 1)
    assert est.rule_version is not None
    assert (est.rule_version.payer_id, est.rule_version.version) == (
        "summit-medicare-advantage",
        "2026.1",
    )


def test_30_minutes_same_flat_amount(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, minutes=30))
    # 2 units, still one flat $60.00 per visit; copay $20.00; plan $40.00.
    assert_covered(est, covered_units=2, billed_units=2)
    assert_money(est, allowed=6000, copay=2000, plan_pays=4000, patient_pays=2000)


def test_75_minutes_one_unit_not_covered(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, minutes=75))
    # 5 billed, 4 covered: $60.00 allowed, copay $20.00, plan $40.00; 1 x $40.00 not
    # covered; patient $60.00.
    assert_covered(est, covered_units=4, billed_units=5)
    assert_money(est, allowed=6000, copay=2000, not_covered=4000, plan_pays=4000, patient_pays=6000)


def test_90_minutes_two_units_not_covered(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, minutes=90))
    # 6 billed, 4 covered; 2 x $40.00 = $80.00 not covered; patient $20 + $80 = $100.00.
    assert_covered(est, covered_units=4, billed_units=6)
    assert_money(
        est, allowed=6000, copay=2000, not_covered=8000, plan_pays=4000, patient_pays=10000
    )


@pytest.mark.parametrize("session_type", ["medical", "deep_tissue", "myofascial"])
def test_covered_types(quoter: Quoter, session_type: str) -> None:
    est = quoter.estimate(replace(BASE, session_type=session_type))
    assert_covered(est, covered_units=4, billed_units=4)
    assert_money(est, allowed=6000, copay=2000, plan_pays=4000, patient_pays=2000)


@pytest.mark.parametrize("session_type", ["sports", "trigger_point", "lymphatic_drainage"])
def test_other_therapeutic_types_not_covered(quoter: Quoter, session_type: str) -> None:
    est = quoter.estimate(replace(BASE, session_type=session_type))
    # Therapeutic 60-minute cash price $110.00.
    assert_not_covered(est, "SESSION_TYPE_NOT_COVERED")
    assert_money(est, allowed=0, not_covered=11000, plan_pays=0, patient_pays=11000)


def test_physician_referral_is_not_a_prescription(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, referral_kind=ReferralKind.PHYSICIAN_REFERRAL))
    assert_not_covered(est, "REFERRAL_MISSING")
    assert "PRESCRIPTION" in missing_codes(est)


def test_prescription_91_days_expired(quoter: Quoter) -> None:
    # 2026-05-05 - 91 days: Apr 5 is 30, Mar 5 is 61, Feb 5 is 89 (Feb has 28) -> Feb 3 is 91.
    est = quoter.estimate(replace(BASE, referral_date=date(2026, 2, 3)))
    assert_not_covered(est, "REFERRAL_EXPIRED")
    ok = quoter.estimate(replace(BASE, referral_date=date(2026, 2, 4)))  # 90 days
    assert ok.covered is True


def test_6th_visit_is_the_last(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, accumulators=acc(0, 10000, 5)))
    assert_covered(est, covered_units=4, billed_units=4)
    assert est.sessions_remaining == 0


def test_7th_visit_limit_reached(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, accumulators=acc(0, 12000, 6)))
    assert_not_covered(est, "VISIT_LIMIT_REACHED")
    assert_money(est, allowed=0, not_covered=11000, plan_pays=0, patient_pays=11000)
    assert est.sessions_remaining == 0


def test_7_minutes_no_billable_units(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, minutes=7))
    # 0 units: nothing for the flat benefit to pay; 30-minute therapeutic cash $65.00.
    assert_not_covered(est, "NO_BILLABLE_UNITS")
    assert_money(est, allowed=0, not_covered=6500, plan_pays=0, patient_pays=6500)


def test_out_of_network_unavailable(quoter: Quoter) -> None:
    with pytest.raises(EstimateUnavailableError) as info:
        quoter.estimate(replace(BASE, network=Network.OUT))
    assert info.value.reason == "NO_NETWORK_TERMS"
