"""Rule files -> domain objects: parse, check everything, and report every problem at once.

Order of work for a rule-set file: YAML text -> pydantic structure (types, unknown keys) ->
checks that need several fields or the clinic (named by field path) -> canonical content and
checksum -> domain PlanRules. Nothing is built unless the file is free of errors, so the
service never runs on half-understood rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from service.domain.model import (
    Clinic,
    PlanRules,
    RuleSetVersion,
)
from service.resources import SAMPLE_RULES_DIR
from service.rulefiles.build import build_plan
from service.rulefiles.canonical import canonical_content, content_checksum
from service.rulefiles.checks import check_rule_set, check_sound_parts
from service.rulefiles.clinic import clinic_or_problems
from service.rulefiles.models import (
    RuleSetModel,
)
from service.rulefiles.problems import WARNING, Problem, RuleFileError
from service.rulefiles.yamlsource import load_yaml, pydantic_problems, read_text

DEFAULT_RULES_DIR = SAMPLE_RULES_DIR
CLINIC_FILE_NAME = "clinic.yaml"
CLINICS_DIR_NAME = "clinics"  # clinic profile versions (service.rulefiles.clinics)


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


# ---------------------------------------------------------------------------- clinic


# ---------------------------------------------------------------------------- rule sets


def load_rule_set_file(path: str | Path, clinic: Clinic) -> ParsedRuleSet:
    """Read and validate one rule-set version file."""
    text, problems = read_text(Path(path))
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
        return None, problems + check_sound_parts(data, source, clinic)
    problems = check_rule_set(model, source, clinic)
    if any(p.is_error for p in problems):
        return None, problems
    content = canonical_content(model)
    plans = tuple(build_plan(p, clinic) for p in sorted(model.plans, key=lambda p: p.id))
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


def load_clinic_of_dir(path: str | Path = DEFAULT_RULES_DIR) -> Clinic:
    """Only the clinic profile (clinic.yaml) of a rules directory: what a start on a filled
    store needs, without reading the payer files (raises RuleFileError like load_rules_dir)."""
    return _clinic_of_dir(Path(path))[0]


def _clinic_of_dir(root: Path) -> tuple[Clinic, list[Problem]]:
    clinic_path = root / CLINIC_FILE_NAME
    if not root.is_dir():
        raise RuleFileError([Problem(str(root), "(directory)", "is not a directory")])
    text, problems = read_text(clinic_path)
    if text is None:
        raise RuleFileError(problems)
    clinic, problems = clinic_or_problems(text, str(clinic_path))
    if clinic is None:
        raise RuleFileError(problems)
    return clinic, problems


def load_rules_dir(path: str | Path = DEFAULT_RULES_DIR) -> tuple[Clinic, list[ParsedRuleSet]]:
    """The clinic (clinic.yaml at the top) and every other *.yaml / *.yml below it, sorted by
    payer and effective date. All problems of all files are collected into one RuleFileError;
    files are also checked against each other (one version label per payer, one payer per
    plan id)."""
    root = Path(path)
    clinic_path = root / CLINIC_FILE_NAME
    clinic, problems = _clinic_of_dir(root)
    all_problems = list(problems)
    parsed: list[ParsedRuleSet] = []
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix in (".yaml", ".yml")
        and p != clinic_path
        and p.relative_to(root).parts[0] != CLINICS_DIR_NAME  # clinic profiles, not payers
    )
    for file in files:
        text, read_problems = read_text(file)
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
    all_problems.extend(check_across_files(parsed))
    if any(p.is_error for p in all_problems):
        raise RuleFileError(all_problems)
    parsed.sort(key=lambda r: (r.payer_id, r.effective_from, r.version))
    return clinic, parsed


# ---------------------------------------------------------------------------- checks


# ---------------------------------------------------------------------------- canonical


# ---------------------------------------------------------------------------- domain


def check_across_files(rule_sets: list[ParsedRuleSet]) -> list[Problem]:
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
