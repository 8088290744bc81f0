"""Valid rule-set models -> the frozen domain PlanRules the cost engine reads."""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

from service.domain.model import (
    BenefitPeriodRule,
    Clinic,
    CodeRate,
    CodeSet,
    CopayTier,
    CoverageBasis,
    DiagnosisLogic,
    DiagnosisRule,
    Injury,
    NetworkAccumulation,
    NetworkTerms,
    PaymentLimit,
    PeriodKind,
    PlanRules,
    PriorAuthorizationRule,
    ProviderCredential,
    ReferralKind,
    ReferralRule,
    SameDayReduction,
    UnitLimits,
    UnitMethod,
    VisitLimit,
)
from service.domain.money import parse_dollars
from service.rulefiles.models import (
    DiagnosisLogicModel,
    NetworkTermsModel,
    PlanModel,
)

MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def month_day(text: str) -> tuple[int, int] | None:
    match = MONTH_DAY.match(text)
    if not match:
        return None
    month, day = int(match[1]), int(match[2])
    if not 1 <= month <= 12 or not 1 <= day <= _DAYS_IN_MONTH[month - 1]:
        return None
    return month, day


def expand_types(names: Iterable[str], clinic: Clinic) -> frozenset[str]:
    """Groups ("therapeutic") become their session types; session types stay as they are."""
    groups = clinic.groups()
    out: set[str] = set()
    for name in names:
        if name in groups:
            out.update(groups[name])
        elif name in clinic.session_types:
            out.add(name)
    return frozenset(out)


def build_plan(p: PlanModel, clinic: Clinic) -> PlanRules:
    ref = f"plans.{p.id}"
    if p.benefit_period.type == "plan_year" and p.benefit_period.starts is not None:
        month, day = month_day(p.benefit_period.starts) or (1, 1)
        period = BenefitPeriodRule(PeriodKind.PLAN_YEAR, month, day)
    else:
        period = BenefitPeriodRule(PeriodKind.CALENDAR_YEAR)
    referral = ReferralRule(
        required=p.referral.required,
        accepted_kinds=frozenset(ReferralKind(k) for k in (p.referral.accepted or ())),
        valid_days=p.referral.valid_days
        if p.referral.valid_days is not None or p.referral.valid_months is not None
        else 90,
        valid_months=p.referral.valid_months,
    )
    pa = p.prior_authorization
    return PlanRules(
        plan_id=p.id,
        plan_name=p.name,
        coverage_basis=CoverageBasis(p.coverage_basis),
        benefit_period=period,
        covered_session_types=expand_types(p.covered_session_types, clinic),
        referral=referral,
        diagnoses=build_diagnoses(p.qualifying_diagnoses),
        unit_method=UnitMethod(p.units.method),
        unit_limits=UnitLimits(per_visit=p.units.max_per_visit, per_day=p.units.max_per_day),
        in_network=_build_terms(p.in_network, f"{ref}.in_network"),
        out_of_network=None
        if p.out_of_network is None
        else _build_terms(p.out_of_network, f"{ref}.out_of_network"),
        visit_limit=None
        if p.visit_limit is None
        else VisitLimit(p.visit_limit.visits, tuple(sorted(set(p.visit_limit.shared_with)))),
        prior_authorization=None
        if pa is None
        else PriorAuthorizationRule(pa.from_visit, pa.required_for_coverage),
        excluded_injuries=frozenset(Injury(i) for i in p.excluded_injuries),
        hsa_eligible=p.hsa_eligible,
        ref=ref,
        rendering_providers=frozenset(ProviderCredential(x) for x in p.rendering_providers or ()),
        same_day_reductions=tuple(
            SameDayReduction(
                frozenset(r.procedure_codes),
                Decimal(r.allowed_percent) / 100,
                f"{ref}.same_day_reductions[#{n}]",
            )
            for n, r in enumerate(p.same_day_reductions, start=1)
        ),
        payment_limit=None
        if p.plan_payment_limit is None
        else PaymentLimit(
            _cents(p.plan_payment_limit.per_visit),
            _cents(p.plan_payment_limit.per_benefit_period),
            f"{ref}.plan_payment_limit",
        ),
        network_accumulation=NetworkAccumulation(p.network_accumulation),
    )


def _cents(amount: str | None) -> int | None:
    return None if amount is None else parse_dollars(amount)


def code_set(entries: Iterable[str]) -> CodeSet:
    """Prefixes and category ranges ("Z00-Z13") of a checked list, in a stable order."""
    unique = sorted(set(entries))
    return CodeSet(
        prefixes=tuple(e for e in unique if "-" not in e),
        ranges=tuple((e[:3], e[4:]) for e in unique if "-" in e),
    )


def build_diagnoses(rule: list[str] | DiagnosisLogicModel) -> DiagnosisRule:
    if isinstance(rule, list):
        return DiagnosisRule(DiagnosisLogic.ANY_OF, (code_set(rule),))
    if rule.any_except is not None:
        return DiagnosisRule(DiagnosisLogic.ANY_EXCEPT, (code_set(rule.any_except),))
    if rule.all_of is not None:
        groups = sorted(sorted(set(g)) for g in rule.all_of)  # as canonical content has them
        return DiagnosisRule(DiagnosisLogic.ALL_OF, tuple(code_set(g) for g in groups))
    return DiagnosisRule(DiagnosisLogic.ANY_OF, (code_set(rule.any_of or ()),))


def _build_copay(t: NetworkTermsModel, ref: str) -> tuple[CopayTier, ...]:
    if t.copay is None:
        return ()
    if isinstance(t.copay, str):
        return (CopayTier(1, None, parse_dollars(t.copay), f"{ref}.copay"),)
    return tuple(
        CopayTier(tier.from_visit, tier.to_visit, parse_dollars(tier.amount), f"{ref}.copay[#{n}]")
        for n, tier in enumerate(t.copay, start=1)
    )


def _build_terms(t: NetworkTermsModel, ref: str) -> NetworkTerms:
    if not t.covered:
        return NetworkTerms(covered=False, ref=ref)
    allowed: dict[str, CodeRate] = {}
    for code, rate in sorted((t.allowed_per_unit or {}).items()):
        first = parse_dollars(rate.first_unit)
        later = parse_dollars(rate.later_units) if rate.later_units is not None else first
        allowed[code] = CodeRate(first, later, f"{ref}.allowed_per_unit.{code}")
    percent = Decimal(t.coinsurance_percent) if t.coinsurance_percent is not None else Decimal(0)
    return NetworkTerms(
        covered=True,
        ref=ref,
        allowed=allowed,
        per_visit_allowed=_cents(t.allowed_per_visit),
        copay=_build_copay(t, ref),
        copay_after_deductible=t.copay_applies == "after_deductible",
        deductible_applies=bool(t.deductible_applies),
        deductible=parse_dollars(t.deductible) if t.deductible is not None else 0,
        family_deductible=_cents(t.family_deductible),
        coinsurance=percent / 100,
        out_of_pocket_max=_cents(t.out_of_pocket_max),
        family_out_of_pocket_max=_cents(t.family_out_of_pocket_max),
        balance_billing=bool(t.balance_billing),
    )
