"""Birch HDHP Copay (payer_rules/birch-health), hand-computed.

Calendar year; no referral; diagnoses M54, M62, M79, G89; CMS units, at most 4 a visit. In
network 97124 $30.00, 97140 $28.00; deductible $1,600 / $3,200 family, then a $30.00 copay
after the deductible; out-of-pocket $4,000 / $8,000. Out of network 97124 $24.00, 97140
$22.00; deductible $3,200 / $6,400, then 40%; out-of-pocket $10,000 / $20,000; balance
billing; the networks' totals are separate. The same day as 98940-98942 the allowed amount
is 50%. 30 visits; LMT, PT or chiropractor; HSA eligible.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from service.domain.model import (
    LineItemKind,
    Network,
    NetworkTotals,
    ProviderCredential,
    SessionRequest,
)
from service.domain.quoting import Quoter

from .expect import acc, assert_covered, assert_money, assert_not_covered, reason_codes

BASE = SessionRequest(
    plan_id="birch-hdhp-copay",
    session_type="deep_tissue",
    minutes=60,
    date_of_service=date(2026, 6, 8),
    diagnosis_codes=("M62.830",),
)
MET = acc(160000, 160000, 10)


def _lines(est) -> list[tuple[str, int, str]]:  # type: ignore[no-untyped-def]
    return [(i.kind.value, i.amount, i.description) for i in est.line_items]


def test_inside_the_deductible_the_member_pays_the_allowed_amount(quoter: Quoter) -> None:
    est = quoter.estimate(BASE)
    # 4 units x $30.00 = $120.00, all to the $1,600.00 deductible; the copay comes after
    # the deductible, and nothing of the allowed amount is left for it.
    assert_covered(est, covered_units=4, billed_units=4)
    assert_money(est, allowed=12000, deductible=12000, plan_pays=0, patient_pays=12000)
    assert _lines(est)[1:3] == [
        ("deductible", 12000, "deductible: $1,600.00 of $1,600.00 left before this visit"),
        (
            "copay",
            0,
            "copay $30.00 per visit after the deductible (limited to what the deductible leaves "
            "of the allowed amount)",
        ),
    ]
    assert est.hsa_eligible is True


def test_the_visit_that_crosses_the_deductible_into_the_copay(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, accumulators=acc(155000, 155000, 9)))
    # Deductible left $1,600 - $1,550 = $50.00: deductible part $50.00; the copay on what is
    # left, min($30.00, $120.00 - $50.00 = $70.00) = $30.00; share $80.00; plan $40.00.
    assert_money(est, allowed=12000, deductible=5000, copay=3000, plan_pays=4000, patient_pays=8000)
    assert est.accumulators_after == acc(160000, 163000, 10)


def test_after_the_deductible_only_the_copay(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, accumulators=MET))
    # Deductible met: $0.00; copay $30.00; plan $90.00.
    assert_money(est, allowed=12000, copay=3000, plan_pays=9000, patient_pays=3000)


def test_the_out_of_pocket_cap_goes_to_the_deductible_first(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, accumulators=acc(155000, 396000, 9)))
    # Parts as charged: deductible $50.00, then copay $30.00 = $80.00; room $4,000 - $3,960
    # = $40.00 goes to the deductible first: $40.00 deductible, $0.00 copay; plan $80.00.
    assert_money(est, allowed=12000, deductible=4000, plan_pays=8000, patient_pays=4000)
    assert "OUT_OF_POCKET_MAX_REACHED" in reason_codes(est)
    copay = [i for i in est.line_items if i.kind is LineItemKind.COPAY]
    assert copay[0].description.endswith("(limited by the out-of-pocket maximum)")


def test_family_deductible_crosses_first(quoter: Quoter) -> None:
    family = acc(100000, 100000, 6, family_deductible_met=315000, family_out_of_pocket_met=315000)
    est = quoter.estimate(replace(BASE, accumulators=family))
    # The member has $600.00 left, the family $3,200 - $3,150 = $50.00: deductible $50.00,
    # copay min($30.00, $70.00) = $30.00; plan $40.00.
    assert_money(est, allowed=12000, deductible=5000, copay=3000, plan_pays=4000, patient_pays=8000)


def test_same_day_as_chiropractic_manipulation_is_allowed_at_half(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, accumulators=MET, same_day_procedure_codes=("98941",)))
    # Full $120.00, 50% = $60.00 allowed; copay $30.00; plan $30.00.
    assert_money(est, allowed=6000, reduction=-6000, copay=3000, plan_pays=3000, patient_pays=3000)
    assert (
        "reduction",
        -6000,
        "same-day reduction: 50% of $120.00 allowed, because 98941 is billed the same day",
    ) in _lines(est)
    (item,) = [i for i in est.line_items if i.kind is LineItemKind.REDUCTION]
    assert item.rule_ref == "plans.birch-hdhp-copay.same_day_reductions[#1]"
    assert "SAME_DAY_REDUCTION" in reason_codes(est)
    # Another same-day code (a physical therapy evaluation) reduces nothing.
    other = quoter.estimate(replace(BASE, accumulators=MET, same_day_procedure_codes=("97161",)))
    assert other.allowed_amount == 12000


def test_same_day_reduction_out_of_network_with_balance_billing(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, network=Network.OUT, same_day_procedure_codes=("98940",)))
    # Out of network 4 x $24.00 = $96.00, 50% = $48.00; all to the $3,200.00 deductible;
    # balance billing: the clinic's 4 x $40.00 = $160.00 - $48.00 = $112.00. $48 + $112.
    assert_money(
        est,
        allowed=4800,
        reduction=-4800,
        deductible=4800,
        balance_billing=11200,
        plan_pays=0,
        patient_pays=16000,
    )


def test_networks_are_counted_apart(quoter: Quoter) -> None:
    other = NetworkTotals(deductible_met=320000, out_of_pocket_met=320000)
    est = quoter.estimate(replace(BASE, other_network=other))
    # Separate: the $3,200.00 met out of network does not count in network: $120.00 to the
    # in-network deductible, as with nothing met.
    assert_money(est, allowed=12000, deductible=12000, plan_pays=0, patient_pays=12000)


def test_out_of_network_coinsurance_after_its_own_deductible(quoter: Quoter) -> None:
    est = quoter.estimate(
        replace(
            BASE,
            network=Network.OUT,
            session_type="myofascial",
            accumulators=acc(320000, 320000, 3),
        )
    )
    # 4 x $22.00 = $88.00; deductible met; 40% = $35.20; plan $52.80; balance billing
    # $160.00 - $88.00 = $72.00; $35.20 + $72.00 = $107.20.
    assert_money(
        est,
        allowed=8800,
        coinsurance=3520,
        balance_billing=7200,
        plan_pays=5280,
        patient_pays=10720,
    )


def test_a_physician_is_not_an_eligible_provider(quoter: Quoter) -> None:
    est = quoter.estimate(replace(BASE, provider=ProviderCredential.MD_DO))
    assert_not_covered(est, "PROVIDER_NOT_ELIGIBLE")
    # The therapeutic cash price for 60 minutes; the HSA can still pay it.
    assert_money(est, allowed=0, not_covered=11000, plan_pays=0, patient_pays=11000)
    assert est.hsa_eligible is True
    assert quoter.estimate(replace(BASE, provider=ProviderCredential.DC)).covered is True


def test_treatment_plan_same_day_codes_apply_to_the_first_session_only(quoter: Quoter) -> None:
    template = replace(BASE, accumulators=MET, same_day_procedure_codes=("98940",))
    plan = quoter.treatment_plan(template, [date(2026, 6, 8), date(2026, 6, 15)])
    first, second = plan.sessions
    # First: $60.00 allowed (half), copay $30.00, plan $30.00; second: $120.00, plan $90.00.
    assert (first.allowed_amount, first.plan_pays) == (6000, 3000)
    assert (second.allowed_amount, second.plan_pays) == (12000, 9000)
