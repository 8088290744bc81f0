"""The cost engine: one session, one compiled plan version, one answer (docs/cost-rules.md).

It runs the pieces a plan version was compiled into (service.domain.pieces) in the documented
order: coverage checks, unit limits, the allowed amount and its reductions, the cost share
capped by the out-of-pocket maximum, the plan's payment limits, then what the patient pays
outside them. Every figure becomes a LineItem naming the rule row it came from; every
decision becomes a Reason. The engine trusts that the request has been validated
(service.domain.validation) and the version resolved (service.domain.index).
"""

from __future__ import annotations

from service.domain.errors import EstimateUnavailableError
from service.domain.model import (
    Accumulators,
    Clinic,
    CoverageBasis,
    Estimate,
    LineItemKind,
    Network,
    PatientCost,
    PlanRules,
    RuleSetVersion,
    SessionRequest,
)
from service.domain.money import Cents, format_usd
from service.domain.pieces import CompiledPlan, compile_plan
from service.domain.pieces.allowed import apply_reductions
from service.domain.pieces.context import Ledger, Visit
from service.domain.pieces.cost_share import Share
from service.domain.pieces.payment_limits import PlanPayment, unlimited
from service.domain.pieces.unit_limits import UnitCut, apply_unit_limits
from service.domain.units import billable_units, cms_units
from service.domain.words import UNIT_METHOD_WORDS, plural, session_words


def estimate_session(
    request: SessionRequest,
    plan: PlanRules | None,
    version: RuleSetVersion | None,
    clinic: Clinic,
) -> Estimate:
    """Price one session. `plan` and `version` are None for self-pay clients. Compiles the
    plan on each call: the quote path prices from the index's compiled plans (`price`)."""
    if plan is None or version is None:
        return price(request, None, clinic)
    return price(request, compile_plan(version, plan), clinic)


def price(request: SessionRequest, compiled: CompiledPlan | None, clinic: Clinic) -> Estimate:
    """Price one session with a compiled plan version (None: self-pay)."""
    if compiled is None:
        return _self_pay(request, clinic)
    return _insured(request, compiled, clinic)


# ------------------------------------------------------------------------ self-pay / cash


def _cash_price_line(request: SessionRequest, clinic: Clinic, ledger: Ledger, why: str) -> Cents:
    """Add the cash-price line of a session nobody insures; unavailable when none is listed."""
    session_type = clinic.session_types[request.session_type]
    price_ = clinic.cash_price(request.session_type, request.minutes)
    if price_ is None:
        longest = max(
            (p.minutes for p in clinic.cash_prices.get(session_type.group, ())), default=0
        )
        raise EstimateUnavailableError(
            "NO_CASH_PRICE",
            f"the clinic lists no cash price for {session_type.group} sessions of "
            f"{request.minutes} minutes (the longest listed is {longest} minutes)",
        )
    length = (
        f"{price_.minutes} minutes"
        if price_.minutes == request.minutes
        else f"{request.minutes} minutes, priced as the next listed length "
        f"of {price_.minutes} minutes"
    )
    ledger.line(
        LineItemKind.NOT_COVERED,
        f"{session_words(request.session_type)} massage, {length}, at the clinic's cash price "
        f"({why})",
        price_.price,
        f"{clinic.ref} cash_prices.{session_type.group}.{price_.minutes}",
        cpt_code=session_type.cpt_code,
    )
    return price_.price


def _self_pay(request: SessionRequest, clinic: Clinic) -> Estimate:
    ledger = Ledger()
    session_type = clinic.session_types[request.session_type]
    ledger.reason(
        "SELF_PAY",
        "No insurance: the client pays the clinic's cash price for the session.",
    )
    cash = _cash_price_line(request, clinic, ledger, "self-pay")
    return Estimate(
        plan_id=request.plan_id,
        session_type=request.session_type,
        minutes=request.minutes,
        date_of_service=request.date_of_service,
        covered=False,
        coverage_basis=CoverageBasis.SELF_PAY,
        reasons=tuple(ledger.reasons),
        cpt_code=session_type.cpt_code,
        unit_method=None,
        billed_units=cms_units(request.minutes),
        covered_units=0,
        allowed_amount=0,
        plan_pays=0,
        patient_pays=cash,
        patient_cost=PatientCost(not_covered=cash),
        line_items=tuple(ledger.lines),
        sessions_remaining=None,
        visit_limit=None,
        visit_limit_shared_with=(),
        prior_authorization_required=False,
        hsa_eligible=False,
        missing=(),
        rule_version=None,
        benefit_period=None,
        accumulators_after=request.accumulators,
        clinic_charge=cash,
    )


# ------------------------------------------------------------------------ insured


