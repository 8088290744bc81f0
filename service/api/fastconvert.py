"""The estimate -> proto conversion the handlers use: convert.estimate_to_proto with its
repeated parts built once and reused.

Most of an answer's sub-messages repeat across quotes: the rule version of a plan version,
the benefit period, the dates, and amounts such as $0.00 or a plan's copay. Building them
cost more than the quote itself (docs/performance.md). Here they come from caches of
ready messages, which protobuf copies into each answer, so an answer is byte for byte the
one convert.estimate_to_proto builds (the reference path; tests/api/test_fastconvert.py
compares the two on every sample payer and on random requests).

The caches are bounded: when one holds CACHE_LIMIT entries it is emptied and refilled, so a
long-running server with many rule versions or amounts never grows without limit.
"""

from __future__ import annotations

from datetime import date

from google.type import date_pb2, money_pb2
from massage_estimator.v1 import estimator_pb2 as pb

from service import wire
from service.api import convert
from service.api.convert import accumulators_to_proto, rule_version_to_proto
from service.domain import model
from service.domain.money import Cents

CACHE_LIMIT = 100_000

_money: dict[Cents, money_pb2.Money] = {}
_dates: dict[date, date_pb2.Date] = {}
_periods: dict[tuple[date, date], pb.BenefitPeriod] = {}
# id(version) -> (the version itself, so the id cannot have been reused; plan -> message)
_versions: dict[int, tuple[model.RuleSetVersion, dict[str, pb.RuleVersion]]] = {}
_accumulators: dict[model.Accumulators, pb.Accumulators] = {}
_reasons: dict[model.Reason, pb.Reason] = {}
_UNSPECIFIED_METHOD = pb.UNIT_METHOD_UNSPECIFIED


def money(cents: Cents) -> money_pb2.Money:
    """A ready Money for an amount (never modify it: it is shared)."""
    found = _money.get(cents)
    if found is None:
        if len(_money) >= CACHE_LIMIT:
            _money.clear()
        found = _money[cents] = wire.money_to_proto(cents)
    return found


def _date(value: date) -> date_pb2.Date:
    found = _dates.get(value)
    if found is None:
        if len(_dates) >= CACHE_LIMIT:
            _dates.clear()
        found = _dates[value] = wire.date_to_proto(value)
    return found


def _period(start: date, end: date) -> pb.BenefitPeriod:
    key = (start, end)
    found = _periods.get(key)
    if found is None:
        if len(_periods) >= CACHE_LIMIT:
            _periods.clear()
        found = _periods[key] = pb.BenefitPeriod(start_date=_date(start), end_date=_date(end))
    return found


def _rule_version(version: model.RuleSetVersion, plan_id: str) -> pb.RuleVersion:
    entry = _versions.get(id(version))
    if entry is None or entry[0] is not version:
        if len(_versions) >= CACHE_LIMIT:
            _versions.clear()
        entry = _versions[id(version)] = (version, {})
    found = entry[1].get(plan_id)
    if found is None:
        found = entry[1][plan_id] = rule_version_to_proto(version, plan_id)
    return found


def _accumulated(acc: model.Accumulators) -> pb.Accumulators:
    found = _accumulators.get(acc)
    if found is None:
        if len(_accumulators) >= CACHE_LIMIT:
            _accumulators.clear()
        found = _accumulators[acc] = accumulators_to_proto(acc)
    return found


def _reason(reason: model.Reason) -> pb.Reason:
    found = _reasons.get(reason)
    if found is None:
        if len(_reasons) >= CACHE_LIMIT:
            _reasons.clear()
        found = _reasons[reason] = pb.Reason(
            code=reason.code, message=reason.message, rule_ref=reason.rule_ref
        )
    return found


def _line_item(item: model.LineItem) -> pb.LineItem:
    if item.unit_amount is None:
        return pb.LineItem(
            kind=wire.LINE_ITEM_KINDS[item.kind],
            description=item.description,
            cpt_code=item.cpt_code,
            units=item.units,
            amount=money(item.amount),
            rule_ref=item.rule_ref,
        )
    return pb.LineItem(
        kind=wire.LINE_ITEM_KINDS[item.kind],
        description=item.description,
        cpt_code=item.cpt_code,
        units=item.units,
        amount=money(item.amount),
        rule_ref=item.rule_ref,
        unit_amount=money(item.unit_amount),
    )


def estimate_to_proto(est: model.Estimate) -> pb.Estimate:
    """The same message as convert.estimate_to_proto(est), from cached parts, in one
    constructor call."""
    cost = est.patient_cost
    optional: dict[str, object] = {}
    if est.sessions_remaining is not None:
        optional["sessions_remaining"] = est.sessions_remaining
    if est.visit_limit is not None:
        optional["visit_limit"] = est.visit_limit
    if est.rule_version is not None:
        optional["rule_version"] = _rule_version(est.rule_version, est.plan_id)
    if est.benefit_period is not None:
        optional["benefit_period"] = _period(*est.benefit_period)
    if est.benefit_remaining is not None:
        optional["benefit_remaining"] = money(est.benefit_remaining)
    if est.location_id:  # only when the request named a location (as convert does)
        optional["location_id"] = est.location_id
    if est.network_source is not None:
        optional["network_source"] = wire.NETWORK_SOURCES[est.network_source]
    if est.clinic_version is not None:
        optional["clinic_version"] = convert.clinic_version_to_proto(est.clinic_version)
    return pb.Estimate(
        covered=est.covered,
        coverage_basis=wire.COVERAGE_BASES[est.coverage_basis],
        reasons=[_reason(r) for r in est.reasons],
        cpt_code=est.cpt_code,
        unit_method=(
            _UNSPECIFIED_METHOD if est.unit_method is None else wire.UNIT_METHODS[est.unit_method]
        ),
        billed_units=est.billed_units,
        covered_units=est.covered_units,
        allowed_amount=money(est.allowed_amount),
        plan_pays=money(est.plan_pays),
        patient_pays=money(est.patient_pays),
        patient_cost=pb.PatientCost(
            copay=money(cost.copay),
            deductible=money(cost.deductible),
            coinsurance=money(cost.coinsurance),
            not_covered=money(cost.not_covered),
            balance_billing=money(cost.balance_billing),
        ),
        line_items=[_line_item(item) for item in est.line_items],
        visit_limit_shared_with=est.visit_limit_shared_with,
        prior_authorization_required=est.prior_authorization_required,
        hsa_eligible=est.hsa_eligible,
        missing=[pb.Requirement(code=m.code, message=m.message) for m in est.missing],
        plan_id=est.plan_id,
        session_type=est.session_type,
        minutes=est.minutes,
        date_of_service=_date(est.date_of_service),
        accumulators_after=_accumulated(est.accumulators_after),
        clinic_charge=money(est.clinic_charge),
        **optional,  # type: ignore[arg-type]
    )
