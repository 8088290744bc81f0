"""Problem messages quote the offending value, but never more than a glance of it."""

from __future__ import annotations

import pytest

from service.domain.model import Clinic
from service.rulefiles import validate_rule_set

from .conftest import ACME_2026


def alias_bomb(depth: int) -> str:
    """A YAML flow mapping whose anchors nest ten-fold per level ("billion laughs"): a few
    hundred bytes that mean 10**depth strings once expanded."""
    parts = ["a0: &a0 [" + ", ".join(["M54.5"] * 10) + "]"]
    for i in range(1, depth):
        parts.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "{" + ", ".join(parts) + "}"


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("note: 2026 fee schedule", "note"),  # text: "must be text, not ..."
        ("    coverage_basis: medical_necessity", "coverage_basis"),  # a choice: "not allowed"
    ],
)
def test_an_alias_bomb_is_reported_in_a_short_message(
    clinic: Clinic, line: str, field: str
) -> None:
    # The message used to print the whole expanded value: 10**6 strings here took seconds
    # and megabytes; a bomb a few levels deeper held a server thread for minutes and
    # gigabytes, from a request of a few hundred bytes (ValidateRuleSet, PublishRuleSet).
    text = ACME_2026.read_text(encoding="utf-8")
    assert line in text
    key, _ = line.split(":", 1)
    bomb = text.replace(line, f"{key}: {alias_bomb(6)}")
    parsed, problems = validate_rule_set(bomb, "bomb.yaml", clinic)
    assert parsed is None
    mine = [p for p in problems if p.field.endswith(field)]
    assert mine, problems
    assert all(len(p.message) < 400 for p in mine), [len(p.message) for p in mine]


def test_nesting_too_deep_for_the_reader_is_a_problem_not_a_crash(clinic: Clinic) -> None:
    # 100,000 nested brackets exhaust the YAML reader's recursion; the RecursionError escaped
    # and ValidateRuleSet / PublishRuleSet answered INTERNAL instead of naming the problem.
    text = "note: " + "[" * 100_000 + "]" * 100_000 + "\n"
    parsed, problems = validate_rule_set(text, "deep.yaml", clinic)
    assert parsed is None
    assert [(p.source, p.field) for p in problems] == [("deep.yaml", "(file)")]
    assert "nested too deeply" in problems[0].message
