"""Engine edge cases found in review: dates at the end of the calendar, HSA reasons when a
session is not covered. Each case once answered wrongly or crashed (see the commit)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from service.domain.model import ReferralKind, SessionRequest
from service.domain.quoting import Quoter

from .expect import acc, reason_codes

ACME_LAST_DAY = SessionRequest(
    plan_id="acme-ppo-gold",  # 2027.1 is open-ended, so it covers 9999-12-31
    session_type="deep_tissue",
    minutes=53,
    date_of_service=date(9999, 12, 31),
    referral_kind=ReferralKind.PRESCRIPTION,
    referral_date=date(9999, 12, 30),
    diagnosis_codes=("M54.50",),
    accumulators=acc(45000, 45000, 3),
)


def test_referral_near_the_last_representable_date_is_checked_not_crashed(
    quoter: Quoter,
) -> None:
    # Issued one day before the visit: valid (90 days). Adding 90 days to 9999-12-30 to get
    # "valid through" overflows date; the check must compare the age instead.
    est = quoter.estimate(ACME_LAST_DAY)
    assert est.covered is True
    # 2027.1: 4 units x $33.00 = $132.00; deductible $600.00 with $450.00 met leaves
    # $150.00, so all $132.00 goes to the deductible.
    assert est.allowed_amount == 13200
    assert est.patient_cost.deductible == 13200


def test_expired_referral_near_the_last_date_still_says_through_when(quoter: Quoter) -> None:
    est = quoter.estimate(replace(ACME_LAST_DAY, referral_date=date(9999, 9, 1)))
    # 9999-09-01 + 90 days = 9999-11-30 < 9999-12-31: expired.
    assert est.covered is False
    assert "REFERRAL_EXPIRED" in reason_codes(est)
    assert any("through 9999-11-30" in r.message for r in est.reasons)


def test_hsa_eligible_session_that_is_not_covered_still_says_why(quoter: Quoter) -> None:
    # Cedar's 30 visits are used: not covered, priced at the $110.00 cash price. The session
    # still treats a qualifying diagnosis with a covered type, so hsa_eligible is true
    # (docs/cost-rules.md §7), and a reason must say the HSA needs a letter of medical
    # necessity; before, the flag was set with no reason at all.
    est = quoter.estimate(
        SessionRequest(
            plan_id="cedar-hdhp-hsa",
            session_type="deep_tissue",
            minutes=60,
            date_of_service=date(2026, 4, 10),
            diagnosis_codes=("M54.50",),
            accumulators=acc(0, 0, 30),
        )
    )
    assert est.covered is False
    assert est.patient_pays == 11000
    assert est.hsa_eligible is True
    assert "HSA_ELIGIBLE" in reason_codes(est)
    assert any("letter of medical necessity" in r.message for r in est.reasons)
