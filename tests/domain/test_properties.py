"""Invariants of every estimate, over random requests on the sample plans (hypothesis).

The requests start from a valid template per plan and then vary each input, so most
examples are covered sessions (where the arithmetic is) and the rest exercise every
not-covered path. Requests the service cannot price (no out-of-network terms, no cash price
past 120 minutes) raise EstimateUnavailableError and are skipped: that is the specified
answer, and the invariants are about the answers given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.domain.errors import EstimateUnavailableError
from service.domain.index import RuleIndex
from service.domain.model import (
    Accumulators,
    Estimate,
    Injury,
    Network,
    NetworkTerms,
    PlanRules,
    ReferralKind,
    SessionRequest,
)
from service.domain.quoting import Quoter

PLANS = ["acme-ppo-gold", "contoso-hmo-silver", "cedar-hdhp-hsa", "summit-ma-plus", "self-pay"]
SESSION_TYPES = [
    "swedish", "hot_stone", "prenatal",
    "medical", "deep_tissue", "sports", "myofascial", "trigger_point", "lymphatic_drainage",
]  # fmt: skip
THERAPEUTIC = ["medical", "deep_tissue", "myofascial"]  # covered by every sample plan
DIAGNOSES = ["M54.50", "M54.2", "M79.7", "M17.11", "S33.5XXA", "F41.1", "F32.A", "Z00.00"]
CHARGE_PER_UNIT = 4000  # the clinic's $40.00 for both codes (payer_rules/clinic.yaml)
FIRST_DAY = date(2026, 7, 1)  # every sample plan has a version from here on


def half_up(amount: Decimal) -> int:
    """Round a non-negative amount of cents half up: floor(x + 1/2), written out again."""
    return int((amount + Decimal("0.5")).to_integral_value(rounding=ROUND_FLOOR))


def expected_allowed(plan: PlanRules, terms: NetworkTerms, cpt: str, units: int) -> int:
    """cost-rules.md §3 from the rule values: flat per visit, or first + later units."""
    if terms.per_visit_allowed is not None:
        return terms.per_visit_allowed
    rate = terms.allowed[cpt]
    return rate.first_unit + rate.later_units * (units - 1)


def expected_share(terms: NetworkTerms, allowed: int, before: Accumulators) -> tuple[int, int, int]:
    """cost-rules.md §4 steps 1-3 (copay, deductible, coinsurance), cap order included."""
    if terms.copay:  # the original samples' copays are flat: one tier from visit 1 on
        (tier,) = terms.copay
        copay, deductible, coinsurance = min(tier.amount, allowed), 0, 0
    else:
        copay = 0
        deductible = (
            min(allowed, max(0, terms.deductible - before.deductible_met))
            if terms.deductible_applies
            else 0
        )
        coinsurance = half_up(terms.coinsurance * (allowed - deductible))
    if terms.out_of_pocket_max is not None:
        room = max(0, terms.out_of_pocket_max - before.out_of_pocket_met)
        copay = min(copay, room)
        room -= copay
        deductible = min(deductible, room)
        room -= deductible
        coinsurance = min(coinsurance, room)
    return copay, deductible, coinsurance


def cms(minutes: int) -> int:
    """The 8-minute rule written out again, independently of service.domain.units."""
    return minutes // 15 + (1 if minutes % 15 >= 8 else 0)


@st.composite
def requests(draw: st.DrawFn) -> SessionRequest:
    plan_id = draw(st.sampled_from(PLANS))
    day = FIRST_DAY + timedelta(days=draw(st.integers(0, 3 * 365)))
    kind = {
        "acme-ppo-gold": ReferralKind.PRESCRIPTION,
        "contoso-hmo-silver": ReferralKind.INTEGRATIVE_CARE_PLAN,
        "summit-ma-plus": ReferralKind.PRESCRIPTION,
    }.get(plan_id, ReferralKind.NONE)
    if draw(st.integers(0, 4)) == 0:
        kind = draw(st.sampled_from(list(ReferralKind)))
    referral_age = draw(st.integers(0, 200) if draw(st.booleans()) else st.integers(0, 85))
    # Mostly small accumulators (so deductibles get met and coinsurance shows) but the whole
    # range too (so maximums and visit limits bite).
    deductible_met = draw(
        st.sampled_from([0, 50_000, 60_000, 100_000, 300_000])
        | st.integers(0, 110_000)
        | st.integers(0, 320_000)
    )
    extra_out_of_pocket = draw(st.integers(0, 20_000) | st.integers(0, 620_000))
    visits_used = draw(st.integers(0, 5) | st.integers(0, 32))
    return SessionRequest(
        plan_id=plan_id,
        session_type=draw(
            st.sampled_from(THERAPEUTIC)
            if draw(st.integers(0, 3))
            else st.sampled_from(SESSION_TYPES)
        ),
        minutes=draw(st.integers(1, 120) if draw(st.integers(0, 4)) else st.integers(1, 240)),
        date_of_service=day,
        referral_kind=kind,
        referral_date=None if kind is ReferralKind.NONE else day - timedelta(days=referral_age),
        diagnosis_codes=tuple(
            draw(st.lists(st.sampled_from(DIAGNOSES), min_size=0, max_size=3))
            if draw(st.integers(0, 4)) == 0
            else ["M54.50"]
        ),
        network=Network.OUT if draw(st.integers(0, 4)) == 0 else Network.IN,
        injury=draw(st.sampled_from(list(Injury))) if draw(st.integers(0, 5)) == 0 else Injury.NONE,
        accumulators=Accumulators(
            deductible_met=deductible_met,
            out_of_pocket_met=deductible_met + extra_out_of_pocket,
            visits_used=visits_used,
        ),
        prior_authorization_on_file=draw(st.booleans()),
    )


@dataclass(frozen=True)
class Priced:
    request: SessionRequest
    estimate: Estimate
    plan: PlanRules | None


def price(quoter: Quoter, index: RuleIndex, request: SessionRequest) -> Priced | None:
    try:
        est = quoter.estimate(request)
    except EstimateUnavailableError:
        return None
    plan = (
        None if request.is_self_pay else index.resolve(request.plan_id, request.date_of_service)[1]
    )
    return Priced(request, est, plan)


def check_invariants(p: Priced) -> None:
    req, est, plan = p.request, p.estimate, p.plan
    pc = est.patient_cost
    before, after = req.accumulators, est.accumulators_after

    # Money adds up.
    assert pc.cost_share + est.plan_pays == est.allowed_amount
    assert est.patient_pays == pc.copay + pc.deductible + pc.coinsurance + pc.not_covered + (
        pc.balance_billing
    )
    assert est.patient_pays == pc.total
    for amount in (pc.copay, pc.deductible, pc.coinsurance, pc.not_covered, pc.balance_billing):
        assert amount >= 0
    assert est.plan_pays >= 0
    assert est.allowed_amount >= 0

    # Units.
    assert est.billed_units == cms(req.minutes)
    assert 0 <= est.covered_units <= est.billed_units

    # Accumulators never go down; sessions remaining never negative.
    assert after.deductible_met >= before.deductible_met
    assert after.out_of_pocket_met >= before.out_of_pocket_met
    assert after.visits_used >= before.visits_used
    if est.sessions_remaining is not None:
        assert est.sessions_remaining >= 0

    # HSA only where the plan says so (and, §7, for a covered qualifying session).
    if plan is None or not plan.hsa_eligible:
        assert est.hsa_eligible is False
    if plan is None:
        assert est.sessions_remaining is None
        assert est.rule_version is None

    if not est.covered:
        # Not covered: the plan pays nothing, the patient pays the cash price, nothing counts.
        assert est.plan_pays == 0
        assert est.allowed_amount == 0
        assert est.covered_units == 0
        assert pc.cost_share == 0
        assert after == before
        assert est.patient_pays == pc.not_covered > 0
        if plan is not None and plan.visit_limit is not None:
            # No visit used: what is left is the limit minus the visits already used.
            assert est.sessions_remaining == max(0, plan.visit_limit.visits - before.visits_used)
        return

    assert plan is not None
    terms = plan.terms_for(req.network)
    assert terms is not None
    if plan.max_units_per_visit is not None:
        assert est.covered_units <= plan.max_units_per_visit
    # The figures themselves, recomputed from the rule values by a second implementation.
    assert est.covered_units == min(est.billed_units, plan.max_units_per_visit or est.billed_units)
    assert est.allowed_amount == expected_allowed(plan, terms, est.cpt_code, est.covered_units)
    assert (pc.copay, pc.deductible, pc.coinsurance) == expected_share(
        terms, est.allowed_amount, before
    )
    # Units above the cap at the clinic's charge per unit.
    assert pc.not_covered == CHARGE_PER_UNIT * (est.billed_units - est.covered_units)
    if terms.out_of_pocket_max is not None:
        assert pc.cost_share <= max(0, terms.out_of_pocket_max - before.out_of_pocket_met)
    if terms.deductible_applies:
        assert pc.deductible <= max(0, terms.deductible - before.deductible_met)
    else:
        assert pc.deductible == 0
    if terms.copay:
        assert pc.copay <= min(terms.copay[0].amount, est.allowed_amount)
        assert pc.deductible == pc.coinsurance == 0
    if terms.balance_billing:
        assert pc.balance_billing == max(
            0, CHARGE_PER_UNIT * est.covered_units - est.allowed_amount
        )
    else:
        assert pc.balance_billing == 0
    # A covered session uses one visit and moves the accumulators by exactly its share.
    assert after.visits_used == before.visits_used + 1
    assert after.deductible_met - before.deductible_met == pc.deductible
    assert after.out_of_pocket_met - before.out_of_pocket_met == pc.cost_share
    if plan.visit_limit is not None:
        assert before.visits_used < plan.visit_limit.visits
        assert est.sessions_remaining == max(0, plan.visit_limit.visits - after.visits_used)
    # Prior authorization from visit N on; missing unless on file (checked for covered
    # sessions, where the estimate shows what the plan pays once it is granted).
    needs_pa = (
        plan.prior_authorization is not None
        and before.visits_used + 1 >= plan.prior_authorization.from_visit
    )
    assert est.prior_authorization_required is needs_pa
    assert ("PRIOR_AUTHORIZATION" in {m.code for m in est.missing}) is (
        needs_pa and not req.prior_authorization_on_file
    )
    if plan.hsa_eligible:
        assert est.hsa_eligible is True


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=requests())
def test_session_invariants(quoter: Quoter, index: RuleIndex, request: SessionRequest) -> None:
    priced = price(quoter, index, request)
    if priced is not None:
        check_invariants(priced)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    request=requests(),
    gaps=st.lists(st.integers(1, 60), min_size=0, max_size=11),
)
def test_treatment_plan_invariants(
    quoter: Quoter, index: RuleIndex, request: SessionRequest, gaps: list[int]
) -> None:
    dates = [request.date_of_service]
    for gap in gaps:
        dates.append(dates[-1] + timedelta(days=gap))
    try:
        plan = quoter.treatment_plan(request, dates)
    except EstimateUnavailableError:
        return
    assert [s.date_of_service for s in plan.sessions] == dates
    assert plan.total_patient_pays == sum(s.patient_pays for s in plan.sessions)
    assert plan.total_plan_pays == sum(s.plan_pays for s in plan.sessions)
    assert plan.total_allowed_amount == sum(s.allowed_amount for s in plan.sessions)
    assert plan.covered_session_count == sum(1 for s in plan.sessions if s.covered)
    previous: Estimate | None = None
    for est in plan.sessions:
        # Each session starts from the previous one's accumulators, or zero in a new period.
        if previous is None:
            start = request.accumulators
        elif est.benefit_period == previous.benefit_period:
            start = previous.accumulators_after
        else:
            start = Accumulators()
        session_request = SessionRequest(
            plan_id=request.plan_id,
            session_type=request.session_type,
            minutes=request.minutes,
            date_of_service=est.date_of_service,
            referral_kind=request.referral_kind,
            referral_date=request.referral_date,
            diagnosis_codes=request.diagnosis_codes,
            network=request.network,
            injury=request.injury,
            accumulators=start,
            prior_authorization_on_file=request.prior_authorization_on_file,
        )
        plan_rules = (
            None if request.is_self_pay else index.resolve(request.plan_id, est.date_of_service)[1]
        )
        check_invariants(Priced(session_request, est, plan_rules))
        previous = est
