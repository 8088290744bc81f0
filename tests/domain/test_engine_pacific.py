"""Pacific MA Chronic Pain (payer_rules/pacific-advantage), hand-computed.

Supplemental benefit; medical, deep tissue and myofascial sessions; no referral; diagnoses:
a code starting M54.5 and one starting G89.2 or G89.4, together; a flat $70.00 a visit for
up to 4 units (units above at the clinic's charge), $25.00 copay; out-of-pocket $5,000;
12 visits; prior authorization from visit 1, required for coverage; LMT only; out of network
not covered.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from service.domain.model import CoverageBasis, Network, SessionRequest
from service.domain.quoting import Quoter

from .expect import (
    acc,
    assert_covered,
    assert_money,
    assert_not_covered,
    missing_codes,
    reason_codes,
)

BASE = SessionRequest(
    plan_id="pacific-ma-chronic-pain",
    session_type="medical",
    minutes=60,
    date_of_service=date(2026, 9, 14),
    diagnosis_codes=("M54.50", "G89.29"),
    prior_authorization_on_file=True,
)


def test_covered_with_both_codes_and_an_authorization(quoter: Quoter) -> None:
    est = quoter.estimate(BASE)
    # Flat $70.00; copay $25.00; plan $45.00.
    assert_covered(est, covered_units=4, billed_units=4)
    assert est.coverage_basis is CoverageBasis.SUPPLEMENTAL_BENEFIT
    assert_money(est, allowed=7000, copay=2500, plan_pays=4500, patient_pays=2500)
    assert est.prior_authorization_required is True
    assert est.missing == ()
    (reason,) = [r for r in est.reasons if r.code == "PRIOR_AUTHORIZATION_REQUIRED"]
    assert reason.message == (
        "Pacific MA Chronic Pain requires prior authorization from visit 1 on; this is visit 1 "
        "and an authorization is on file."
    )


def test_without_an_authorization_the_visit_is_not_covered(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, prior_authorization_on_file=False))
    # Not covered: the therapeutic cash price for 60 minutes, $110.00 (not the $25.00 copay).
    assert_not_covered(est, "PRIOR_AUTHORIZATION_MISSING")
    assert_money(est, allowed=0, not_covered=11000, plan_pays=0, patient_pays=11000)
    assert est.prior_authorization_required is True
    assert missing_codes(est) == {"PRIOR_AUTHORIZATION"}
    (reason,) = [r for r in est.reasons if r.code == "PRIOR_AUTHORIZATION_MISSING"]
    assert reason.message == (
        "Pacific MA Chronic Pain covers visit 1 only with a prior authorization from Pacific "
        "Advantage, and none is on file."
    )
    assert (
        reason.rule_ref == "plans.pacific-ma-chronic-pain.prior_authorization.required_for_coverage"
    )
    assert est.accumulators_after == acc()


@pytest.mark.parametrize(
    ("codes", "covered"),
    [
        (("M54.50", "G89.29"), True),
        (("G89.4", "M54.59"), True),
        (("M54.50",), False),  # the site without the chronicity
        (("G89.29",), False),  # the chronicity without the site
        (("M54.2", "G89.29"), False),  # neck pain is not the low back
        (("M54.50", "G89.3"), False),  # neoplasm-related pain is not G89.2 or G89.4
    ],
)
def test_all_of_diagnoses(quoter: Quoter, codes: tuple[str, ...], covered: bool) -> None:
    est = quoter.estimate(replace(BASE, diagnosis_codes=codes))
    assert est.covered is covered


def test_a_failing_diagnosis_shows_no_authorization_at_all(quoter: Quoter) -> None:
    est = quoter.estimate(
        replace(BASE, diagnosis_codes=("M54.50",), prior_authorization_on_file=False)
    )
    assert_not_covered(est, "DIAGNOSIS_NOT_QUALIFYING")
    assert reason_codes(est) == {"DIAGNOSIS_NOT_QUALIFYING"}
    assert est.prior_authorization_required is False
    assert est.missing == ()
    (reason,) = est.reasons
    assert reason.message == (
        "Pacific MA Chronic Pain needs a diagnosis from each of its groups together; none of "
        "(M54.50) is from G89.2, G89.4."
    )


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"network": Network.OUT}, "NETWORK_NOT_COVERED"),
        ({"session_type": "swedish"}, "SESSION_TYPE_NOT_COVERED"),
        ({"accumulators": acc(0, 30000, 12)}, "VISIT_LIMIT_REACHED"),
    ],
)
def test_other_failures_show_no_authorization(quoter: Quoter, change: dict, code: str) -> None:  # type: ignore[type-arg]
    est = quoter.estimate(replace(BASE, prior_authorization_on_file=False, **change))
    assert_not_covered(est, code)
    assert "PRIOR_AUTHORIZATION_MISSING" not in reason_codes(est)
    assert "PRIOR_AUTHORIZATION_REQUIRED" not in reason_codes(est)
    assert est.prior_authorization_required is False
    assert est.missing == ()


def test_units_above_four_at_the_clinics_charge(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, minutes=75))
    # 5 units, 4 covered: flat $70.00, copay $25.00, plan $45.00; 1 unit x $40.00 above the
    # cap: $25.00 + $40.00 = $65.00.
    assert_covered(est, covered_units=4, billed_units=5)
    assert_money(est, allowed=7000, copay=2500, not_covered=4000, plan_pays=4500, patient_pays=6500)
