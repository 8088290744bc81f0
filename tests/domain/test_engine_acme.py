"""Acme PPO Gold (payer_rules/acme-health), hand-computed against issue 2 and cost-rules.md.

2026 in network: CMS 8-minute units, at most 4 covered; $31.00/unit 97124, $29.00 97140;
deductible $500.00 (applies), then 20% coinsurance, out-of-pocket max $3,000.00.
Out of network: $25.00 / $24.00, deductible $1,000.00, 40%, max $6,000.00, balance billing.
20 visits per calendar year; prior authorization from the 13th visit. Clinic charge $40.00/unit.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from service.domain.engine import estimate_session
from service.domain.index import RuleIndex
from service.domain.model import (
    Clinic,
    CoverageBasis,
    Injury,
    Network,
    ReferralKind,
    SessionRequest,
    UnitMethod,
)
from service.domain.quoting import Quoter

from .expect import acc, assert_covered, assert_money, assert_not_covered, missing_codes

PLAN = "acme-ppo-gold"

# The CLI example of issue 2: deep_tissue (97124) 53 minutes, prescription 2026-02-01
# (30 days before 2026-03-03: Feb has 28 days in 2026), M54.50, deductible met $450.00,
# out-of-pocket met $450.00, 3 visits used.
CLI_EXAMPLE = SessionRequest(
    plan_id=PLAN,
    session_type="deep_tissue",
    minutes=53,
    date_of_service=date(2026, 3, 3),
    referral_kind=ReferralKind.PRESCRIPTION,
    referral_date=date(2026, 2, 1),
    diagnosis_codes=("M54.50",),
    network=Network.IN,
    injury=Injury.NONE,
    accumulators=acc(45000, 45000, 3),
)
# Deductible fully met, nothing else special: 60 minutes deep tissue.
MET = replace(CLI_EXAMPLE, minutes=60, accumulators=acc(50000, 50000, 0))


def test_cli_example(quoter: Quoter) -> None:
    est = quoter.estimate(CLI_EXAMPLE)
    # 53 min -> 3 blocks + 8 -> 4 units (cap 4). 4 x $31.00 = $124.00 allowed.
    # Deductible left $500.00 - $450.00 = $50.00 -> deductible $50.00.
    # Coinsurance 20% x ($124.00 - $50.00 = $74.00) = $14.80.
    # Cost share $64.80 <= max left $3,000.00 - $450.00 = $2,550.00: no cap.
    # Plan pays $124.00 - $64.80 = $59.20.
    assert_covered(est, covered_units=4, billed_units=4)
    assert est.cpt_code == "97124"
    assert est.unit_method is UnitMethod.CMS_8_MINUTE
    assert est.coverage_basis is CoverageBasis.MEDICAL_NECESSITY
    assert_money(
        est, allowed=12400, deductible=5000, coinsurance=1480, plan_pays=5920, patient_pays=6480
    )
    # Visit 4 of 20: 16 left; prior authorization only from visit 13.
    assert est.sessions_remaining == 16
    assert est.visit_limit == 20
    assert set(est.visit_limit_shared_with) >= {"chiropractic", "acupuncture"}
    assert est.prior_authorization_required is False
    assert est.missing == ()
    assert est.hsa_eligible is False
    # Accumulators: deductible $450 + $50 = $500.00; OOP $450 + $64.80 = $514.80; visits 4.
    assert est.accumulators_after == acc(50000, 51480, 4)
    assert est.benefit_period == (date(2026, 1, 1), date(2026, 12, 31))
    # Clinic charge 4 units x $40.00 = $160.00.
    assert est.clinic_charge == 16000
    assert est.rule_version is not None
    assert (est.rule_version.payer_id, est.rule_version.version) == ("acme-health", "2026.1")
    assert est.rule_version.effective_from == date(2026, 1, 1)
    assert est.rule_version.effective_to == date(2026, 12, 31)


def test_engine_directly_matches_cli_example(index: RuleIndex, clinic: Clinic) -> None:
    # The pure engine with the resolved version gives the same figures as above.
    version, plan = index.resolve(PLAN, date(2026, 3, 3))
    est = estimate_session(CLI_EXAMPLE, plan, version, clinic)
    assert_money(
        est, allowed=12400, deductible=5000, coinsurance=1480, plan_pays=5920, patient_pays=6480
    )


def test_deductible_not_met_at_all(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, accumulators=acc(0, 0, 0)))
    # 60 min -> 4 units x $31.00 = $124.00; deductible left $500.00 >= $124.00:
    # all $124.00 to the deductible, coinsurance 20% x $0 = $0, plan pays $0.
    assert_covered(est, covered_units=4, billed_units=4)
    assert_money(est, allowed=12400, deductible=12400, plan_pays=0, patient_pays=12400)
    # A visit paid inside the deductible still uses the visit: 20 - 1 = 19 left.
    assert est.sessions_remaining == 19
    assert est.accumulators_after == acc(12400, 12400, 1)


def test_deductible_fully_met(quoter: Quoter) -> None:
    est = quoter.estimate(MET)
    # $124.00 allowed; deductible left $0; 20% x $124.00 = $24.80; plan $99.20.
    assert_covered(est, covered_units=4, billed_units=4)
    assert_money(est, allowed=12400, coinsurance=2480, plan_pays=9920, patient_pays=2480)
    assert est.sessions_remaining == 19
    assert est.accumulators_after == acc(50000, 52480, 1)


def test_myofascial_bills_97140(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, session_type="myofascial"))
    # 4 units x $29.00 = $116.00; 20% = $23.20; plan $92.80.
    assert_covered(est, covered_units=4, billed_units=4)
    assert est.cpt_code == "97140"
    assert_money(est, allowed=11600, coinsurance=2320, plan_pays=9280, patient_pays=2320)


def test_75_minutes_one_unit_above_cap(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, minutes=75))
    # 75 min -> 5 blocks -> 5 billed units, 4 covered. Allowed 4 x $31.00 = $124.00,
    # 20% = $24.80, plan $99.20; 1 unit above the cap at the clinic's $40.00, outside the
    # deductible and maximum. Patient $24.80 + $40.00 = $64.80.
    assert_covered(est, covered_units=4, billed_units=5)
    assert_money(
        est,
        allowed=12400,
        coinsurance=2480,
        not_covered=4000,
        plan_pays=9920,
        patient_pays=6480,
    )
    # The not-covered unit counts toward neither deductible nor maximum: OOP $500 + $24.80.
    assert est.accumulators_after == acc(50000, 52480, 1)
    # Clinic charge 5 x $40.00 = $200.00.
    assert est.clinic_charge == 20000


def test_out_of_pocket_max_cap_bites_in_deductible(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, accumulators=acc(40000, 295000, 0)))
    # Allowed $124.00. Deductible left $500 - $400 = $100.00 -> $100.00; coinsurance
    # 20% x $24.00 = $4.80; cost share would be $104.80 but the maximum has only
    # $3,000.00 - $2,950.00 = $50.00 left. Room goes to the deductible first: deductible
    # $50.00, coinsurance $0. Plan pays $124.00 - $50.00 = $74.00.
    assert_covered(est, covered_units=4, billed_units=4)
    assert_money(est, allowed=12400, deductible=5000, plan_pays=7400, patient_pays=5000)
    assert "OUT_OF_POCKET_MAX_REACHED" in {r.code for r in est.reasons}
    # §5: deductible met += the deductible part charged ($50.00) -> $450.00;
    # OOP met $2,950.00 + $50.00 = $3,000.00.
    assert est.accumulators_after == acc(45000, 300000, 1)


def test_out_of_pocket_max_cap_bites_in_coinsurance(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, accumulators=acc(50000, 299000, 0)))
    # Deductible met; coinsurance 20% x $124.00 = $24.80, capped at $3,000 - $2,990 = $10.00.
    # Plan pays $124.00 - $10.00 = $114.00.
    assert_money(est, allowed=12400, coinsurance=1000, plan_pays=11400, patient_pays=1000)
    assert "OUT_OF_POCKET_MAX_REACHED" in {r.code for r in est.reasons}
    assert est.accumulators_after == acc(50000, 300000, 1)


def test_out_of_pocket_max_already_met_plan_pays_all(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, minutes=75, accumulators=acc(50000, 300000, 0)))
    # Maximum left $0: cost share $0, plan pays the whole $124.00; the unit above the cap
    # ($40.00) is outside the maximum and still paid by the patient.
    assert_money(est, allowed=12400, not_covered=4000, plan_pays=12400, patient_pays=4000)


def test_12th_visit_needs_no_prior_authorization(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, accumulators=acc(50000, 50000, 11)))
    # Visit number 11 + 1 = 12 < 13.
    assert est.prior_authorization_required is False
    assert est.sessions_remaining == 8  # 20 - 12


def test_13th_visit_needs_prior_authorization(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, accumulators=acc(50000, 50000, 12)))
    # Visit number 12 + 1 = 13 >= 13: required, and missing until on file. The estimate still
    # shows what the plan pays once granted: $24.80 / $99.20.
    assert est.prior_authorization_required is True
    assert "PRIOR_AUTHORIZATION" in missing_codes(est)
    assert_covered(est, covered_units=4, billed_units=4)
    assert_money(est, allowed=12400, coinsurance=2480, plan_pays=9920, patient_pays=2480)
    assert est.sessions_remaining == 7  # 20 - 13
    assert est.accumulators_after == acc(50000, 52480, 13)


def test_13th_visit_with_prior_authorization_on_file(quoter: Quoter) -> None:
    est = quoter.estimate(
        replace(MET, accumulators=acc(50000, 50000, 12), prior_authorization_on_file=True)
    )
    assert est.prior_authorization_required is True
    assert "PRIOR_AUTHORIZATION" not in missing_codes(est)
    assert est.missing == ()


def test_20th_visit_is_the_last_covered(quoter: Quoter) -> None:
    est = quoter.estimate(
        replace(MET, accumulators=acc(50000, 50000, 19), prior_authorization_on_file=True)
    )
    assert_covered(est, covered_units=4, billed_units=4)
    assert est.sessions_remaining == 0  # 20 - 20


def test_visit_limit_reached_cash_price(quoter: Quoter) -> None:
    est = quoter.estimate(
        replace(MET, accumulators=acc(50000, 50000, 20), prior_authorization_on_file=True)
    )
    # 20 of 20 used: not covered; the therapeutic 60-minute cash price $110.00.
    assert_not_covered(est, "VISIT_LIMIT_REACHED")
    assert_money(est, allowed=0, not_covered=11000, plan_pays=0, patient_pays=11000)
    assert est.billed_units == 4
    assert est.sessions_remaining == 0
    # A session that is not covered uses no visit and counts toward nothing.
    assert est.accumulators_after == acc(50000, 50000, 20)
    assert est.clinic_charge == 11000


def test_relaxation_type_not_covered(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, session_type="swedish", accumulators=acc(50000, 50000, 3)))
    # Swedish is in the relaxation group: not covered; relaxation 60-minute cash $95.00.
    assert_not_covered(est, "SESSION_TYPE_NOT_COVERED")
    assert_money(est, allowed=0, not_covered=9500, plan_pays=0, patient_pays=9500)
    assert est.cpt_code == "97124"
    # No visit used: 20 - 3 = 17 remain.
    assert est.sessions_remaining == 17
    assert est.accumulators_after == acc(50000, 50000, 3)


@pytest.mark.parametrize("injury", [Injury.AUTO, Injury.WORK])
def test_injury_excluded(quoter: Quoter, injury: Injury) -> None:
    est = quoter.estimate(replace(MET, injury=injury))
    # Auto and work injuries are excluded: therapeutic 60 min cash $110.00.
    assert_not_covered(est, "INJURY_EXCLUDED")
    assert_money(est, allowed=0, not_covered=11000, plan_pays=0, patient_pays=11000)


def test_no_referral(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, referral_kind=ReferralKind.NONE, referral_date=None))
    assert_not_covered(est, "REFERRAL_MISSING")
    assert missing_codes(est) & {"PRESCRIPTION", "REFERRAL"}
    assert_money(est, allowed=0, not_covered=11000, plan_pays=0, patient_pays=11000)


def test_physician_referral_is_accepted(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, referral_kind=ReferralKind.PHYSICIAN_REFERRAL))
    assert_covered(est, covered_units=4, billed_units=4)
    assert_money(est, allowed=12400, coinsurance=2480, plan_pays=9920, patient_pays=2480)


def test_integrative_care_plan_is_not_an_acme_referral(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, referral_kind=ReferralKind.INTEGRATIVE_CARE_PLAN))
    assert_not_covered(est, "REFERRAL_MISSING")


def test_referral_91_days_old_expired(quoter: Quoter) -> None:
    # 2026-03-03 back 90 days: to 2026-02-01 is 30, to 2026-01-01 is 61, to 2025-12-03 is 90;
    # 2025-12-02 is 91 days before: expired.
    est = quoter.estimate(replace(MET, referral_date=date(2025, 12, 2)))
    assert_not_covered(est, "REFERRAL_EXPIRED")
    assert missing_codes(est) & {"PRESCRIPTION", "REFERRAL"}
    assert_money(est, allowed=0, not_covered=11000, plan_pays=0, patient_pays=11000)


def test_referral_exactly_90_days_old_valid(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, referral_date=date(2025, 12, 3)))  # 90 days before
    assert_covered(est, covered_units=4, billed_units=4)
    assert_money(est, allowed=12400, coinsurance=2480, plan_pays=9920, patient_pays=2480)


def test_referral_issued_on_date_of_service_valid(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, referral_date=date(2026, 3, 3)))
    assert_covered(est, covered_units=4, billed_units=4)


def test_anxiety_diagnosis_not_qualifying(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, diagnosis_codes=("F41.1",)))
    assert_not_covered(est, "DIAGNOSIS_NOT_QUALIFYING")
    assert_money(est, allowed=0, not_covered=11000, plan_pays=0, patient_pays=11000)


def test_no_diagnosis(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, diagnosis_codes=()))
    assert_not_covered(est, "NO_DIAGNOSIS")


def test_one_qualifying_code_among_several_is_enough(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, diagnosis_codes=("F41.1", "M54.2")))
    assert_covered(est, covered_units=4, billed_units=4)


def test_every_failing_check_is_reported(quoter: Quoter) -> None:
    est = quoter.estimate(
        replace(
            MET,
            session_type="swedish",
            injury=Injury.AUTO,
            referral_kind=ReferralKind.NONE,
            referral_date=None,
            diagnosis_codes=("F41.1",),
            accumulators=acc(50000, 50000, 20),
        )
    )
    assert_not_covered(
        est,
        "SESSION_TYPE_NOT_COVERED",
        "INJURY_EXCLUDED",
        "REFERRAL_MISSING",
        "DIAGNOSIS_NOT_QUALIFYING",
        "VISIT_LIMIT_REACHED",
    )
    # Relaxation 60 min cash $95.00.
    assert_money(est, allowed=0, not_covered=9500, plan_pays=0, patient_pays=9500)


def test_7_minutes_no_billable_units(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, minutes=7))
    # 7 min -> 0 units: not covered; shortest cash length >= 7 is 30 min: $65.00.
    assert_not_covered(est, "NO_BILLABLE_UNITS")
    assert est.billed_units == 0
    assert_money(est, allowed=0, not_covered=6500, plan_pays=0, patient_pays=6500)


def test_8_minutes_one_unit(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, minutes=8))
    # 1 unit x $31.00; 20% = $6.20; plan $24.80.
    assert_covered(est, covered_units=1, billed_units=1)
    assert_money(est, allowed=3100, coinsurance=620, plan_pays=2480, patient_pays=620)


# ------------------------------------------------------------------ out of network (2026)


def test_out_of_network_deductible_not_met(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, network=Network.OUT, accumulators=acc(0, 0, 0)))
    # OON allowed 4 x $25.00 = $100.00, all to the $1,000.00 deductible; plan $0.
    # Balance billing 4 x $40.00 - $100.00 = $60.00, outside the deductible and maximum.
    assert_covered(est, covered_units=4, billed_units=4)
    assert_money(
        est,
        allowed=10000,
        deductible=10000,
        balance_billing=6000,
        plan_pays=0,
        patient_pays=16000,
    )
    assert est.accumulators_after == acc(10000, 10000, 1)
    assert est.sessions_remaining == 19


def test_out_of_network_deductible_met(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, network=Network.OUT, accumulators=acc(100000, 100000, 0)))
    # $100.00 allowed; 40% = $40.00; plan $60.00; balance billing ($40 - $25) x 4 = $60.00.
    assert_money(
        est,
        allowed=10000,
        coinsurance=4000,
        balance_billing=6000,
        plan_pays=6000,
        patient_pays=10000,
    )
    # Balance billing does not count toward the maximum: OOP $1,000 + $40 only.
    assert est.accumulators_after == acc(100000, 104000, 1)


def test_out_of_network_deductible_partly_met(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, network=Network.OUT, accumulators=acc(95000, 95000, 0)))
    # Deductible left $1,000 - $950 = $50.00; 40% x ($100 - $50) = $20.00; cost share $70.00;
    # plan $30.00; balance billing $60.00; patient $130.00.
    assert_money(
        est,
        allowed=10000,
        deductible=5000,
        coinsurance=2000,
        balance_billing=6000,
        plan_pays=3000,
        patient_pays=13000,
    )


def test_out_of_network_97140(quoter: Quoter) -> None:
    est = quoter.estimate(
        replace(
            MET,
            session_type="trigger_point",
            network=Network.OUT,
            accumulators=acc(100000, 100000, 0),
        )
    )
    # 4 x $24.00 = $96.00; 40% = $38.40; plan $57.60; balance 4 x $40 - $96 = $64.00.
    assert_money(
        est,
        allowed=9600,
        coinsurance=3840,
        balance_billing=6400,
        plan_pays=5760,
        patient_pays=10240,
    )


def test_out_of_network_75_minutes(quoter: Quoter) -> None:
    est = quoter.estimate(
        replace(MET, minutes=75, network=Network.OUT, accumulators=acc(100000, 100000, 0))
    )
    # 5 billed, 4 covered: allowed $100.00, 40% $40.00, plan $60.00; balance billing on the
    # 4 covered units ($160 - $100 = $60.00); 1 unit above the cap $40.00 not covered.
    assert_covered(est, covered_units=4, billed_units=5)
    assert_money(
        est,
        allowed=10000,
        coinsurance=4000,
        balance_billing=6000,
        not_covered=4000,
        plan_pays=6000,
        patient_pays=14000,
    )


def test_out_of_network_maximum_caps_cost_share_not_balance_billing(quoter: Quoter) -> None:
    est = quoter.estimate(replace(MET, network=Network.OUT, accumulators=acc(100000, 599000, 0)))
    # 40% x $100 = $40.00 capped at $6,000 - $5,990 = $10.00; plan $90.00; balance billing
    # $60.00 is outside the maximum; patient $70.00.
    assert_money(
        est,
        allowed=10000,
        coinsurance=1000,
        balance_billing=6000,
        plan_pays=9000,
        patient_pays=7000,
    )


# ------------------------------------------------------------------ 2027 version


ACME_2027 = replace(
    MET,
    date_of_service=date(2027, 2, 1),
    referral_date=date(2027, 1, 15),
    accumulators=acc(0, 0, 0),
)


def test_2027_version_deductible_not_met(quoter: Quoter) -> None:
    est = quoter.estimate(ACME_2027)
    # 2027 rates: 4 x $33.00 = $132.00, all to the $600.00 deductible.
    assert_covered(est, covered_units=4, billed_units=4)
    assert_money(est, allowed=13200, deductible=13200, plan_pays=0, patient_pays=13200)
    # 24 visits in 2027: 24 - 1 = 23 left.
    assert est.visit_limit == 24
    assert est.sessions_remaining == 23
    assert est.benefit_period == (date(2027, 1, 1), date(2027, 12, 31))
    assert est.rule_version is not None
    assert (est.rule_version.payer_id, est.rule_version.version) == ("acme-health", "2027.1")
    assert est.rule_version.effective_from == date(2027, 1, 1)
    assert est.rule_version.effective_to is None


def test_2027_version_deductible_partly_met(quoter: Quoter) -> None:
    est = quoter.estimate(replace(ACME_2027, accumulators=acc(55000, 55000, 0)))
    # Deductible left $600 - $550 = $50.00; 20% x ($132 - $50 = $82) = $16.40; cost share
    # $66.40; plan $65.60.
    assert_money(
        est, allowed=13200, deductible=5000, coinsurance=1640, plan_pays=6560, patient_pays=6640
    )
    assert est.accumulators_after == acc(60000, 61640, 1)


def test_2027_version_97140(quoter: Quoter) -> None:
    est = quoter.estimate(
        replace(ACME_2027, session_type="myofascial", accumulators=acc(60000, 60000, 0))
    )
    # 4 x $30.50 = $122.00; 20% = $24.40; plan $97.60.
    assert_money(est, allowed=12200, coinsurance=2440, plan_pays=9760, patient_pays=2440)


def test_2027_visit_21_still_covered(quoter: Quoter) -> None:
    est = quoter.estimate(
        replace(ACME_2027, accumulators=acc(60000, 60000, 20), prior_authorization_on_file=True)
    )
    # 2026 would stop at 20; 2027 allows 24: visit 21 covered, 24 - 21 = 3 left.
    assert_covered(est, covered_units=4, billed_units=4)
    assert est.sessions_remaining == 3
    assert est.prior_authorization_required is True  # visit 21 >= 13


def test_last_day_of_2026_uses_2026_rates(quoter: Quoter) -> None:
    est = quoter.estimate(
        replace(MET, date_of_service=date(2026, 12, 31), referral_date=date(2026, 12, 1))
    )
    # $124.00 at 2026 rates; 20% = $24.80.
    assert_money(est, allowed=12400, coinsurance=2480, plan_pays=9920, patient_pays=2480)
    assert est.rule_version is not None and est.rule_version.version == "2026.1"
