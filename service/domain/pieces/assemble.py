"""Bind the pieces one plan version needs, once, when the rule index is built.

A CompiledPlan lists exactly the checks, limits and steps its rules call for, in the order
docs/cost-rules.md gives, with their words and constants worked out; pricing a session then
runs the list (service.domain.engine) without asking again which rules exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.domain.model import (
    CoverageBasis,
    Network,
    NetworkAccumulation,
    PlanRules,
    RuleSetVersion,
    SessionRequest,
    UnitMethod,
)
from service.domain.pieces.allowed import (
    AllowedPricing,
    FlatPerVisit,
    PerUnitRates,
    SameDayReductionStep,
)
from service.domain.pieces.cost_share import CostShare, Counting, cost_share_for
from service.domain.pieces.coverage import (
    BenefitMaximumNotReached,
    BillableUnits,
    CoverageCheck,
    DailyUnitsLeft,
    DiagnosisQualifies,
    InjuryNotExcluded,
    NetworkCovered,
    PriorAuthorization,
    ProviderEligible,
    SessionTypeCovered,
    VisitLimitNotReached,
    referral_check,
)
from service.domain.pieces.payment_limits import PaymentLimitStep
from service.domain.pieces.unit_limits import PerDayCap, PerVisitCap, UnitLimit
from service.domain.words import session_words

_BASIS_WORDS = {
    CoverageBasis.MEDICAL_NECESSITY: "as medically necessary massage",
    CoverageBasis.INTEGRATIVE_CARE_PROGRAM: "through the integrative-care program",
    CoverageBasis.SUPPLEMENTAL_BENEFIT: "as a supplemental therapeutic-massage benefit",
}


@dataclass(frozen=True)
class NetworkPieces:
    """How one network of the plan prices a covered session."""

    pricing: AllowedPricing
    cost_share: CostShare


@dataclass(frozen=True)
class CompiledPlan:
    """One plan of one version, as the pieces that price it."""

    version: RuleSetVersion
    plan: PlanRules
    checks: tuple[CoverageCheck, ...]
    prior_authorization: PriorAuthorization | None
    unit_limits: tuple[UnitLimit, ...]
    reductions: tuple[SameDayReductionStep, ...]
    networks: dict[Network, NetworkPieces]
    payment_limit: PaymentLimitStep | None
    basis_words: str

    @property
    def authorization_decides_coverage(self) -> bool:
        pa = self.prior_authorization
        return pa is not None and pa.rule.required_for_coverage

    def medical_purpose(self, request: SessionRequest) -> bool:
        """The session type and a diagnosis qualify: what HSA eligibility rests on."""
        plan = self.plan
        return (
            request.session_type in plan.covered_session_types
            and bool(request.diagnosis_codes)
            and plan.diagnoses.qualifies(request.diagnosis_codes)
        )


def compile_plan(version: RuleSetVersion, plan: PlanRules) -> CompiledPlan:
    name, ref = plan.plan_name, plan.ref
    counting = Counting(plan.network_accumulation is NetworkAccumulation.COMBINED)
    networks: dict[Network, NetworkPieces] = {}
    for network in Network:
        terms = plan.terms_for(network)
        if terms is None or not terms.covered:
            continue
        pricing: AllowedPricing = (
            FlatPerVisit(terms, name)
            if plan.unit_method is UnitMethod.PER_VISIT_FLAT
            else PerUnitRates(terms, name)
        )
        networks[network] = NetworkPieces(pricing, cost_share_for(terms, counting))
    pa = plan.prior_authorization
    return CompiledPlan(
        version=version,
        plan=plan,
        checks=_checks(plan),
        prior_authorization=None
        if pa is None
        else PriorAuthorization(
            name,
            pa,
            None if plan.visit_limit is None else plan.visit_limit.visits,
            f"{ref}.prior_authorization",
        ),
        unit_limits=_unit_limits(plan),
        reductions=tuple(SameDayReductionStep(r) for r in plan.same_day_reductions),
        networks=networks,
        payment_limit=None
        if plan.payment_limit is None
        else PaymentLimitStep(name, plan.payment_limit),
        basis_words=_BASIS_WORDS.get(plan.coverage_basis, ""),
    )


def _checks(plan: PlanRules) -> tuple[CoverageCheck, ...]:
    """The coverage checks the plan's rules call for, in the order of docs/cost-rules.md §2."""
    name, ref = plan.plan_name, plan.ref
    checks: list[CoverageCheck] = [
        NetworkCovered(name),
        SessionTypeCovered(
            name,
            plan.covered_session_types,
            ", ".join(session_words(t) for t in sorted(plan.covered_session_types)),
            f"{ref}.covered_session_types",
        ),
    ]
    if plan.excluded_injuries:
        checks.append(InjuryNotExcluded(name, plan.excluded_injuries, f"{ref}.excluded_injuries"))
    checks.append(DiagnosisQualifies(name, plan.diagnoses, f"{ref}.qualifying_diagnoses"))
    if plan.referral.required:
        checks.append(referral_check(name, plan.referral, f"{ref}.referral"))
    if plan.rendering_providers:
        checks.append(
            ProviderEligible(name, plan.rendering_providers, f"{ref}.rendering_providers")
        )
    if plan.visit_limit is not None:
        checks.append(VisitLimitNotReached(plan.visit_limit, f"{ref}.visit_limit.visits"))
    if plan.payment_limit is not None and plan.payment_limit.per_period is not None:
        checks.append(BenefitMaximumNotReached(name, plan.payment_limit))
    if plan.unit_limits.per_day is not None:
        checks.append(DailyUnitsLeft(plan.unit_limits.per_day, f"{ref}.units.max_per_day"))
    checks.append(BillableUnits(f"{ref}.units.method"))
    return tuple(checks)


def _unit_limits(plan: PlanRules) -> tuple[UnitLimit, ...]:
    limits: list[UnitLimit] = []
    if plan.unit_limits.per_visit is not None:
        limits.append(PerVisitCap(plan.unit_limits.per_visit, f"{plan.ref}.units.max_per_visit"))
    if plan.unit_limits.per_day is not None:
        limits.append(PerDayCap(plan.unit_limits.per_day, f"{plan.ref}.units.max_per_day"))
    return tuple(limits)
