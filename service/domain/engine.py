"""The cost engine: one session, one plan version, one answer (docs/cost-rules.md).

Pure functions over the domain model. Every figure becomes a LineItem naming the rule row it
came from; every decision becomes a Reason. The engine trusts that the request has been
validated (service.domain.validation) and the version resolved (service.domain.index).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from service.domain.errors import EstimateUnavailableError
from service.domain.model import (
    Accumulators,
    Clinic,
    CoverageBasis,
    Estimate,
    Injury,
    LineItem,
    LineItemKind,
    Network,
    NetworkTerms,
    PatientCost,
    PlanRules,
    Reason,
    ReferralKind,
    Requirement,
    RuleSetVersion,
    SessionRequest,
    UnitMethod,
)
from service.domain.money import Cents, format_usd, percent_of
from service.domain.units import billable_units, cms_units

_INJURY_WORDS = {
    Injury.AUTO: "auto-accident injuries belong to the auto (PIP) carrier",
    Injury.WORK: "work injuries belong to the workers' compensation carrier",
}

_REFERRAL_WORDS = {
    ReferralKind.NONE: "no referral",
    ReferralKind.PHYSICIAN_REFERRAL: "a physician referral",
    ReferralKind.PRESCRIPTION: "a prescription",
    ReferralKind.INTEGRATIVE_CARE_PLAN: "an integrative care plan referral",
}

_UNIT_METHOD_WORDS = {
    UnitMethod.CMS_8_MINUTE: "the CMS 8-minute rule",
    UnitMethod.AMA_PER_CODE: "the AMA per-code rule",
    UnitMethod.PER_VISIT_FLAT: "the 8-minute rule (the plan pays a flat amount per visit)",
}


def _words(session_type: str) -> str:
    return session_type.replace("_", " ")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@dataclass
class _Builder:
    """Collects reasons, requirements and line items while an estimate is worked out."""

    reasons: list[Reason] = field(default_factory=list)
    missing: list[Requirement] = field(default_factory=list)
    lines: list[LineItem] = field(default_factory=list)

    def reason(self, code: str, message: str, rule_ref: str = "") -> None:
        self.reasons.append(Reason(code, message, rule_ref))

    def need(self, code: str, message: str) -> None:
        if all(r.code != code for r in self.missing):
            self.missing.append(Requirement(code, message))

    def line(
        self, kind: LineItemKind, description: str, amount: Cents, rule_ref: str, **kw: object
    ) -> None:
        self.lines.append(LineItem(kind, description, amount, rule_ref, **kw))  # type: ignore[arg-type]


def estimate_session(
    request: SessionRequest,
    plan: PlanRules | None,
    version: RuleSetVersion | None,
    clinic: Clinic,
) -> Estimate:
    """Price one session. `plan` and `version` are None for self-pay clients."""
    if plan is None or version is None:
        return _self_pay(request, clinic)
    return _insured(request, plan, version, clinic)


# ------------------------------------------------------------------------ self-pay / cash


def _cash_price_line(request: SessionRequest, clinic: Clinic, b: _Builder, why: str) -> Cents:
    """Add the cash-price line of a session nobody insures; unavailable when none is listed."""
    session_type = clinic.session_types[request.session_type]
    price = clinic.cash_price(request.session_type, request.minutes)
    if price is None:
        longest = max(
            (p.minutes for p in clinic.cash_prices.get(session_type.group, ())), default=0
        )
        raise EstimateUnavailableError(
            "NO_CASH_PRICE",
            f"the clinic lists no cash price for {session_type.group} sessions of "
            f"{request.minutes} minutes (the longest listed is {longest} minutes)",
        )
    length = (
        f"{price.minutes} minutes"
        if price.minutes == request.minutes
        else f"{request.minutes} minutes, priced as the next listed length "
        f"of {price.minutes} minutes"
    )
    b.line(
        LineItemKind.NOT_COVERED,
        f"{_words(request.session_type)} massage, {length}, at the clinic's cash price ({why})",
        price.price,
        f"{clinic.ref} cash_prices.{session_type.group}.{price.minutes}",
        cpt_code=session_type.cpt_code,
    )
    return price.price


def _self_pay(request: SessionRequest, clinic: Clinic) -> Estimate:
    b = _Builder()
    session_type = clinic.session_types[request.session_type]
    b.reason(
        "SELF_PAY",
        "No insurance: the client pays the clinic's cash price for the session.",
    )
    price = _cash_price_line(request, clinic, b, "self-pay")
    return Estimate(
        plan_id=request.plan_id,
        session_type=request.session_type,
        minutes=request.minutes,
        date_of_service=request.date_of_service,
        covered=False,
        coverage_basis=CoverageBasis.SELF_PAY,
        reasons=tuple(b.reasons),
        cpt_code=session_type.cpt_code,
        unit_method=None,
        billed_units=cms_units(request.minutes),
        covered_units=0,
        allowed_amount=0,
        plan_pays=0,
        patient_pays=price,
        patient_cost=PatientCost(not_covered=price),
        line_items=tuple(b.lines),
        sessions_remaining=None,
        visit_limit=None,
        visit_limit_shared_with=(),
        prior_authorization_required=False,
        hsa_eligible=False,
        missing=(),
        rule_version=None,
        benefit_period=None,
        accumulators_after=request.accumulators,
        clinic_charge=price,
    )


# ------------------------------------------------------------------------ insured


def _check_coverage(
    request: SessionRequest, plan: PlanRules, terms: NetworkTerms, billed: int, b: _Builder
) -> tuple[bool, bool]:
    """Run every coverage check (docs/cost-rules.md §2), recording each failure.

    Returns (covered, medical_purpose): medical_purpose is True when the session type and
    diagnosis qualify, which is what HSA eligibility rests on.
    """
    ok = True
    ref = plan.ref
    if not terms.covered:
        ok = False
        b.reason(
            "NETWORK_NOT_COVERED",
            f"{plan.plan_name} does not cover massage from out-of-network providers.",
            terms.ref,
        )

    type_ok = request.session_type in plan.covered_session_types
    if not type_ok:
        ok = False
        covered = ", ".join(_words(t) for t in sorted(plan.covered_session_types))
        b.reason(
            "SESSION_TYPE_NOT_COVERED",
            f"{plan.plan_name} does not cover {_words(request.session_type)} massage; "
            f"it covers {covered}.",
            f"{ref}.covered_session_types",
        )

    if request.injury in plan.excluded_injuries:
        ok = False
        b.reason(
            "INJURY_EXCLUDED",
            f"{plan.plan_name} excludes this injury: {_INJURY_WORDS[request.injury]}.",
            f"{ref}.excluded_injuries",
        )

    qualifying = [
        code
        for code in request.diagnosis_codes
        if any(code.upper().startswith(p) for p in plan.qualifying_diagnosis_prefixes)
    ]
    diagnosis_ok = bool(qualifying)
    if not request.diagnosis_codes:
        ok = False
        b.reason(
            "NO_DIAGNOSIS",
            f"{plan.plan_name} covers massage only for a qualifying diagnosis, and none was given.",
            f"{ref}.qualifying_diagnoses",
        )
    elif not diagnosis_ok:
        ok = False
        b.reason(
            "DIAGNOSIS_NOT_QUALIFYING",
            f"None of the diagnoses ({', '.join(request.diagnosis_codes)}) qualifies under "
            f"{plan.plan_name}.",
            f"{ref}.qualifying_diagnoses",
        )

    rule = plan.referral
    if rule.required:
        accepted = " or ".join(
            _REFERRAL_WORDS[k] for k in sorted(rule.accepted_kinds, key=lambda k: k.value)
        )
        needed = "PRESCRIPTION" if ReferralKind.PRESCRIPTION in rule.accepted_kinds else "REFERRAL"
        if request.referral_kind not in rule.accepted_kinds:
            ok = False
            b.reason(
                "REFERRAL_MISSING",
                f"{plan.plan_name} requires {accepted}; the client has "
                f"{_REFERRAL_WORDS[request.referral_kind]}.",
                f"{ref}.referral.accepted",
            )
            b.need(needed, f"Obtain {accepted} naming the diagnosis before the visit.")
        # Compare the referral's age, not dos > issue + valid_days: that sum overflows date
        # near 9999-12-31. When expired, issue + valid_days < dos always fits.
        elif (
            request.referral_date is not None
            and (request.date_of_service - request.referral_date).days > rule.valid_days
        ):
            valid_through = request.referral_date + timedelta(days=rule.valid_days)
            ok = False
            b.reason(
                "REFERRAL_EXPIRED",
                f"The {_REFERRAL_WORDS[request.referral_kind].split(' ', 1)[1]} issued "
                f"{request.referral_date.isoformat()} was valid for {rule.valid_days} days, "
                f"through {valid_through.isoformat()}.",
                f"{ref}.referral.valid_days",
            )
            b.need(
                needed,
                f"Obtain a new {accepted.removeprefix('a ').removeprefix('an ')}; "
                f"the current one expired {valid_through.isoformat()}.",
            )

    limit = plan.visit_limit
    if limit is not None and request.accumulators.visits_used >= limit.visits:
        ok = False
        b.reason(
            "VISIT_LIMIT_REACHED",
            f"All {limit.visits} covered visits of the benefit period are used "
            f"({request.accumulators.visits_used} used).",
            f"{ref}.visit_limit.visits",
        )

    if billed == 0:
        ok = False
        b.reason(
            "NO_BILLABLE_UNITS",
            f"A {request.minutes}-minute session is shorter than the 8 minutes that make a "
            "billable unit.",
            f"{ref}.units.method",
        )
    return ok, type_ok and diagnosis_ok


def _allowed(plan: PlanRules, terms: NetworkTerms, cpt: str, units: int, b: _Builder) -> Cents:
    """Allowed amount for the covered units, one line per rate (docs/cost-rules.md §3)."""
    if plan.unit_method is UnitMethod.PER_VISIT_FLAT:
        amount = terms.per_visit_allowed
        if amount is None:  # the loader rejects this; guard against a silent $0 anyway
            raise EstimateUnavailableError(
                "NO_RATES", f"{plan.plan_name} has no per-visit allowed amount"
            )
        b.line(
            LineItemKind.ALLOWED,
            f"{cpt} flat allowed amount per visit ({_plural(units, 'unit')})",
            amount,
            f"{terms.ref}.allowed_per_visit",
            cpt_code=cpt,
            units=units,
        )
        return amount
    rate = terms.allowed.get(cpt)
    if rate is None:
        raise EstimateUnavailableError(
            "NO_RATES", f"{plan.plan_name} has no allowed amount for CPT {cpt} in this network"
        )
    if rate.later_units == rate.first_unit or units == 1:
        amount = rate.first_unit * units
        b.line(
            LineItemKind.ALLOWED,
            f"{cpt}, {_plural(units, 'unit')} at {format_usd(rate.first_unit)}",
            amount,
            rate.ref,
            cpt_code=cpt,
            units=units,
            unit_amount=rate.first_unit,
        )
        return amount
    b.line(
        LineItemKind.ALLOWED,
        f"{cpt}, first unit at {format_usd(rate.first_unit)}",
        rate.first_unit,
        f"{rate.ref}.first_unit",
        cpt_code=cpt,
        units=1,
        unit_amount=rate.first_unit,
    )
    later = rate.later_units * (units - 1)
    b.line(
        LineItemKind.ALLOWED,
        f"{cpt}, {_plural(units - 1, 'later unit')} at {format_usd(rate.later_units)}",
        later,
        f"{rate.ref}.later_units",
        cpt_code=cpt,
        units=units - 1,
        unit_amount=rate.later_units,
    )
    return rate.first_unit + later


def _cost_share(
    allowed: Cents, terms: NetworkTerms, acc: Accumulators, b: _Builder
) -> tuple[Cents, Cents, Cents]:
    """(copay, deductible, coinsurance) in the order of docs/cost-rules.md §4, capped by the
    out-of-pocket maximum left."""
    copay = deductible = coinsurance = 0
    coinsurance_base = 0
    if terms.copay is not None:
        copay = min(terms.copay, allowed)
    else:
        if terms.deductible_applies:
            deductible = min(allowed, max(0, terms.deductible - acc.deductible_met))
        coinsurance_base = allowed - deductible
        coinsurance = percent_of(coinsurance_base, terms.coinsurance)

    uncapped = (copay, deductible, coinsurance)
    if terms.out_of_pocket_max is not None:
        room = max(0, terms.out_of_pocket_max - acc.out_of_pocket_met)
        if sum(uncapped) > room:
            capped = []
            for amount in uncapped:
                take = min(amount, room)
                capped.append(take)
                room -= take
            copay, deductible, coinsurance = capped
            b.reason(
                "OUT_OF_POCKET_MAX_REACHED",
                f"The out-of-pocket maximum of {format_usd(terms.out_of_pocket_max)} caps the "
                f"client's share at {format_usd(copay + deductible + coinsurance)} "
                f"({format_usd(acc.out_of_pocket_met)} already met).",
                f"{terms.ref}.out_of_pocket_max",
            )

    if terms.copay is not None:
        b.line(
            LineItemKind.COPAY,
            f"copay {format_usd(terms.copay)} per visit"
            + (" (limited to the allowed amount)" if terms.copay > allowed else "")
            + (
                " (limited by the out-of-pocket maximum)"
                if copay < min(terms.copay, allowed)
                else ""
            ),
            copay,
            f"{terms.ref}.copay",
        )
    if terms.deductible_applies:
        left = max(0, terms.deductible - acc.deductible_met)
        b.line(
            LineItemKind.DEDUCTIBLE,
            f"deductible: {format_usd(left)} of {format_usd(terms.deductible)} left before "
            f"this visit",
            deductible,
            f"{terms.ref}.deductible",
        )
    if terms.copay is None and (terms.coinsurance or coinsurance):
        pct = (terms.coinsurance * 100).normalize()
        b.line(
            LineItemKind.COINSURANCE,
            f"coinsurance {pct:f}% of {format_usd(coinsurance_base)}"
            + (" (limited by the out-of-pocket maximum)" if coinsurance < uncapped[2] else ""),
            coinsurance,
            f"{terms.ref}.coinsurance_percent",
        )
    return copay, deductible, coinsurance


def _hsa_reason(plan: PlanRules, b: _Builder) -> None:
    b.reason(
        "HSA_ELIGIBLE",
        "An HSA can pay for this session; keep a letter of medical necessity (condition, "
        "frequency, duration) from the prescriber.",
        f"{plan.ref}.hsa_eligible",
    )


def _insured(
    request: SessionRequest, plan: PlanRules, version: RuleSetVersion, clinic: Clinic
) -> Estimate:
    terms = plan.terms_for(request.network)
    if terms is None:
        raise EstimateUnavailableError(
            "NO_NETWORK_TERMS",
            f"{plan.plan_name} ({version.label()}) has no {request.network.value}-of-network "
            "terms in its rules, so the cost cannot be known",
        )
    b = _Builder()
    session_type = clinic.session_types[request.session_type]
    cpt = session_type.cpt_code
    billed = billable_units([(cpt, request.minutes)], plan.unit_method)[cpt]
    acc = request.accumulators
    period = plan.benefit_period.period_containing(request.date_of_service)
    limit = plan.visit_limit
    charge_per_unit = clinic.charge_per_unit[cpt]

    covered, medical_purpose = _check_coverage(request, plan, terms, billed, b)

    visit_number = acc.visits_used + 1
    pa_required = (
        plan.prior_authorization_from_visit is not None
        and visit_number >= plan.prior_authorization_from_visit
        and (limit is None or acc.visits_used < limit.visits)
    )
    if pa_required:
        b.reason(
            "PRIOR_AUTHORIZATION_REQUIRED",
            f"{plan.plan_name} requires prior authorization from visit "
            f"{plan.prior_authorization_from_visit} on; this is visit {visit_number}"
            + (" and an authorization is on file." if request.prior_authorization_on_file else "."),
            f"{plan.ref}.prior_authorization.from_visit",
        )
        if not request.prior_authorization_on_file:
            b.need(
                "PRIOR_AUTHORIZATION",
                f"Ask {version.payer_name} for prior authorization before visit {visit_number}.",
            )

    hsa = plan.hsa_eligible and medical_purpose

    if not covered:
        price = _cash_price_line(request, clinic, b, "not covered")
        if hsa:  # the HSA can pay the cash price too (docs/cost-rules.md §7)
            _hsa_reason(plan, b)
        remaining = None if limit is None else max(0, limit.visits - acc.visits_used)
        return _estimate(
            request,
            plan,
            version,
            covered=False,
            cpt=cpt,
            billed=billed,
            covered_units=0,
            allowed=0,
            plan_pays=0,
            cost=PatientCost(not_covered=price),
            b=b,
            remaining=remaining,
            pa=pa_required,
            hsa=hsa,
            period=period,
            acc_after=acc,
            clinic_charge=price,
        )

    covered_units = (
        billed if plan.max_units_per_visit is None else min(billed, plan.max_units_per_visit)
    )
    basis_words = {
        CoverageBasis.MEDICAL_NECESSITY: "as medically necessary massage",
        CoverageBasis.INTEGRATIVE_CARE_PROGRAM: "through the integrative-care program",
        CoverageBasis.SUPPLEMENTAL_BENEFIT: "as a supplemental therapeutic-massage benefit",
    }.get(plan.coverage_basis, "")
    b.reason(
        "COVERED",
        f"{plan.plan_name} covers this {_words(request.session_type)} session {basis_words}.",
        plan.ref,
    )
    b.reason(
        "UNITS",
        f"{request.minutes} minutes make {_plural(billed, 'unit')} of {cpt} by "
        f"{_UNIT_METHOD_WORDS[plan.unit_method]}"
        + (
            f"; the plan covers at most {plan.max_units_per_visit} per visit"
            if plan.max_units_per_visit is not None and billed > plan.max_units_per_visit
            else ""
        )
        + ".",
        f"{plan.ref}.units",
    )

    allowed = _allowed(plan, terms, cpt, covered_units, b)
    copay, deductible, coinsurance = _cost_share(allowed, terms, acc, b)
    share = copay + deductible + coinsurance
    plan_pays = allowed - share
    b.line(LineItemKind.PLAN_PAYMENT, f"{plan.plan_name} pays", plan_pays, terms.ref)

    excess = billed - covered_units
    not_covered = excess * charge_per_unit
    if excess:
        b.line(
            LineItemKind.NOT_COVERED,
            f"{cpt}, {_plural(excess, 'unit')} above the {plan.max_units_per_visit}-unit visit "
            f"cap at the clinic's charge of {format_usd(charge_per_unit)}",
            not_covered,
            f"{plan.ref}.units.max_per_visit; {clinic.ref} charge_per_unit.{cpt}",
            cpt_code=cpt,
            units=excess,
            unit_amount=charge_per_unit,
        )
    balance = 0
    if request.network is Network.OUT and terms.balance_billing:
        balance = max(0, charge_per_unit * covered_units - allowed)
        b.line(
            LineItemKind.BALANCE_BILLING,
            f"balance billing: the clinic's charge {format_usd(charge_per_unit * covered_units)} "
            f"minus the allowed amount {format_usd(allowed)}",
            balance,
            f"{terms.ref}.balance_billing; {clinic.ref} charge_per_unit.{cpt}",
        )
        b.reason(
            "OUT_OF_NETWORK",
            "Out of network: cost sharing uses the out-of-network allowed amount, and the "
            "clinic may bill the difference to its charge (balance billing).",
            terms.ref,
        )
    if hsa:
        _hsa_reason(plan, b)

    acc_after = Accumulators(
        deductible_met=acc.deductible_met + deductible,
        out_of_pocket_met=acc.out_of_pocket_met + share,
        visits_used=acc.visits_used + 1,
    )
    remaining = None if limit is None else max(0, limit.visits - acc_after.visits_used)
    return _estimate(
        request,
        plan,
        version,
        covered=True,
        cpt=cpt,
        billed=billed,
        covered_units=covered_units,
        allowed=allowed,
        plan_pays=plan_pays,
        cost=PatientCost(copay, deductible, coinsurance, not_covered, balance),
        b=b,
        remaining=remaining,
        pa=pa_required,
        hsa=hsa,
        period=period,
        acc_after=acc_after,
        clinic_charge=charge_per_unit * billed,
    )


def _estimate(
    request: SessionRequest,
    plan: PlanRules,
    version: RuleSetVersion,
    *,
    covered: bool,
    cpt: str,
    billed: int,
    covered_units: int,
    allowed: Cents,
    plan_pays: Cents,
    cost: PatientCost,
    b: _Builder,
    remaining: int | None,
    pa: bool,
    hsa: bool,
    period: tuple[date, date],
    acc_after: Accumulators,
    clinic_charge: Cents,
) -> Estimate:
    limit = plan.visit_limit
    return Estimate(
        plan_id=request.plan_id,
        session_type=request.session_type,
        minutes=request.minutes,
        date_of_service=request.date_of_service,
        covered=covered,
        coverage_basis=plan.coverage_basis,
        reasons=tuple(b.reasons),
        cpt_code=cpt,
        unit_method=plan.unit_method,
        billed_units=billed,
        covered_units=covered_units,
        allowed_amount=allowed,
        plan_pays=plan_pays,
        patient_pays=cost.total,
        patient_cost=cost,
        line_items=tuple(b.lines),
        sessions_remaining=remaining,
        visit_limit=None if limit is None else limit.visits,
        visit_limit_shared_with=() if limit is None else ("massage", *limit.shared_with),
        prior_authorization_required=pa,
        hsa_eligible=hsa,
        missing=tuple(b.missing),
        rule_version=version,
        benefit_period=period,
        accumulators_after=acc_after,
        clinic_charge=clinic_charge,
    )
