"""Rule files -> domain objects: parse, check everything, and report every problem at once.

Order of work for a rule-set file: YAML text -> pydantic structure (types, unknown keys) ->
checks that need several fields or the clinic (named by field path) -> canonical content and
checksum -> domain PlanRules. Nothing is built unless the file is free of errors, so the
service never runs on half-understood rules.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from service.domain.model import (
    BenefitPeriodRule,
    CashPrice,
    Clinic,
    CodeRate,
    CoverageBasis,
    Injury,
    NetworkTerms,
    PeriodKind,
    PlanRules,
    ReferralKind,
    ReferralRule,
    RuleSetVersion,
    SessionType,
    UnitMethod,
    VisitLimit,
)
from service.domain.money import parse_dollars
from service.resources import SAMPLE_RULES_DIR
from service.rulefiles.models import (
    ClinicModel,
    NetworkTermsModel,
    PlanModel,
    RuleSetModel,
)
from service.rulefiles.problems import ERROR, WARNING, Problem, RuleFileError
from service.rulefiles.yamlsource import did_you_mean, load_yaml, pydantic_problems

DEFAULT_RULES_DIR = SAMPLE_RULES_DIR
CLINIC_FILE_NAME = "clinic.yaml"

ICD10_PREFIX = re.compile(r"^[A-Z][0-9]([0-9A-Z](\.[0-9A-Z]{1,4})?)?$")
MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


# ---------------------------------------------------------------------------- result


@dataclass(frozen=True)
class ParsedRuleSet:
    """A validated rule-set file: the domain plans plus the canonical content that storage
    keeps and the checksum that identifies it (formatting, comments and key order do not
    change it; any rule value does)."""

    payer_id: str
    payer_name: str
    version: str
    effective_from: date
    effective_to: date | None
    note: str
    plans: tuple[PlanRules, ...]
    content: dict[str, Any]
    checksum: str
    source: str
    warnings: tuple[Problem, ...] = ()

    def to_version(
        self, published_at: datetime, published_by: str = "", note: str | None = None
    ) -> RuleSetVersion:
        """The immutable published version of these rules (storage sets the moment)."""
        return RuleSetVersion(
            payer_id=self.payer_id,
            payer_name=self.payer_name,
            version=self.version,
            effective_from=self.effective_from,
            effective_to=self.effective_to,
            plans=self.plans,
            checksum=self.checksum,
            published_at=published_at,
            published_by=published_by,
            note=self.note if note is None else note,
            source=self.source,
        )


def canonical_json(content: Mapping[str, Any]) -> str:
    """The one byte-exact JSON text of canonical content (sorted keys, no spaces)."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_checksum(content: Mapping[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------- clinic


def load_clinic_file(path: str | Path) -> Clinic:
    """Read and validate a clinic profile (payer_rules/clinic.yaml)."""
    text, problems = _read(Path(path))
    if text is None:
        raise RuleFileError(problems)
    return parse_clinic(text, str(path))


def parse_clinic(text: str, source: str) -> Clinic:
    """Validate clinic YAML text; raises RuleFileError with every problem found."""
    clinic, problems = _clinic_or_problems(text, source)
    if clinic is None:
        raise RuleFileError(problems)
    return clinic


def _clinic_or_problems(text: str, source: str) -> tuple[Clinic | None, list[Problem]]:
    data, problems = load_yaml(text, source)
    if data is None:
        return None, problems
    return parse_clinic_data(data, source)


def parse_clinic_data(data: Any, source: str) -> tuple[Clinic | None, list[Problem]]:
    """Validate an already-parsed clinic mapping; (clinic, warnings) or (None, problems)."""
    try:
        model = ClinicModel.model_validate(data)
    except ValidationError as exc:
        return None, pydantic_problems(exc, data, source, ClinicModel)
    problems = _check_clinic(model, source)
    if any(p.is_error for p in problems):
        return None, problems
    session_types = {
        name: SessionType(name=name, group=group, cpt_code=code)
        for group, members in model.session_types.items()
        for name, code in members.items()
    }
    cash_prices = {
        group: tuple(
            CashPrice(minutes=m, price=parse_dollars(p)) for m, p in sorted(prices.items())
        )
        for group, prices in model.cash_prices.items()
    }
    clinic = Clinic(
        name=model.name,
        npi=model.npi,
        tin=model.tin,
        address_lines=tuple(model.address),
        charge_per_unit={c: parse_dollars(v) for c, v in sorted(model.charge_per_unit.items())},
        session_types=session_types,
        cash_prices=cash_prices,
    )
    return clinic, problems


