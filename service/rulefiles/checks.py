"""Checks of a rule-set file that need several fields or the clinic, each problem named by
its field path; every problem of a file is reported in one pass (the parts that are sound are
checked even when others fail the structural pass)."""

from __future__ import annotations

import functools
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from service.domain.model import (
    Clinic,
)
from service.domain.money import format_usd, parse_dollars
from service.rulefiles.build import expand_types, month_day
from service.rulefiles.models import (
    CodeRateModel,
    CopayTierModel,
    DiagnosisLogicModel,
    NetworkTermsModel,
    PlanModel,
    RuleSetModel,
    SameDayReductionModel,
)
from service.rulefiles.problems import ERROR, WARNING, Problem
from service.rulefiles.yamlsource import did_you_mean, unwrap

ICD10_PREFIX = re.compile(r"^[A-Z][0-9]([0-9A-Z](\.[0-9A-Z]{1,4})?)?$")


class _Checker:
    """Collects problems for one rule-set file, naming plans by id."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def error(self, field: str, message: str) -> None:
        self.problems.append(Problem(self.source, field, message, ERROR))

    def warn(self, field: str, message: str) -> None:
        self.problems.append(Problem(self.source, field, message, WARNING))


def check_rule_set(m: RuleSetModel, source: str, clinic: Clinic) -> list[Problem]:
    c = _Checker(source)
    _check_dates(m.effective_from, m.effective_to, c)
    _check_plans(list(enumerate(m.plans, start=1)), c, clinic)
    return c.problems


class _Dates(BaseModel):
    effective_from: date
    effective_to: date | None = None


def check_sound_parts(data: Mapping[str, Any], source: str, clinic: Clinic) -> list[Problem]:
    """After a structural error, still check the parts that are sound (the dates, each plan
    that validates on its own), so one broken plan does not hide another plan's mistakes."""
    c = _Checker(source)
    try:
        dates = _Dates.model_validate(
            {k: data[k] for k in ("effective_from", "effective_to") if k in data}
        )
    except ValidationError:
        pass  # already reported by the structural pass
    else:
        _check_dates(dates.effective_from, dates.effective_to, c)
    raw_plans = data.get("plans")
    whole: list[tuple[int, PlanModel]] = []
    broken: list[tuple[int, PlanModel]] = []
    for number, raw in enumerate(raw_plans if isinstance(raw_plans, list) else [], start=1):
        try:
            whole.append((number, PlanModel.model_validate(raw)))
        except ValidationError:  # reported by the structural pass; check what is sound in it
            part = partial_model(PlanModel, raw)
            if part is not None:
                broken.append((number, part))
    _check_plans(whole, c, clinic)
    _check_plans(broken, c, clinic, partial=True)
    return c.problems


M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def partial_model(model: type[M], raw: Any) -> M | None:
    """The fields of `raw` that pass the structural checks on their own, as a model missing
    the rest (blocks are taken apart field by field too), so the checks of meaning can still
    run on every sound part of a block that has a broken one."""
    if not isinstance(raw, dict):
        return None
    values: dict[str, Any] = {}
    broken: list[str] = []
    for name, info in model.model_fields.items():
        if name not in raw:
            if not info.is_required():
                values[name] = info.get_default(call_default_factory=True)
            continue
        inner = unwrap(info.annotation)
        if isinstance(inner, type) and issubclass(inner, BaseModel) and isinstance(raw[name], dict):
            part = partial_model(inner, raw[name])
            if part is not None:
                values[name] = part
            continue
        try:
            values[name] = TypeAdapter(info.rebuild_annotation()).validate_python(raw[name])
        except ValidationError:
            items = _partial_items(info.annotation, raw[name])
            if items is None:
                broken.append(name)
            else:
                values[name] = items
    part = model.model_construct(**values)
    for name in broken:  # absent, not defaulted: a check that reads it is skipped
        part.__dict__.pop(name, None)
    return part


def _partial_items(annotation: Any, raw: Any) -> list[Any] | None:
    """A list whose items failed the structural pass one by one: the sound items in their
    places and None for the broken ones (checks skip None), so one bad code or tier does not
    hide the checks of the others. None when `raw` is not a list of such a field."""
    item_type = _list_item(annotation)
    if item_type is None or not isinstance(raw, list):
        return None
    inner = unwrap(item_type)
    out: list[Any] = []
    for item in raw:
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            out.append(partial_model(inner, item))
            continue
        try:
            out.append(TypeAdapter(item_type).validate_python(item))
        except ValidationError:
            out.append(None)
    return out