def _visit(request: SessionRequest, compiled: CompiledPlan, clinic: Clinic) -> Visit:
    plan, version = compiled.plan, compiled.version
    terms = plan.terms_for(request.network)
    if terms is None:
        raise EstimateUnavailableError(
            "NO_NETWORK_TERMS",
            f"{plan.plan_name} ({version.label()}) has no {request.network.value}-of-network "
            "terms in its rules, so the cost cannot be known",
        )
    cpt = clinic.session_types[request.session_type].cpt_code
    return Visit(
        request=request,
        plan=plan,
        version=version,
        terms=terms,
        clinic=clinic,
        cpt=cpt,
        billed_units=billable_units([(cpt, request.minutes)], plan.unit_method)[cpt],
        provider=request.provider or clinic.default_provider,
        period=plan.benefit_period.period_containing(request.date_of_service),
    )


def _coverage(compiled: CompiledPlan, visit: Visit, ledger: Ledger) -> tuple[bool, bool]:
    """Run every coverage check (docs/cost-rules.md §2) and prior authorization; returns
    (covered, prior authorization required)."""
    covered = True
    for check in compiled.checks:
        finding = check.check(visit)
        if finding is not None:
            covered = False
            ledger.finding(finding)
    pa = compiled.prior_authorization
    if pa is None or not pa.applies(visit):
        return covered, False
    if compiled.authorization_decides_coverage:
        if not covered:  # not covered anyway: asking for an authorization would mislead
            return False, False
        finding = pa.check(visit)
        if finding is not None:
            ledger.finding(finding)
            return False, True
        ledger.reasons.append(pa.flag(visit))
        return True, True
    ledger.reasons.append(pa.flag(visit))
    if not visit.request.prior_authorization_on_file:
        ledger.need(pa.requirement(visit))
    return covered, True


def _hsa_reason(plan: PlanRules, ledger: Ledger) -> None:
    ledger.reason(
        "HSA_ELIGIBLE",
        "An HSA can pay for this session; keep a letter of medical necessity (condition, "
        "frequency, duration) from the prescriber.",
        f"{plan.ref}.hsa_eligible",
    )


def _insured(request: SessionRequest, compiled: CompiledPlan, clinic: Clinic) -> Estimate:
    visit = _visit(request, compiled, clinic)
    plan = compiled.plan
    ledger = Ledger()
    covered, pa_required = _coverage(compiled, visit, ledger)
    hsa = plan.hsa_eligible and compiled.medical_purpose(request)
    if covered:
        return _covered(compiled, visit, ledger, pa_required, hsa)
    cash = _cash_price_line(request, clinic, ledger, "not covered")
    if hsa:  # the HSA can pay the cash price too (docs/cost-rules.md §8)
        _hsa_reason(plan, ledger)
    limit = compiled.payment_limit
    return _estimate(
        visit,
        ledger,
        covered=False,
        covered_units=0,
        allowed=0,
        payment=unlimited(0),
        cost=PatientCost(not_covered=cash),
        pa=pa_required,
        hsa=hsa,
        acc_after=request.accumulators,
        clinic_charge=cash,
        benefit_remaining=None if limit is None else limit.remaining_before(visit),
    )


def _covered(
    compiled: CompiledPlan, visit: Visit, ledger: Ledger, pa_required: bool, hsa: bool
) -> Estimate:
    """Price a covered session: unit limits, allowed amount, cost share, payment limits,
    then what the patient pays outside the maximums (docs/cost-rules.md §1-§5)."""
    plan, request = compiled.plan, visit.request
    ledger.reason(
        "COVERED",
        f"{plan.plan_name} covers this {session_words(request.session_type)} session "
        f"{compiled.basis_words}.",
        plan.ref,
    )
    covered_units, cuts = apply_unit_limits(compiled.unit_limits, visit)
    ledger.reason(
        "UNITS",
        f"{request.minutes} minutes make {plural(visit.billed_units, 'unit')} of {visit.cpt} by "
        f"{UNIT_METHOD_WORDS[plan.unit_method]}"
        + "".join(f"; {cut.limit.note(visit)}" for cut in cuts)
        + ".",
        f"{plan.ref}.units",
    )
    pieces = compiled.networks[request.network]
    allowed = apply_reductions(
        compiled.reductions, visit, pieces.pricing.price(visit, covered_units, ledger), ledger
    )
    share = pieces.cost_share.share(visit, allowed, ledger)
    owed = allowed - share.total
    payment = (
        unlimited(owed)
        if compiled.payment_limit is None
        else compiled.payment_limit.apply(visit, owed, ledger)
    )
    ledger.line(LineItemKind.PLAN_PAYMENT, f"{plan.plan_name} pays", payment.pays, visit.terms.ref)
    payment.write_above(ledger)
    units_not_covered = _units_not_covered(visit, cuts, ledger)
    balance = _balance_billing(visit, covered_units, allowed, ledger)
    if hsa:
        _hsa_reason(plan, ledger)
    return _estimate(
        visit,
        ledger,
        covered=True,
        covered_units=covered_units,
        allowed=allowed,
        payment=payment,
        cost=PatientCost(
            share.copay,
            share.deductible,
            share.coinsurance,
            units_not_covered + payment.above_maximum,
            balance,
        ),
        pa=pa_required,
        hsa=hsa,
        acc_after=_after(request.accumulators, share, payment),
        clinic_charge=visit.clinic.charge_per_unit[visit.cpt] * visit.billed_units,
        benefit_remaining=payment.benefit_remaining,
    )