def _npi_check_digit_ok(npi: str) -> bool:
    """NPI check digit: Luhn over the prefix 80840 plus the first nine digits."""
    digits = [int(c) for c in "80840" + npi]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _check_clinic(m: ClinicModel, source: str) -> list[Problem]:
    out: list[Problem] = []

    def err(field: str, message: str, severity: str = ERROR) -> None:
        out.append(Problem(source, field, message, severity))

    if not re.fullmatch(r"\d{10}", m.npi):
        err("npi", f'"{m.npi}" is not an NPI: write the 10 digits in quotes')
    elif not _npi_check_digit_ok(m.npi):
        err("npi", f'"{m.npi}" is not a valid NPI (its check digit does not match)')
    if not re.fullmatch(r"\d{2}-\d{7}", m.tin):
        err("tin", f'"{m.tin}" is not a TIN: write it as two digits, a dash, seven digits')
    codes = sorted(m.charge_per_unit)
    seen: dict[str, str] = {}
    for group, members in m.session_types.items():
        if not members:
            err(f"session_types.{group}", "the group lists no session types")
        if group in {n for ms in m.session_types.values() for n in ms}:
            err(
                f"session_types.{group}",
                f'"{group}" is both a group and a session type; give them different names',
            )
        for name, code in members.items():
            if name in seen:
                err(
                    f"session_types.{group}.{name}",
                    f'session type "{name}" is already listed in group "{seen[name]}"',
                )
            seen[name] = group
            if code not in m.charge_per_unit:
                err(
                    f"session_types.{group}.{name}",
                    f'CPT code "{code}" has no charge in charge_per_unit '
                    f"(codes with a charge: {', '.join(codes)})",
                )
    for group, prices in m.cash_prices.items():
        if group not in m.session_types:
            err(
                f"cash_prices.{group}",
                f'"{group}" is not a session-type group; groups: '
                f"{', '.join(m.session_types)}.{did_you_mean(group, list(m.session_types))}",
            )
        if not prices:
            err(f"cash_prices.{group}", "lists no prices")
        last = -1
        for minutes, price in sorted(prices.items()):
            cents = parse_dollars(price)
            if cents < last:
                err(
                    f"cash_prices.{group}.{minutes}",
                    f"a {minutes}-minute session costs less than a shorter one; check the price",
                    WARNING,
                )
            last = cents
    for group in m.session_types:
        if group not in m.cash_prices:
            err(
                "cash_prices",
                f'group "{group}" has no cash prices; sessions of that group could not be '
                "priced when a plan does not cover them",
            )
    return out


# ---------------------------------------------------------------------------- rule sets


def load_rule_set_file(path: str | Path, clinic: Clinic) -> ParsedRuleSet:
    """Read and validate one rule-set version file."""
    text, problems = _read(Path(path))
    if text is None:
        raise RuleFileError(problems)
    return parse_rule_set(text, str(path), clinic)


def parse_rule_set(text: str, source: str, clinic: Clinic) -> ParsedRuleSet:
    """Validate rule-set YAML text against the clinic; raises RuleFileError with ALL problems
    (warnings included) when there is any error."""
    parsed, problems = validate_rule_set(text, source, clinic)
    if parsed is None:
        raise RuleFileError(problems)
    return parsed


def validate_rule_set(
    text: str, source: str, clinic: Clinic
) -> tuple[ParsedRuleSet | None, list[Problem]]:
    """Dry run: (parsed, warnings) when valid, else (None, every problem). Never raises for
    bad content."""
    data, problems = load_yaml(text, source)
    if data is None:
        return None, problems
    return validate_rule_set_content(data, source, clinic)


def parse_rule_set_content(
    content: Mapping[str, Any], source: str, clinic: Clinic
) -> ParsedRuleSet:
    """Rebuild a rule set from stored canonical content (or any mapping in the file shape);
    the canonical content of a parsed file parses back to the same checksum."""
    parsed, problems = validate_rule_set_content(content, source, clinic)
    if parsed is None:
        raise RuleFileError(problems)
    return parsed


