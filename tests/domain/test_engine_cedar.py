"""Cedar HDHP HSA (payer_rules/cedar-mutual), hand-computed against issue 2.

From 2026-01-01: calendar year; no referral needed, pain-list diagnosis needed; CMS units,
at most 6; first unit $29.76 (97124) / $27.17 (97140), later units $20.70 / $18.90;
deductible $3,000.00 then 10% coinsurance, max $6,000.00; 30 visits shared with PT and
chiropractic; HSA-eligible; no out-of-network terms.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from service.domain.errors import EstimateUnavailableError
from service.domain.model import CoverageBasis, Network, ReferralKind, SessionRequest
from service.domain.quoting import Quoter

from .expect import acc, assert_covered, assert_money, assert_not_covered

BASE = SessionRequest(
    plan_id="cedar-hdhp-hsa",
    session_type="deep_tissue",
    minutes=60,
    date_of_service=date(2026, 4, 10),
    diagnosis_codes=("M54.50",),
    accumulators=acc(0, 0, 0),
)
MET = replace(BASE, accumulators=acc(300000, 300000, 0))


def _lmn_reason(messages: list[str]) -> bool:
    return any("letter of medical necessity" in m.lower() for m in messages)


def test_60_minutes_all_to_deductible(quoter: Quoter) -> None:
    est = quoter.estimate(BASE)
    # 60 min -> 4 units: $29.76 + 3 x $20.70 = $29.76 + $62.10 = $91.86, all to the
    # $3,000.00 deductible; plan $0.
    assert_covered(est, covered_units=4, billed_units=4)
    assert est.coverage_basis is CoverageBasis.MEDICAL_NECESSITY
    assert_money(est, allowed=9186, deductible=9186, plan_pays=0, patient_pays=9186)
    assert est.hsa_eligible is True
    assert _lmn_reason([r.message for r in est.reasons])
    assert est.visit_limit == 30
    assert est.sessions_remaining == 29
    assert set(est.visit_limit_shared_with) >= {"physical_therapy", "chiropractic"}
    assert est.prior_authorization_required is False
    assert est.accumulators_after == acc(9186, 9186, 1)
    assert est.benefit_period == (date(2026, 1, 1), date(2026, 12, 31))
    assert est.rule_version is not None
    assert (est.rule_version.payer_id, est.rule_version.version) == ("cedar-mutual", "2026.1")


def test_deductible_almost_met(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, accumulators=acc(295000, 295000, 4)))
    # Deductible left $3,000 - $2,950 = $50.00; coinsurance 10% x ($91.86 - $50.00 = $41.86)
    # = $4.186 -> $4.19 (half up); cost share $54.19; plan $91.86 - $54.19 = $37.67.
    assert_money(
        est, allowed=9186, deductible=5000, coinsurance=419, plan_pays=3767, patient_pays=5419
    )
    assert est.accumulators_after == acc(300000, 300419, 5)
    assert est.sessions_remaining == 25  # 30 - 5


def test_deductible_met(quoter: Quoter) -> None:
    est = quoter.estimate(MET)
    # 10% x $91.86 = $9.186 -> $9.19; plan $82.67.
    assert_money(est, allowed=9186, coinsurance=919, plan_pays=8267, patient_pays=919)


def test_90_minutes_six_units(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, minutes=90))
    # 90 min -> 6 units: $29.76 + 5 x $20.70 = $29.76 + $103.50 = $133.26;
    # 10% = $13.326 -> $13.33; plan $119.93.
    assert_covered(est, covered_units=6, billed_units=6)
    assert_money(est, allowed=13326, coinsurance=1333, plan_pays=11993, patient_pays=1333)


def test_100_minutes_one_unit_above_cap(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, minutes=100))
    # 100 min -> 6 blocks + 10 -> 7 units billed, 6 covered ($133.26, 10% $13.33, plan
    # $119.93); 1 unit x $40.00 not covered; patient $53.33.
    assert_covered(est, covered_units=6, billed_units=7)
    assert_money(
        est,
        allowed=13326,
        coinsurance=1333,
        not_covered=4000,
        plan_pays=11993,
        patient_pays=5333,
    )


def test_97140_reduced_later_units(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, session_type="lymphatic_drainage"))
    # $27.17 + 3 x $18.90 = $27.17 + $56.70 = $83.87; 10% = $8.387 -> $8.39; plan $75.48.
    assert est.cpt_code == "97140"
    assert_money(est, allowed=8387, coinsurance=839, plan_pays=7548, patient_pays=839)


def test_one_unit_is_first_unit_rate(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, minutes=15))
    # 1 unit x $29.76; 10% = $2.976 -> $2.98; plan $26.78.
    assert_covered(est, covered_units=1, billed_units=1)
    assert_money(est, allowed=2976, coinsurance=298, plan_pays=2678, patient_pays=298)


def test_no_referral_needed_but_one_given_is_fine(quoter: Quoter) -> None:
    est = quoter.estimate(
        replace(MET, referral_kind=ReferralKind.PRESCRIPTION, referral_date=date(2025, 1, 1))
    )
    # Even a 464-day-old prescription does not matter: no referral is required.
    assert_covered(est, covered_units=4, billed_units=4)
    assert est.missing == () or all(m.code != "PRESCRIPTION" for m in est.missing)


def test_out_of_pocket_max_caps_coinsurance(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, accumulators=acc(300000, 599900, 0)))
    # 10% x $91.86 = $9.19, capped at $6,000.00 - $5,999.00 = $1.00; plan $90.86.
    assert_money(est, allowed=9186, coinsurance=100, plan_pays=9086, patient_pays=100)
    assert est.accumulators_after == acc(300000, 600000, 1)


def test_not_qualifying_diagnosis_not_hsa_eligible(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, diagnosis_codes=("F41.1",)))
    assert_not_covered(est, "DIAGNOSIS_NOT_QUALIFYING")
    assert_money(est, allowed=0, not_covered=11000, plan_pays=0, patient_pays=11000)
    assert est.hsa_eligible is False


def test_relaxation_not_hsa_eligible(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, session_type="prenatal", minutes=45))
    # Relaxation 45-minute cash price $75.00.
    assert_not_covered(est, "SESSION_TYPE_NOT_COVERED")
    assert_money(est, allowed=0, not_covered=7500, plan_pays=0, patient_pays=7500)
    assert est.hsa_eligible is False


def test_31st_visit_limit_reached(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, accumulators=acc(300000, 300000, 30)))
    assert_not_covered(est, "VISIT_LIMIT_REACHED")
    assert_money(est, allowed=0, not_covered=11000, plan_pays=0, patient_pays=11000)


def test_out_of_network_unavailable(quoter: Quoter) -> None:
    # Cedar's file gives no out-of-network terms: unavailable, never a guessed $0.
    with pytest.raises(EstimateUnavailableError) as info:
        quoter.estimate(replace(MET, network=Network.OUT))
    assert info.value.reason == "NO_NETWORK_TERMS"
