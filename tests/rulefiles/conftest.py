"""Fixtures for the rule-file tests: the shipped sample files and helpers to vary them.

Variations are made on the parsed YAML of a real sample file and written back as YAML, so
each test changes exactly one thing an analyst could get wrong.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.domain.model import Clinic
from service.rulefiles import DEFAULT_RULES_DIR, Problem, RuleFileError, load_clinic_file

RULES_DIR = Path(__file__).resolve().parents[2] / "payer_rules"
ACME_2026 = RULES_DIR / "acme-health" / "2026.yaml"
SAMPLE_RULE_FILES = sorted(
    p
    for p in RULES_DIR.rglob("*.yaml")
    if p.name != "clinic.yaml" and "clinics" not in p.relative_to(RULES_DIR).parts
)


@pytest.fixture(scope="session")
def clinic() -> Clinic:
    assert DEFAULT_RULES_DIR == RULES_DIR
    return load_clinic_file(RULES_DIR / "clinic.yaml")


def sample_data(path: Path = ACME_2026) -> dict[str, Any]:
    """A sample file as plain data (a fresh copy each call)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return copy.deepcopy(data)


def to_yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


Mutation = Callable[[dict[str, Any]], None]


def acme_plan(data: dict[str, Any]) -> dict[str, Any]:
    plan = data["plans"][0]
    assert isinstance(plan, dict)
    return plan


def problems_of(excinfo: pytest.ExceptionInfo[RuleFileError]) -> list[Problem]:
    return list(excinfo.value.problems)


def find(problems: list[Problem], field: str, text: str) -> Problem:
    """The one problem at `field` whose message contains `text`; fails with the list."""
    hits = [p for p in problems if p.field == field and text in p.message]
    assert hits, f"no problem at {field!r} containing {text!r}; got:\n" + "\n".join(
        str(p) for p in problems
    )
    return hits[0]