def validate_rule_set_content(
    data: Mapping[str, Any], source: str, clinic: Clinic
) -> tuple[ParsedRuleSet | None, list[Problem]]:
    """The checks and the build, from an already-parsed mapping."""
    try:
        model = RuleSetModel.model_validate(data)
    except ValidationError as exc:
        problems = pydantic_problems(exc, data, source, RuleSetModel)
        return None, problems + _check_sound_parts(data, source, clinic)
    problems = _check_rule_set(model, source, clinic)
    if any(p.is_error for p in problems):
        return None, problems
    content = canonical_content(model)
    plans = tuple(_build_plan(p, clinic) for p in sorted(model.plans, key=lambda p: p.id))
    parsed = ParsedRuleSet(
        payer_id=model.payer.id,
        payer_name=model.payer.name,
        version=model.version,
        effective_from=model.effective_from,
        effective_to=model.effective_to,
        note=model.note,
        plans=plans,
        content=content,
        checksum=content_checksum(content),
        source=source,
        warnings=tuple(problems),
    )
    return parsed, problems


def load_rules_dir(path: str | Path = DEFAULT_RULES_DIR) -> tuple[Clinic, list[ParsedRuleSet]]:
    """The clinic (clinic.yaml at the top) and every other *.yaml / *.yml below it, sorted by
    payer and effective date. All problems of all files are collected into one RuleFileError;
    files are also checked against each other (one version label per payer, one payer per
    plan id)."""
    root = Path(path)
    clinic_path = root / CLINIC_FILE_NAME
    if not root.is_dir():
        raise RuleFileError([Problem(str(root), "(directory)", "is not a directory")])
    text, problems = _read(clinic_path)
    if text is None:
        raise RuleFileError(problems)
    clinic, problems = _clinic_or_problems(text, str(clinic_path))
    if clinic is None:
        raise RuleFileError(problems)
    all_problems = list(problems)
    parsed: list[ParsedRuleSet] = []
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.suffix in (".yaml", ".yml") and p != clinic_path
    )
    for file in files:
        text, read_problems = _read(file)
        if text is None:
            all_problems.extend(read_problems)
            continue
        rule_set, file_problems = validate_rule_set(text, str(file), clinic)
        all_problems.extend(file_problems)
        if rule_set is not None:
            parsed.append(rule_set)
            if file.parent != root and file.parent.name != rule_set.payer_id:
                all_problems.append(
                    Problem(
                        str(file),
                        "payer.id",
                        f'the file is in folder "{file.parent.name}" but says payer id '
                        f'"{rule_set.payer_id}"; keep each payer\'s files in a folder named '
                        "after its id",
                        WARNING,
                    )
                )
    all_problems.extend(_check_across_files(parsed))
    if any(p.is_error for p in all_problems):
        raise RuleFileError(all_problems)
    parsed.sort(key=lambda r: (r.payer_id, r.effective_from, r.version))
    return clinic, parsed


def _check_across_files(rule_sets: list[ParsedRuleSet]) -> list[Problem]:
    out: list[Problem] = []
    versions: dict[tuple[str, str], ParsedRuleSet] = {}
    plan_payer: dict[str, ParsedRuleSet] = {}
    for rs in rule_sets:
        key = (rs.payer_id, rs.version)
        if key in versions:
            out.append(
                Problem(
                    rs.source,
                    "version",
                    f'version "{rs.version}" of {rs.payer_id} is also defined in '
                    f"{versions[key].source}; give each version its own label",
                )
            )
        versions.setdefault(key, rs)
        for plan in rs.plans:
            other = plan_payer.setdefault(plan.plan_id, rs)
            if other.payer_id != rs.payer_id:
                out.append(
                    Problem(
                        rs.source,
                        f"plans[{plan.plan_id}].id",
                        f'plan id "{plan.plan_id}" is already used by payer {other.payer_id} '
                        f"in {other.source}; plan ids must be unique across payers",
                    )
                )
    return out


def _read(path: Path) -> tuple[str | None, list[Problem]]:
    try:
        return path.read_text(encoding="utf-8"), []
    except FileNotFoundError:
        return None, [Problem(str(path), "(file)", "the file does not exist")]
    except UnicodeDecodeError as exc:
        return None, [Problem(str(path), "(file)", f"the file is not UTF-8 text: {exc.reason}")]
    except OSError as exc:
        return None, [Problem(str(path), "(file)", f"cannot read the file: {exc.strerror}")]


# ---------------------------------------------------------------------------- checks


