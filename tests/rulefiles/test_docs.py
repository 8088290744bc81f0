"""docs/rule-format.md stays true: its examples are valid files, and its plan example is
exactly the shipped Acme 2026 rules (same checksum)."""

from __future__ import annotations

import re

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