def _list_item(annotation: Any) -> Any:
    """The item type of the list in a field's annotation (through Optional, Annotated and a
    tagged union's list branch), or None."""
    origin = typing.get_origin(annotation)
    if origin is list:
        return typing.get_args(annotation)[0]
    if origin is typing.Annotated:
        return _list_item(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        for member in typing.get_args(annotation):
            found = _list_item(member)
            if found is not None:
                return found
    return None


def _present(items: Iterable[T | None]) -> list[T]:
    """The items a partial block kept (None stands for one that failed the structural pass)."""
    return [i for i in items if i is not None]


def _check_dates(effective_from: date, effective_to: date | None, c: _Checker) -> None:
    if effective_to is not None and effective_to < effective_from:
        c.error(
            "effective_to",
            f"{effective_to.isoformat()} is before effective_from {effective_from.isoformat()}",
        )


def _check_plans(
    plans: list[tuple[int, PlanModel]], c: _Checker, clinic: Clinic, *, partial: bool = False
) -> None:
    seen: set[str] = set()
    for number, plan in plans:
        plan_id = getattr(plan, "id", None)
        if plan_id is None:  # a broken id: name the plan by its place, as the structural pass
            _check_plan(plan, f"plans[#{number}]", c, clinic, partial)
            continue
        at = f"plans[{plan_id}]"
        if plan_id in seen:
            at = f"plans[#{number}]"  # the id no longer tells the two apart
            c.error(f"{at}.id", f'plan id "{plan_id}" appears more than once in this file')
        seen.add(plan_id)
        _check_plan(plan, at, c, clinic, partial)


def _check_plan(p: PlanModel, at: str, c: _Checker, clinic: Clinic, partial: bool) -> None:
    """Every check of one plan. On a partial plan (one with parts that failed the structural
    pass) a check that needs a missing part is skipped; the others still report."""

    def codes() -> list[str]:
        types = expand_types(getattr(p, "covered_session_types", ()), clinic)
        return sorted({clinic.session_types[t].cpt_code for t in types})

    steps: list[Callable[[], None]] = [
        lambda: _check_id(p, at, c),
        lambda: _check_period(p, at, c),
        lambda: _check_session_types(p, at, c, clinic),
        lambda: _check_referral(p, at, c),
        lambda: check_diagnoses(p.qualifying_diagnoses, f"{at}.qualifying_diagnoses", c),
        lambda: _check_terms(
            p, p.in_network, f"{at}.in_network", c, clinic, codes(), True, partial
        ),
        lambda: _check_terms(
            p, p.out_of_network, f"{at}.out_of_network", c, clinic, codes(), False, partial
        ),
        lambda: _check_units(p, at, c),
        lambda: _check_visits(p, at, c),
        lambda: _check_payment_limit(p, at, c),
        lambda: _check_reductions(p, at, c, clinic),
        lambda: _check_providers_and_networks(p, at, c),
    ]
    _run_steps(steps, partial=partial)


def _check_id(p: PlanModel, at: str, c: _Checker) -> None:
    if p.id == "self-pay":
        c.error(f"{at}.id", '"self-pay" is reserved for clients without insurance')


def _check_providers_and_networks(p: PlanModel, at: str, c: _Checker) -> None:
    if p.rendering_providers is not None:
        if not p.rendering_providers:
            c.error(
                f"{at}.rendering_providers",
                "list at least one of lmt, pt, dc, md_do, or remove the line to let anyone "
                "render massage the plan pays for",
            )
        _dupes(c, f"{at}.rendering_providers", p.rendering_providers)
    if p.network_accumulation == "combined" and (
        p.out_of_network is None or not p.out_of_network.covered
    ):
        c.warn(
            f"{at}.network_accumulation",
            "the plan covers no out-of-network terms, so combining the networks' totals has "
            "no effect",
        )
    _dupes(c, f"{at}.excluded_injuries", p.excluded_injuries)


def _check_period(p: PlanModel, at: str, c: _Checker) -> None:
    bp = p.benefit_period
    if bp.type == "plan_year":
        if bp.starts is None:
            c.error(
                f"{at}.benefit_period.starts",
                'a plan_year needs the month and day it starts, like starts: "07-01"',
            )
        elif month_day(bp.starts) is None:
            c.error(
                f"{at}.benefit_period.starts",
                f'"{bp.starts}" is not a month and day; write it like "07-01" (MM-DD)',
            )
    elif bp.starts is not None:
        c.error(
            f"{at}.benefit_period.starts",
            "a calendar_year always starts on January 1; remove starts or use type: plan_year",
        )


def _check_session_types(p: PlanModel, at: str, c: _Checker, clinic: Clinic) -> None:
    groups = clinic.groups()
    known = sorted(groups) + sorted(clinic.session_types)
    if not p.covered_session_types:
        c.error(f"{at}.covered_session_types", "list at least one group or session type")
    for name in _present(p.covered_session_types):
        if name not in groups and name not in clinic.session_types:
            c.error(
                f"{at}.covered_session_types",
                f'"{name}" is not a session-type group or session type of the clinic; '
                f"known: {', '.join(known)}.{did_you_mean(name, known)}",
            )
    _dupes(c, f"{at}.covered_session_types", p.covered_session_types)


def _check_referral(p: PlanModel, at: str, c: _Checker) -> None:
    r = p.referral
    if not r.required:
        for name, value in (
            ("accepted", r.accepted),
            ("valid_days", r.valid_days),
            ("valid_months", r.valid_months),
        ):
            if value:
                c.error(
                    f"{at}.referral.{name}",
                    "the referral is not required, so this has no effect; remove it or set "
                    "required: true",
                )
        return
    if not r.accepted:
        c.error(
            f"{at}.referral.accepted",
            "a required referral needs the kinds accepted: prescription, "
            "physician_referral, integrative_care_plan",
        )
    if r.valid_days is None and r.valid_months is None:
        c.error(
            f"{at}.referral.valid_days",
            "a required referral needs valid_days (how many days after its issue date it stays "
            "valid, e.g. 90) or valid_months (how many calendar months, e.g. 6)",
        )
    elif r.valid_days is not None and r.valid_months is not None:
        c.error(
            f"{at}.referral.valid_months",
            "give either valid_days or valid_months, not both (months are calendar months, not "
            "a number of days)",
        )


def _check_units(p: PlanModel, at: str, c: _Checker) -> None:
    per_visit, per_day = p.units.max_per_visit, p.units.max_per_day
    if per_visit is not None and per_day is not None and per_day < per_visit:
        c.warn(
            f"{at}.units.max_per_day",
            f"{per_day} units a day is less than the {per_visit} a visit, so the daily cap "
            "decides every visit; check the numbers",
        )


def _check_visits(p: PlanModel, at: str, c: _Checker) -> None:
    if p.visit_limit is None:
        return
    _dupes(c, f"{at}.visit_limit.shared_with", p.visit_limit.shared_with)
    if (
        p.prior_authorization is not None
        and p.prior_authorization.from_visit > p.visit_limit.visits
    ):
        c.warn(
            f"{at}.prior_authorization.from_visit",
            f"visit {p.prior_authorization.from_visit} is beyond the visit limit of "
            f"{p.visit_limit.visits}, so prior authorization is never asked for",
        )


def _check_payment_limit(p: PlanModel, at: str, c: _Checker) -> None:
    limit = p.plan_payment_limit
    if limit is None:
        return
    if limit.per_visit is None and limit.per_benefit_period is None:
        c.error(
            f"{at}.plan_payment_limit",
            "give per_visit, per_benefit_period or both; or remove plan_payment_limit",
        )
    for name, amount in (
        ("per_visit", limit.per_visit),
        ("per_benefit_period", limit.per_benefit_period),
    ):
        if amount is not None and parse_dollars(amount) == 0:
            c.error(
                f"{at}.plan_payment_limit.{name}",
                "a limit of $0.00 would quote every session as covered with the plan paying "
                "nothing; give the real limit, or do not cover the service",
            )
    if (
        limit.per_visit is not None
        and limit.per_benefit_period is not None
        and parse_dollars(limit.per_visit) > parse_dollars(limit.per_benefit_period)
    ):
        c.warn(
            f"{at}.plan_payment_limit.per_visit",
            f"{_usd(limit.per_visit)} a visit is more than the "
            f"{_usd(limit.per_benefit_period)} a "
            "benefit period; check the numbers",
        )


def _check_reductions(p: PlanModel, at: str, c: _Checker, clinic: Clinic) -> None:
    seen: dict[str, int] = {}
    for n, reduction in enumerate(p.same_day_reductions, start=1):
        if reduction is None:
            continue
        where = f"{at}.same_day_reductions[#{n}]"
        _run_steps(
            [
                functools.partial(_check_reduction_codes, reduction, where, c, clinic, n, seen),
                functools.partial(_check_reduction_percent, reduction, where, c),
            ],
            partial=_is_partial(reduction),
        )


def _check_reduction_codes(
    reduction: SameDayReductionModel, where: str, c: _Checker, clinic: Clinic, n: int,
    seen: dict[str, int],
) -> None:  # fmt: skip
    for code in _present(reduction.procedure_codes):
        if code in clinic.charge_per_unit:
            c.warn(
                f"{where}.procedure_codes",
                f"{code} is a code the clinic bills for massage itself; a same-day "
                "reduction names the other procedure (e.g. 98940)",
            )
        if code in seen and seen[code] != n:
            c.error(
                f"{where}.procedure_codes",
                f"{code} is also listed in same_day_reductions[#{seen[code]}]; which "
                "reduction applies would be ambiguous",
            )
        seen.setdefault(code, n)
    _dupes(c, f"{where}.procedure_codes", reduction.procedure_codes)


def _check_reduction_percent(reduction: SameDayReductionModel, where: str, c: _Checker) -> None:
    percent = Decimal(reduction.allowed_percent)
    if percent == 0:
        c.error(
            f"{where}.allowed_percent",
            "0% would make the allowed amount $0.00: the plan paying nothing for a "
            "covered visit; give the real percentage",
        )
    elif percent == 100:
        c.warn(f"{where}.allowed_percent", "100% leaves the allowed amount as it is")


# ---------------------------------------------------------------------------- diagnoses

_CATEGORY = re.compile(r"^[A-Z][0-9][0-9A-Z]$")
_PREFIX_FORM = (
    "a capital letter and digits, with the dot after the third character, like M54.5, M15 "
    "or S39.01; or a range of three-character categories like Z00-Z13"
)


def check_diagnoses(rule: list[str] | DiagnosisLogicModel, at: str, c: _Checker) -> None:
    """Every entry of every list; a logic block has exactly one of any_of, any_except and
    all_of."""
    if isinstance(rule, list):
        _check_code_list(rule, at, c)
        return
    given = [
        (name, value)
        for name, value in (
            ("any_of", rule.any_of),
            ("any_except", rule.any_except),
            ("all_of", rule.all_of),
        )
        if value is not None
    ]
    if len(given) != 1:
        c.error(
            at,
            "give exactly one of any_of (a list of qualifying codes), any_except (codes that "
            "never qualify) or all_of (groups that must all be present)"
            + (f"; this block gives {' and '.join(n for n, _ in given)}" if given else ""),
        )
    if rule.any_of is not None:
        _check_code_list(rule.any_of, f"{at}.any_of", c)
    if rule.any_except is not None:
        _check_code_list(rule.any_except, f"{at}.any_except", c)
    if rule.all_of is not None:
        if len(rule.all_of) < 2:
            c.warn(
                f"{at}.all_of",
                "all_of with one group means the same as a plain list; all_of is for codes "
                "needed together, like [[M54.5], [G89.2, G89.4]]",
            )
        for n, group in enumerate(rule.all_of, start=1):
            if group is not None:
                _check_code_list(group, f"{at}.all_of[#{n}]", c)


def _check_code_list(codes: list[str], at: str, c: _Checker) -> None:
    if not codes:
        c.error(at, "list at least one ICD-10 code prefix")
    for code in _present(codes):
        problem = _code_problem(code)
        if problem is not None:
            c.error(at, problem)
        elif "-" not in code and "X" in code[3:]:
            c.warn(
                at,
                f'"{code}": X is ICD-10-CM\'s placeholder character, not a wildcard, so '
                f'"{code}" matches only codes written with that X (as S13.4XXA is under '
                f"S13.4X). To match every code under {code.split('X')[0].rstrip('.')}, write "
                f"{code.split('X')[0].rstrip('.')}",
            )
    _dupes(c, at, codes)


def _code_problem(code: str) -> str | None:
    """Why an entry is not a code prefix or category range; None when it is one."""
    if "-" in code:
        low, _, high = code.partition("-")
        if code != code.upper() and _CATEGORY.match(low.upper()) and _CATEGORY.match(high.upper()):
            return f'"{code}": write it in capitals, {code.upper()}'
        if not (_CATEGORY.match(low) and _CATEGORY.match(high)):
            return (
                f'"{code}" is not a range of categories: write two three-character '
                "categories, like Z00-Z13"
            )
        if low > high:
            return f'"{code}": the range runs backwards; write it as {high}-{low}'
        return None
    if ICD10_PREFIX.match(code):
        return None
    upper = code.upper()
    if ICD10_PREFIX.match(upper):
        if "x" in code[3:]:
            stem = upper.split("X")[0].rstrip(".")
            return (
                f'"{code}": write codes in capitals; and X is ICD-10-CM\'s placeholder '
                f"character, not a wildcard: to match every code under {stem}, write {stem}"
            )
        return f'"{code}": write it in capitals, {upper}'
    if re.fullmatch(r"[A-Za-z]", code):
        return (
            f'"{code}" alone would match a whole chapter of ICD-10-CM; a prefix needs at '
            f"least a letter and a digit, like {upper}5 or {upper}54"
        )
    return f'"{code}" is not an ICD-10 code prefix: {_PREFIX_FORM}'


def _usd(amount: str | None) -> str:
    """A checked money field as a clerk reads money: $1,600.00."""
    return format_usd(parse_dollars(amount or "0"))


_ZERO_ALLOWED = (
    "a covered unit or visit allowed $0.00 would be quoted as covered with nothing to pay for "
    "anyone; give the real amount, or cap the covered units with units.max_per_visit"
)


def _check_terms(
    p: PlanModel,
    t: NetworkTermsModel | None,
    at: str,
    c: _Checker,
    clinic: Clinic,
    covered_codes: list[str],
    in_network: bool,
    partial: bool = False,
) -> None:
    if t is None:
        return
    if not t.covered:
        if in_network:
            c.error(
                f"{at}.covered",
                "a plan must cover in-network sessions; a plan that covers nothing does not "
                "belong in the rules",
            )
        for name, value in t:
            if name != "covered" and value is not None:
                c.error(
                    f"{at}.{name}",
                    "this network is not covered (covered: false), so terms here have no "
                    "effect; remove them",
                )
        return
    _run_steps(
        [
            lambda: _check_rates(p, t, at, c, clinic, covered_codes),
            *_copay_steps(p, t, at, c),
            lambda: _check_deductible_and_maximum(t, at, c),
            lambda: _check_balance_billing(t, at, c, in_network),
        ],
        partial=partial or _is_partial(t),
    )


def _check_balance_billing(t: NetworkTermsModel, at: str, c: _Checker, in_network: bool) -> None:
    if in_network and t.balance_billing:
        c.error(
            f"{at}.balance_billing",
            "in-network providers may not balance bill; balance_billing belongs to out_of_network",
        )


def _is_partial(model: BaseModel) -> bool:
    """A block built by partial_model that lacks a field which failed the structural pass."""
    return any(name not in model.__dict__ for name in type(model).model_fields)


def _run_steps(steps: list[Callable[[], None]], *, partial: bool) -> None:
    """Run every check; on a partial block, skip a check that needs a part the structural
    pass already reported (it raises AttributeError reading it) and run the others."""
    for step in steps:
        if not partial:
            step()
            continue
        try:
            step()
        except AttributeError:
            continue


def _check_rates(
    p: PlanModel,
    t: NetworkTermsModel,
    at: str,
    c: _Checker,
    clinic: Clinic,
    covered_codes: list[str],
) -> None:
    flat = p.units.method == "per_visit_flat"
    if flat:
        if t.allowed_per_visit is not None and parse_dollars(t.allowed_per_visit) == 0:
            c.error(f"{at}.allowed_per_visit", _ZERO_ALLOWED)
        if t.allowed_per_visit is None:
            c.error(
                f"{at}.allowed_per_visit",
                "units.method per_visit_flat needs allowed_per_visit: the allowed amount for "
                "one visit",
            )
        if t.allowed_per_unit is not None:
            c.error(
                f"{at}.allowed_per_unit",
                "not used with units.method per_visit_flat (one amount per visit); remove it "
                "or change the method",
            )
    else:
        if t.allowed_per_visit is not None:
            c.error(
                f"{at}.allowed_per_visit",
                f"not used with units.method {p.units.method} (amounts per unit); use "
                "allowed_per_unit, or units.method per_visit_flat",
            )
        rates = t.allowed_per_unit or {}
        if t.allowed_per_unit is None:
            c.error(
                f"{at}.allowed_per_unit",
                f"units.method {p.units.method} needs allowed_per_unit with an amount for each "
                f"covered CPT code: {', '.join(covered_codes)}",
            )
        else:
            for code in covered_codes:
                if code not in rates:
                    c.error(
                        f"{at}.allowed_per_unit",
                        f"no allowed amount for CPT code {code}, which the covered session "
                        "types bill",
                    )
        _check_each_rate(rates, at, c, clinic, covered_codes)


def _check_each_rate(
    rates: Mapping[str, CodeRateModel],
    at: str,
    c: _Checker,
    clinic: Clinic,
    covered_codes: list[str],
) -> None:
    billed = sorted(clinic.charge_per_unit)
    for code, rate in rates.items():
        if code not in clinic.charge_per_unit:
            c.error(
                f"{at}.allowed_per_unit.{code}",
                f"unknown CPT code {code}: the clinic bills {', '.join(billed)}",
            )
        elif code not in covered_codes:
            c.warn(
                f"{at}.allowed_per_unit.{code}",
                f"CPT code {code} is billed by no covered session type, so this amount is "
                "never used",
            )
        if parse_dollars(rate.first_unit) == 0:
            c.error(f"{at}.allowed_per_unit.{code}", _ZERO_ALLOWED)
        if rate.later_units is not None and parse_dollars(rate.later_units) == 0:
            c.error(f"{at}.allowed_per_unit.{code}.later_units", _ZERO_ALLOWED)
        if rate.later_units is not None and parse_dollars(rate.later_units) > parse_dollars(
            rate.first_unit
        ):
            c.warn(
                f"{at}.allowed_per_unit.{code}.later_units",
                "later units are allowed more than the first unit; usually it is the "
                "other way round",
            )


def _copay_steps(
    p: PlanModel, t: NetworkTermsModel, at: str, c: _Checker
) -> list[Callable[[], None]]:
    """The copay's checks, each on its own so a broken part skips only what needs it."""

    def without_copay() -> None:
        if t.copay is not None:
            return
        if t.copay_applies is not None:
            c.error(
                f"{at}.copay_applies", "there is no copay to apply; remove the line or give a copay"
            )
        if t.coinsurance_percent is None:
            c.error(
                f"{at}.coinsurance_percent",
                'give the coinsurance (write "0" when the plan pays the whole allowed amount '
                "after the deductible), or a copay",
            )

    def tiers() -> None:
        if isinstance(t.copay, list):
            _check_copay_tiers(p, t.copay, f"{at}.copay", c)

    def order() -> None:
        after = t.copay_applies == "after_deductible"
        if t.copay is None:
            return
        if t.deductible_applies and not after:
            c.error(
                f"{at}.deductible_applies",
                "a copay together with a deductible that applies: say which comes first. "
                "copay_applies: after_deductible charges the deductible first, then the copay; "
                "otherwise use either the copay, or the deductible with coinsurance",
            )
        if after and not t.deductible_applies:
            c.error(
                f"{at}.copay_applies",
                "a copay after the deductible needs the deductible: give deductible and "
                "deductible_applies: true",
            )

    def coinsurance() -> None:
        if t.copay is None or t.coinsurance_percent is None:
            return
        if Decimal(t.coinsurance_percent) != 0:
            c.error(
                f"{at}.coinsurance_percent",
                'a copay plan charges no coinsurance; remove the copay or set coinsurance to "0"',
            )

    return [without_copay, tiers, order, coinsurance]


def _check_copay_tiers(
    p: PlanModel, tiers: Sequence[CopayTierModel | None], at: str, c: _Checker
) -> None:
    """Tiers start at visit 1, follow on without gaps or overlaps, and reach every visit the
    plan covers (the last one open-ended, or up to the visit limit). A tier that failed the
    structural pass ends the checks: what follows it cannot be judged."""
    if not tiers:
        c.error(at, 'list at least one tier, like - {from_visit: 1, amount: "20.00"}')
        return
    expected = 1
    for n, tier in enumerate(tiers, start=1):
        if tier is None:
            return
        where = f"{at}[#{n}]"
        if tier.from_visit != expected:
            c.error(
                f"{where}.from_visit",
                f"tier {n} starts at visit {tier.from_visit}, but visit {expected} is next: "
                "tiers start at visit 1 and follow on without gaps or overlaps, in order",
            )
        if tier.to_visit is None:
            if n != len(tiers):
                c.error(f"{where}.to_visit", "only the last tier may leave out to_visit")
            return
        if tier.to_visit < tier.from_visit:
            c.error(
                f"{where}.to_visit", f"visit {tier.to_visit} is before from_visit {tier.from_visit}"
            )
        expected = max(tier.to_visit, tier.from_visit) + 1
    limit = p.visit_limit.visits if p.visit_limit is not None else None
    last = expected - 1
    if limit is None:
        c.error(
            f"{at}[#{len(tiers)}].to_visit",
            f"visits after {last} would have no copay: leave out to_visit on the last tier "
            "so it covers every later visit",
        )
    elif last < limit:
        c.error(
            f"{at}[#{len(tiers)}].to_visit",
            f"visits {last + 1} to {limit} of the {limit}-visit limit have no copay: extend "
            "the last tier, or leave out its to_visit",
        )


def _check_deductible_and_maximum(t: NetworkTermsModel, at: str, c: _Checker) -> None:
    deductible = parse_dollars(t.deductible) if t.deductible is not None else 0
    if t.deductible_applies and deductible == 0:
        c.error(f"{at}.deductible", "deductible_applies is true but no deductible amount is given")
    if t.deductible is not None and t.deductible_applies is None:
        c.error(
            f"{at}.deductible_applies",
            "say whether the deductible applies to massage: deductible_applies: true or false",
        )
    oop = parse_dollars(t.out_of_pocket_max) if t.out_of_pocket_max is not None else None
    if oop is not None and oop < deductible:
        c.error(
            f"{at}.out_of_pocket_max",
            f"the out-of-pocket maximum {_usd(t.out_of_pocket_max)} is below the deductible "
            f"{_usd(t.deductible)}",
        )
    family = parse_dollars(t.family_deductible) if t.family_deductible is not None else None
    if family is not None:
        if not t.deductible_applies:
            c.error(
                f"{at}.family_deductible",
                "a family deductible needs the individual deductible that applies: give "
                "deductible and deductible_applies: true",
            )
        elif family < deductible:
            c.error(
                f"{at}.family_deductible",
                f"the family deductible {_usd(t.family_deductible)} is below the individual's "
                f"{_usd(t.deductible)}",
            )
    if t.family_out_of_pocket_max is not None:
        family_oop = parse_dollars(t.family_out_of_pocket_max)
        if oop is None:
            c.error(
                f"{at}.family_out_of_pocket_max",
                "a family out-of-pocket maximum needs the individual's: give out_of_pocket_max",
            )
        elif family_oop < oop:
            c.error(
                f"{at}.family_out_of_pocket_max",
                f"the family out-of-pocket maximum {_usd(t.family_out_of_pocket_max)} is below "
                f"the individual's {_usd(t.out_of_pocket_max)}",
            )
        if family is not None and family_oop < family:
            c.error(
                f"{at}.family_out_of_pocket_max",
                f"the family out-of-pocket maximum {_usd(t.family_out_of_pocket_max)} is below "
                f"the family deductible {_usd(t.family_deductible)}",
            )


def _dupes(c: _Checker, field: str, values: Iterable[str | None]) -> None:
    seen: set[str] = set()
    for v in _present(values):
        if v in seen:
            c.warn(field, f'"{v}" is listed twice')
        seen.add(v)