class _Checker:
    """Collects problems for one rule-set file, naming plans by id."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def error(self, field: str, message: str) -> None:
        self.problems.append(Problem(self.source, field, message, ERROR))

    def warn(self, field: str, message: str) -> None:
        self.problems.append(Problem(self.source, field, message, WARNING))


def _check_rule_set(m: RuleSetModel, source: str, clinic: Clinic) -> list[Problem]:
    c = _Checker(source)
    _check_dates(m.effective_from, m.effective_to, c)
    _check_plans(list(enumerate(m.plans, start=1)), c, clinic)
    return c.problems


class _Dates(BaseModel):
    effective_from: date
    effective_to: date | None = None


def _check_sound_parts(data: Mapping[str, Any], source: str, clinic: Clinic) -> list[Problem]:
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
    plans: list[tuple[int, PlanModel]] = []
    for number, raw in enumerate(raw_plans if isinstance(raw_plans, list) else [], start=1):
        try:
            plans.append((number, PlanModel.model_validate(raw)))
        except ValidationError:
            continue  # already reported by the structural pass
    _check_plans(plans, c, clinic)
    return c.problems


def _check_dates(effective_from: date, effective_to: date | None, c: _Checker) -> None:
    if effective_to is not None and effective_to < effective_from:
        c.error(
            "effective_to",
            f"{effective_to.isoformat()} is before effective_from {effective_from.isoformat()}",
        )


def _check_plans(plans: list[tuple[int, PlanModel]], c: _Checker, clinic: Clinic) -> None:
    seen: set[str] = set()
    for number, plan in plans:
        at = f"plans[{plan.id}]"
        if plan.id in seen:
            at = f"plans[#{number}]"  # the id no longer tells the two apart
            c.error(f"{at}.id", f'plan id "{plan.id}" appears more than once in this file')
        seen.add(plan.id)
        _check_plan(plan, at, c, clinic)


def _check_plan(p: PlanModel, at: str, c: _Checker, clinic: Clinic) -> None:
    if p.id == "self-pay":
        c.error(f"{at}.id", '"self-pay" is reserved for clients without insurance')

    bp = p.benefit_period
    if bp.type == "plan_year":
        if bp.starts is None:
            c.error(
                f"{at}.benefit_period.starts",
                'a plan_year needs the month and day it starts, like starts: "07-01"',
            )
        elif _month_day(bp.starts) is None:
            c.error(
                f"{at}.benefit_period.starts",
                f'"{bp.starts}" is not a month and day; write it like "07-01" (MM-DD)',
            )
    elif bp.starts is not None:
        c.error(
            f"{at}.benefit_period.starts",
            "a calendar_year always starts on January 1; remove starts or use type: plan_year",
        )

    groups = clinic.groups()
    known = sorted(groups) + sorted(clinic.session_types)
    if not p.covered_session_types:
        c.error(f"{at}.covered_session_types", "list at least one group or session type")
    for name in p.covered_session_types:
        if name not in groups and name not in clinic.session_types:
            c.error(
                f"{at}.covered_session_types",
                f'"{name}" is not a session-type group or session type of the clinic; '
                f"known: {', '.join(known)}.{did_you_mean(name, known)}",
            )

    r = p.referral
    if r.required:
        if not r.accepted:
            c.error(
                f"{at}.referral.accepted",
                "a required referral needs the kinds accepted: prescription, "
                "physician_referral, integrative_care_plan",
            )
        if r.valid_days is None:
            c.error(
                f"{at}.referral.valid_days",
                "a required referral needs valid_days: how many days after its issue date it "
                "stays valid (e.g. 90)",
            )
    else:
        for name, value in (("accepted", r.accepted), ("valid_days", r.valid_days)):
            if value:
                c.error(
                    f"{at}.referral.{name}",
                    "the referral is not required, so this has no effect; remove it or set "
                    "required: true",
                )

    if not p.qualifying_diagnoses:
        c.error(f"{at}.qualifying_diagnoses", "list at least one ICD-10 code prefix")
    for code in p.qualifying_diagnoses:
        if not isinstance(code, str) or not ICD10_PREFIX.match(code):
            hint = " (write it in capitals)" if ICD10_PREFIX.match(str(code).upper()) else ""
            c.error(
                f"{at}.qualifying_diagnoses",
                f'"{code}" is not an ICD-10 code prefix{hint}: a capital letter and digits, '
                "with the dot after the third character, like M54.5, M15 or S39.01",
            )
    _dupes(c, f"{at}.qualifying_diagnoses", p.qualifying_diagnoses)
    _dupes(c, f"{at}.covered_session_types", p.covered_session_types)

    covered_codes = sorted(
        {clinic.session_types[t].cpt_code for t in _expand_types(p.covered_session_types, clinic)}
    )
    _check_terms(p, p.in_network, f"{at}.in_network", c, clinic, covered_codes, True)
    if p.out_of_network is not None:
        _check_terms(p, p.out_of_network, f"{at}.out_of_network", c, clinic, covered_codes, False)

    if p.visit_limit is not None:
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
    _dupes(c, f"{at}.excluded_injuries", p.excluded_injuries)


_ZERO_ALLOWED = (
    "a covered unit or visit allowed $0.00 would be quoted as covered with nothing to pay for "
    "anyone; give the real amount, or cap the covered units with units.max_per_visit"
)


def _check_terms(
    p: PlanModel,
    t: NetworkTermsModel,
    at: str,
    c: _Checker,
    clinic: Clinic,
    covered_codes: list[str],
    in_network: bool,
) -> None:
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
    if t.copay is not None:
        if t.deductible_applies:
            c.error(
                f"{at}.deductible_applies",
                "a copay together with a deductible that applies is ambiguous (which comes "
                "first?); use either copay, or deductible with coinsurance",
            )
        if t.coinsurance_percent is not None and Decimal(t.coinsurance_percent) != 0:
            c.error(
                f"{at}.coinsurance_percent",
                'a copay plan charges no coinsurance; remove the copay or set coinsurance to "0"',
            )
    elif t.coinsurance_percent is None:
        c.error(
            f"{at}.coinsurance_percent",
            'give the coinsurance (write "0" when the plan pays the whole allowed amount after '
            "the deductible), or a copay",
        )
    deductible = parse_dollars(t.deductible) if t.deductible is not None else 0
    if t.deductible_applies and deductible == 0:
        c.error(f"{at}.deductible", "deductible_applies is true but no deductible amount is given")
    if deductible > 0 and t.deductible_applies is None:
        c.error(
            f"{at}.deductible_applies",
            "say whether the deductible applies to massage: deductible_applies: true or false",
        )
    if t.out_of_pocket_max is not None and parse_dollars(t.out_of_pocket_max) < deductible:
        c.error(
            f"{at}.out_of_pocket_max",
            f"the out-of-pocket maximum ${t.out_of_pocket_max} is below the deductible "
            f"${t.deductible}",
        )
    if in_network and t.balance_billing:
        c.error(
            f"{at}.balance_billing",
            "in-network providers may not balance bill; balance_billing belongs to out_of_network",
        )


def _dupes(c: _Checker, field: str, values: Iterable[str]) -> None:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            c.warn(field, f'"{v}" is listed twice')
        seen.add(v)


def _month_day(text: str) -> tuple[int, int] | None:
    match = MONTH_DAY.match(text)
    if not match:
        return None
    month, day = int(match[1]), int(match[2])
    if not 1 <= month <= 12 or not 1 <= day <= _DAYS_IN_MONTH[month - 1]:
        return None
    return month, day


def _expand_types(names: Iterable[str], clinic: Clinic) -> frozenset[str]:
    """Groups ("therapeutic") become their session types; session types stay as they are."""
    groups = clinic.groups()
    out: set[str] = set()
    for name in names:
        if name in groups:
            out.update(groups[name])
        elif name in clinic.session_types:
            out.add(name)
    return frozenset(out)


# ---------------------------------------------------------------------------- canonical


def canonical_content(m: RuleSetModel) -> dict[str, Any]:
    """The meaning of a valid file as JSON-able data: every key present (defaults filled
    in), money as "31.00", unordered lists sorted and de-duplicated, plans sorted by id."""
    return {
        "payer": {"id": m.payer.id, "name": m.payer.name},
        "version": m.version,
        "effective_from": m.effective_from.isoformat(),
        "effective_to": m.effective_to.isoformat() if m.effective_to else None,
        "note": m.note,
        "plans": [_canonical_plan(p) for p in sorted(m.plans, key=lambda p: p.id)],
    }


def _canonical_plan(p: PlanModel) -> dict[str, Any]:
    bp: dict[str, Any] = {"type": p.benefit_period.type}
    if p.benefit_period.type == "plan_year":
        bp["starts"] = p.benefit_period.starts
    referral: dict[str, Any] = {"required": p.referral.required}
    if p.referral.required:
        referral["accepted"] = sorted(set(p.referral.accepted or ()))
        referral["valid_days"] = p.referral.valid_days
    return {
        "id": p.id,
        "name": p.name,
        "coverage_basis": p.coverage_basis,
        "benefit_period": bp,
        "covered_session_types": sorted(set(p.covered_session_types)),
        "referral": referral,
        "qualifying_diagnoses": sorted(set(p.qualifying_diagnoses)),
        "units": {"method": p.units.method, "max_per_visit": p.units.max_per_visit},
        "in_network": _canonical_terms(p.in_network),
        "out_of_network": None if p.out_of_network is None else _canonical_terms(p.out_of_network),
        "visit_limit": None
        if p.visit_limit is None
        else {
            "visits": p.visit_limit.visits,
            "shared_with": sorted(set(p.visit_limit.shared_with)),
        },
        "prior_authorization": None
        if p.prior_authorization is None
        else {"from_visit": p.prior_authorization.from_visit},
        "excluded_injuries": sorted(set(p.excluded_injuries)),
        "hsa_eligible": p.hsa_eligible,
    }


def _canonical_terms(t: NetworkTermsModel) -> dict[str, Any]:
    if not t.covered:
        return {"covered": False}
    rates: dict[str, Any] | None = None
    if t.allowed_per_unit is not None:
        rates = {}
        for code, rate in sorted(t.allowed_per_unit.items()):
            later = rate.later_units if rate.later_units is not None else rate.first_unit
            rates[code] = (
                rate.first_unit
                if later == rate.first_unit
                else {"first_unit": rate.first_unit, "later_units": later}
            )
    return {
        "covered": True,
        "allowed_per_unit": rates,
        "allowed_per_visit": t.allowed_per_visit,
        "copay": t.copay,
        "deductible": t.deductible if t.deductible is not None else "0.00",
        "deductible_applies": bool(t.deductible_applies),
        "coinsurance_percent": t.coinsurance_percent if t.coinsurance_percent else "0",
        "out_of_pocket_max": t.out_of_pocket_max,
        "balance_billing": bool(t.balance_billing),
    }


# ---------------------------------------------------------------------------- domain


def _build_plan(p: PlanModel, clinic: Clinic) -> PlanRules:
    ref = f"plans.{p.id}"
    if p.benefit_period.type == "plan_year" and p.benefit_period.starts is not None:
        month, day = _month_day(p.benefit_period.starts) or (1, 1)
        period = BenefitPeriodRule(PeriodKind.PLAN_YEAR, month, day)
    else:
        period = BenefitPeriodRule(PeriodKind.CALENDAR_YEAR)
    referral = ReferralRule(
        required=p.referral.required,
        accepted_kinds=frozenset(ReferralKind(k) for k in (p.referral.accepted or ())),
        valid_days=p.referral.valid_days if p.referral.valid_days is not None else 90,
    )
    return PlanRules(
        plan_id=p.id,
        plan_name=p.name,
        coverage_basis=CoverageBasis(p.coverage_basis),
        benefit_period=period,
        covered_session_types=_expand_types(p.covered_session_types, clinic),
        referral=referral,
        qualifying_diagnosis_prefixes=tuple(sorted(set(p.qualifying_diagnoses))),
        unit_method=UnitMethod(p.units.method),
        max_units_per_visit=p.units.max_per_visit,
        in_network=_build_terms(p.in_network, f"{ref}.in_network"),
        out_of_network=None
        if p.out_of_network is None
        else _build_terms(p.out_of_network, f"{ref}.out_of_network"),
        visit_limit=None
        if p.visit_limit is None
        else VisitLimit(p.visit_limit.visits, tuple(sorted(set(p.visit_limit.shared_with)))),
        prior_authorization_from_visit=None
        if p.prior_authorization is None
        else p.prior_authorization.from_visit,
        excluded_injuries=frozenset(Injury(i) for i in p.excluded_injuries),
        hsa_eligible=p.hsa_eligible,
        ref=ref,
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
        per_visit_allowed=parse_dollars(t.allowed_per_visit)
        if t.allowed_per_visit is not None
        else None,
        copay=parse_dollars(t.copay) if t.copay is not None else None,
        deductible_applies=bool(t.deductible_applies),
        deductible=parse_dollars(t.deductible) if t.deductible is not None else 0,
        coinsurance=percent / 100,
        out_of_pocket_max=parse_dollars(t.out_of_pocket_max)
        if t.out_of_pocket_max is not None
        else None,
        balance_billing=bool(t.balance_billing),
    )


def model_for_schema() -> dict[str, type[BaseModel]]:
    """The file models by schema name, for scripts/export_schemas.py."""
    return {"rule-set": RuleSetModel, "clinic": ClinicModel}
