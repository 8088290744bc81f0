"""docs/rule-format.md stays true: its examples are valid files, and its plan example is
exactly the shipped Acme 2026 rules (same checksum)."""

from __future__ import annotations

import re

import yaml

from service.domain.model import Clinic
from service.rulefiles import load_rule_set_file, parse_clinic, parse_rule_set

from .conftest import ACME_2026, RULES_DIR

DOC = RULES_DIR.parent / "docs" / "rule-format.md"


def yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_clinic_example_is_the_sample_clinic(clinic: Clinic) -> None:
    assert parse_clinic(yaml_blocks()[-1], "docs") == clinic


def test_version_and_plan_examples_make_the_acme_2026_file(clinic: Clinic) -> None:
    header, plan = yaml_blocks()[0], yaml_blocks()[1]
    header = re.sub(r"^plans: .*\n", "", header, flags=re.M)
    parsed = parse_rule_set(header + plan, "docs", clinic)
    assert parsed.checksum == load_rule_set_file(ACME_2026, clinic).checksum


def test_clause_examples_stand_in_the_sample_payers_files() -> None:
    """Every key of every clause example is written the same way in some sample plan, so the
    examples are valid and the samples show them at work."""
    plans = [
        plan
        for path in RULES_DIR.rglob("*.yaml")
        if path.name != "clinic.yaml" and "clinics" not in path.parts
        for plan in yaml.safe_load(path.read_text(encoding="utf-8"))["plans"]
    ]
    examples = yaml_blocks()[2:-1]
    assert len(examples) == 7
    for block in examples:
        for key, value in yaml.safe_load(block).items():
            assert any(plan.get(key) == value for plan in plans), (key, value)
