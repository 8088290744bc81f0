"""Contoso HMO Silver (payer_rules/contoso-health), hand-computed against issue 2.

From 2026-07-01: plan year from July 1; integrative-care-plan referral at most 180 days old;
pain list or F41/F32/F33; therapeutic group; AMA per-code units, at most 4; in network only;
copay $25.00 (the lesser of copay and allowed), no deductible or coinsurance, max $4,000.00;
allowed $28.00 (97124) / $27.00 (97140); 12 visits per plan year; no prior authorization.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from service.domain.engine import estimate_session
from service.domain.errors import NoRuleVersionError
from service.domain.index import RuleIndex
from service.domain.model import (
    Clinic,
    CopayTier,
    CoverageBasis,
    Injury,
    Network,
    ReferralKind,
    SessionRequest,
    UnitMethod,
)
from service.domain.quoting import Quoter

from .expect import acc, assert_covered, assert_money, assert_not_covered, missing_codes

BASE = SessionRequest(
    plan_id="contoso-hmo-silver",
    session_type="myofascial",
    minutes=60,
    date_of_service=date(2026, 9, 15),
    referral_kind=ReferralKind.INTEGRATIVE_CARE_PLAN,
    referral_date=date(2026, 8, 1),
    diagnosis_codes=("F41.1",),
    accumulators=acc(0, 0, 0),
)


def test_60_minutes_97140(quoter: Quoter) -> None:
    est = quoter.estimate(BASE)
    # 60 min of 97140 -> 4 units x $27.00 = $108.00; copay min($25.00, $108.00) = $25.00;
    # plan pays $108.00 - $25.00 = $83.00.
    assert_covered(est, covered_units=4, billed_units=4)
    assert est.cpt_code == "97140"
    assert est.unit_method is UnitMethod.AMA_PER_CODE
    assert est.coverage_basis is CoverageBasis.INTEGRATIVE_CARE_PROGRAM
    assert_money(est, allowed=10800, copay=2500, plan_pays=8300, patient_pays=2500)
    assert est.visit_limit == 12
    assert est.sessions_remaining == 11  # 12 - 1
    assert set(est.visit_limit_shared_with) <= {"massage"}  # massage only
    assert est.prior_authorization_required is False
    assert est.missing == ()
    # No deductible: deductible met stays 0; OOP met $25.00; 1 visit.
    assert est.accumulators_after == acc(0, 2500, 1)
    assert est.benefit_period == (date(2026, 7, 1), date(2027, 6, 30))
    assert est.clinic_charge == 16000  # 4 x $40.00
    assert est.rule_version is not None
    assert (est.rule_version.payer_id, est.rule_version.version) == ("contoso-health", "2026-07")
    assert est.rule_version.effective_from == date(2026, 7, 1)
    assert est.rule_version.effective_to is None


def test_60_minutes_97124(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, session_type="deep_tissue"))
    # 4 x $28.00 = $112.00; copay $25.00; plan $87.00.
    assert est.cpt_code == "97124"
    assert_money(est, allowed=11200, copay=2500, plan_pays=8700, patient_pays=2500)


def test_30_minutes(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, session_type="deep_tissue", minutes=30))
    # 30 min -> 2 units x $28.00 = $56.00; copay min($25, $56) = $25.00; plan $31.00.
    assert_covered(est, covered_units=2, billed_units=2)
    assert_money(est, allowed=5600, copay=2500, plan_pays=3100, patient_pays=2500)


def test_75_minutes_one_unit_above_cap(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, session_type="deep_tissue", minutes=75))
    # 5 billed, 4 covered: $112.00 allowed, copay $25.00, plan $87.00; 1 unit x $40.00 not
    # covered; patient $65.00.
    assert_covered(est, covered_units=4, billed_units=5)
    assert_money(
        est, allowed=11200, copay=2500, not_covered=4000, plan_pays=8700, patient_pays=6500
    )


@pytest.mark.parametrize("code", ["F41.1", "F32.A", "F33.1", "M54.50", "M17.11"])
def test_program_diagnoses_qualify(quoter: Quoter, code: str) -> None:
    est = quoter.estimate(replace(BASE, diagnosis_codes=(code,)))
    assert_covered(est, covered_units=4, billed_units=4)


def test_other_diagnosis_not_qualifying(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, diagnosis_codes=("F43.10",)))
    # F43 (PTSD) is not on the program's list; therapeutic 60 min cash $110.00.
    assert_not_covered(est, "DIAGNOSIS_NOT_QUALIFYING")
    assert_money(est, allowed=0, not_covered=11000, plan_pays=0, patient_pays=11000)


def test_referral_180_days_valid(quoter: Quoter) -> None:
    # 2026-09-15 - 180 days = 2026-03-19 (Aug 15: 31, Jul 15: 62, Jun 15: 92, May 15: 123,
    # Apr 15: 153, Mar 15: 184 -> Mar 19 is 180).
    est = quoter.estimate(replace(BASE, referral_date=date(2026, 3, 19)))
    assert_covered(est, covered_units=4, billed_units=4)


def test_referral_181_days_expired(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, referral_date=date(2026, 3, 18)))
    assert_not_covered(est, "REFERRAL_EXPIRED")
    assert_money(est, allowed=0, not_covered=11000, plan_pays=0, patient_pays=11000)


def test_out_of_network_not_covered(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, network=Network.OUT))
    # The plan says out of network is not covered: the clinic's cash price $110.00.
    assert_not_covered(est, "NETWORK_NOT_COVERED")
    assert_money(est, allowed=0, not_covered=11000, plan_pays=0, patient_pays=11000)
    assert est.accumulators_after == acc(0, 0, 0)


def test_prescription_is_not_an_integrative_care_plan(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, referral_kind=ReferralKind.PRESCRIPTION))
    assert_not_covered(est, "REFERRAL_MISSING")
    assert missing_codes(est) & {"PRESCRIPTION", "REFERRAL"}


def test_relaxation_not_covered(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, session_type="hot_stone", minutes=90))
    # Relaxation 90-minute cash price $135.00.
    assert_not_covered(est, "SESSION_TYPE_NOT_COVERED")
    assert_money(est, allowed=0, not_covered=13500, plan_pays=0, patient_pays=13500)


def test_auto_injury_not_excluded_here(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, injury=Injury.AUTO))
    assert_covered(est, covered_units=4, billed_units=4)


def test_out_of_pocket_max_caps_copay(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, accumulators=acc(0, 399000, 3)))
    # Copay $25.00 capped at $4,000.00 - $3,990.00 = $10.00; plan $108.00 - $10.00 = $98.00.
    assert_money(est, allowed=10800, copay=1000, plan_pays=9800, patient_pays=1000)
    assert "OUT_OF_POCKET_MAX_REACHED" in {r.code for r in est.reasons}
    assert est.accumulators_after == acc(0, 400000, 4)


def test_12th_visit_covered_no_prior_authorization(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, accumulators=acc(0, 27500, 11)))
    assert_covered(est, covered_units=4, billed_units=4)
    assert est.prior_authorization_required is False
    assert est.sessions_remaining == 0  # 12 - 12


def test_13th_visit_limit_reached(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, accumulators=acc(0, 30000, 12)))
    assert_not_covered(est, "VISIT_LIMIT_REACHED")
    assert_money(est, allowed=0, not_covered=11000, plan_pays=0, patient_pays=11000)
    assert est.sessions_remaining == 0


def test_before_the_first_version_no_rule_version(quoter: Quoter) -> None:
    with pytest.raises(NoRuleVersionError):
        quoter.estimate(
            replace(BASE, date_of_service=date(2026, 6, 30), referral_date=date(2026, 6, 1))
        )


@pytest.mark.parametrize(
    ("day", "period"),
    [
        (date(2026, 7, 1), (date(2026, 7, 1), date(2027, 6, 30))),
        (date(2027, 6, 30), (date(2026, 7, 1), date(2027, 6, 30))),
        (date(2027, 7, 1), (date(2027, 7, 1), date(2028, 6, 30))),
        (date(2028, 2, 29), (date(2027, 7, 1), date(2028, 6, 30))),
    ],
)
def test_plan_year_boundaries(quoter: Quoter, day: date, period: tuple[date, date]) -> None:
    est = quoter.estimate(replace(BASE, date_of_service=day, referral_date=day))
    assert est.benefit_period == period
    assert_money(est, allowed=10800, copay=2500, plan_pays=8300, patient_pays=2500)


def test_copay_is_the_lesser_of_copay_and_allowed(index: RuleIndex, clinic: Clinic) -> None:
    # The sample allowed amounts never fall below $25.00 (1 unit is $27.00), so raise the
    # copay to $30.00 on a copy of the real plan: 15 min of 97140 -> 1 unit, $27.00 allowed;
    # copay min($30.00, $27.00) = $27.00; plan pays $0.
    version, plan = index.resolve("contoso-hmo-silver", date(2026, 9, 15))
    dearer = replace(
        plan,
        in_network=replace(
            plan.in_network, copay=(CopayTier(1, None, 3000, "plans.contoso.in_network.copay"),)
        ),
    )
    est = estimate_session(replace(BASE, minutes=15), dearer, version, clinic)
    assert_covered(est, covered_units=1, billed_units=1)
    assert_money(est, allowed=2700, copay=2700, plan_pays=0, patient_pays=2700)
    # 30 min -> 2 units, $54.00 allowed: copay min($30.00, $54.00) = $30.00; plan $24.00.
    est = estimate_session(replace(BASE, minutes=30), dearer, version, clinic)
    assert_money(est, allowed=5400, copay=3000, plan_pays=2400, patient_pays=3000)