def _units_not_covered(visit: Visit, cuts: list[UnitCut], ledger: Ledger) -> Cents:
    """Units above a cap at the clinic's charge per unit, a line per cap that cut them."""
    charge = visit.clinic.charge_per_unit[visit.cpt]
    total = 0
    for cut in cuts:
        ledger.line(
            LineItemKind.NOT_COVERED,
            f"{visit.cpt}, {cut.limit.above(cut.excess)} at the clinic's charge of "
            f"{format_usd(charge)}",
            cut.excess * charge,
            f"{cut.limit.ref}; {visit.clinic.ref} charge_per_unit.{visit.cpt}",
            cpt_code=visit.cpt,
            units=cut.excess,
            unit_amount=charge,
        )
        total += cut.excess * charge
    return total


def _balance_billing(visit: Visit, covered_units: int, allowed: Cents, ledger: Ledger) -> Cents:
    """Out of network: the clinic's charge for the covered units minus the allowed amount."""
    terms = visit.terms
    if visit.request.network is not Network.OUT or not terms.balance_billing:
        return 0
    charge = visit.clinic.charge_per_unit[visit.cpt] * covered_units
    balance = max(0, charge - allowed)
    ledger.line(
        LineItemKind.BALANCE_BILLING,
        f"balance billing: the clinic's charge {format_usd(charge)} minus the allowed amount "
        f"{format_usd(allowed)}",
        balance,
        f"{terms.ref}.balance_billing; {visit.clinic.ref} charge_per_unit.{visit.cpt}",
    )
    ledger.reason(
        "OUT_OF_NETWORK",
        "Out of network: cost sharing uses the out-of-network allowed amount, and the "
        "clinic may bill the difference to its charge (balance billing).",
        terms.ref,
    )
    return balance


def _after(acc: Accumulators, share: Share, payment: PlanPayment) -> Accumulators:
    """This network's accumulators after a covered visit."""

    def plus(family: Cents | None, amount: Cents) -> Cents | None:
        return None if family is None else family + amount

    return Accumulators(
        deductible_met=acc.deductible_met + share.deductible,
        out_of_pocket_met=acc.out_of_pocket_met + share.total,
        visits_used=acc.visits_used + 1,
        family_deductible_met=plus(acc.family_deductible_met, share.deductible),
        family_out_of_pocket_met=plus(acc.family_out_of_pocket_met, share.total),
        # counted against a benefit maximum only: plans without one leave it as it was given
        benefit_paid=acc.benefit_paid
        + (payment.pays if payment.benefit_remaining is not None else 0),
    )


def _estimate(
    visit: Visit,
    ledger: Ledger,
    *,
    covered: bool,
    covered_units: int,
    allowed: Cents,
    payment: PlanPayment,
    cost: PatientCost,
    pa: bool,
    hsa: bool,
    acc_after: Accumulators,
    clinic_charge: Cents,
    benefit_remaining: Cents | None,
) -> Estimate:
    request, plan, limit = visit.request, visit.plan, visit.plan.visit_limit
    return Estimate(
        plan_id=request.plan_id,
        session_type=request.session_type,
        minutes=request.minutes,
        date_of_service=request.date_of_service,
        covered=covered,
        coverage_basis=plan.coverage_basis,
        reasons=tuple(ledger.reasons),
        cpt_code=visit.cpt,
        unit_method=plan.unit_method,
        billed_units=visit.billed_units,
        covered_units=covered_units,
        allowed_amount=allowed,
        plan_pays=payment.pays,
        patient_pays=cost.total,
        patient_cost=cost,
        line_items=tuple(ledger.lines),
        sessions_remaining=None if limit is None else max(0, limit.visits - acc_after.visits_used),
        visit_limit=None if limit is None else limit.visits,
        visit_limit_shared_with=() if limit is None else ("massage", *limit.shared_with),
        prior_authorization_required=pa,
        hsa_eligible=hsa,
        missing=tuple(ledger.missing),
        rule_version=visit.version,
        benefit_period=visit.period,
        accumulators_after=acc_after,
        clinic_charge=clinic_charge,
        benefit_remaining=benefit_remaining,
    )
