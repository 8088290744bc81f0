"""Assertion helpers for hand-computed estimates.

They only compare: every expected figure is written by the test as a literal, with its
arithmetic in a comment, never taken from the engine.
"""

from __future__ import annotations

from collections import defaultdict

from service.domain.model import Accumulators, Estimate, LineItemKind

# Reason codes of the coverage checks (docs/cost-rules.md §2); a covered estimate has none.
FAILING_CODES = frozenset(
    {
        "NETWORK_NOT_COVERED",
        "SESSION_TYPE_NOT_COVERED",
        "INJURY_EXCLUDED",
        "DIAGNOSIS_NOT_QUALIFYING",
        "NO_DIAGNOSIS",
        "REFERRAL_MISSING",
        "REFERRAL_EXPIRED",
        "VISIT_LIMIT_REACHED",
        "NO_BILLABLE_UNITS",
        "PROVIDER_NOT_ELIGIBLE",
        "BENEFIT_MAXIMUM_REACHED",
        "DAILY_UNIT_LIMIT_REACHED",
        "PRIOR_AUTHORIZATION_MISSING",
    }
)


def acc(
    deductible_met: int = 0,
    out_of_pocket_met: int = 0,
    visits_used: int = 0,
    *,
    family_deductible_met: int | None = None,
    family_out_of_pocket_met: int | None = None,
    benefit_paid: int = 0,
) -> Accumulators:
    """Accumulators in cents (shorter to read in tables of cases)."""
    return Accumulators(
        deductible_met,
        out_of_pocket_met,
        visits_used,
        family_deductible_met,
        family_out_of_pocket_met,
        benefit_paid,
    )


def reason_codes(est: Estimate) -> set[str]:
    return {r.code for r in est.reasons}


def missing_codes(est: Estimate) -> set[str]:
    return {m.code for m in est.missing}


def line_totals(est: Estimate) -> dict[LineItemKind, int]:
    """Sum of line-item amounts per kind, leaving out kinds that add up to zero."""
    sums: dict[LineItemKind, int] = defaultdict(int)
    for item in est.line_items:
        sums[item.kind] += item.amount
    return {kind: amount for kind, amount in sums.items() if amount}


def assert_money(
    est: Estimate,
    *,
    allowed: int,
    plan_pays: int,
    patient_pays: int,
    copay: int = 0,
    deductible: int = 0,
    coinsurance: int = 0,
    not_covered: int = 0,
    balance_billing: int = 0,
    reduction: int = 0,
) -> None:
    """Every money figure of an estimate, and the line items that carry them. `reduction` is
    the (negative) reduction line: the allowed lines then add up to allowed - reduction."""
    pc = est.patient_cost
    assert (
        pc.copay,
        pc.deductible,
        pc.coinsurance,
        pc.not_covered,
        pc.balance_billing,
    ) == (copay, deductible, coinsurance, not_covered, balance_billing)
    assert est.allowed_amount == allowed
    assert est.plan_pays == plan_pays
    assert est.patient_pays == patient_pays
    # The test's own literals must be consistent too (catches typos in the expectations).
    assert copay + deductible + coinsurance + not_covered + balance_billing == patient_pays
    expected_lines = {
        LineItemKind.ALLOWED: allowed - reduction,
        LineItemKind.REDUCTION: reduction,
        LineItemKind.PLAN_PAYMENT: plan_pays,
        LineItemKind.COPAY: copay,
        LineItemKind.DEDUCTIBLE: deductible,
        LineItemKind.COINSURANCE: coinsurance,
        LineItemKind.NOT_COVERED: not_covered,
        LineItemKind.BALANCE_BILLING: balance_billing,
    }
    assert line_totals(est) == {k: v for k, v in expected_lines.items() if v}
    for item in est.line_items:
        if item.amount:
            assert item.rule_ref, f"line item {item} names no rule row"


def assert_covered(est: Estimate, covered_units: int, billed_units: int) -> None:
    assert est.covered is True
    assert not reason_codes(est) & FAILING_CODES, est.reasons
    assert est.billed_units == billed_units
    assert est.covered_units == covered_units


def assert_not_covered(est: Estimate, *codes: str) -> None:
    """Not covered for (at least) these reasons: no covered units, the plan pays nothing."""
    assert est.covered is False
    assert set(codes) <= reason_codes(est), est.reasons
    assert est.covered_units == 0
    assert est.allowed_amount == 0
    assert est.plan_pays == 0
