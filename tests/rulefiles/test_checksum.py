"""The checksum identifies the meaning of a file: formatting, comments, key order and the
order of unordered lists do not change it; any rule value does. Canonical content
round-trips, so storage can rebuild a version from what it stored."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.domain.model import Clinic
from service.rulefiles import (
    canonical_json,
    content_checksum,
    load_rule_set_file,
    parse_rule_set,
    parse_rule_set_content,
)

from .conftest import SAMPLE_RULE_FILES, acme_plan, sample_data, to_yaml


def shuffled(value: Any, rng: random.Random) -> Any:
    """The same data with every mapping's keys in a random order."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [shuffled(v, rng) for v in value]
    return value


@pytest.mark.parametrize("path", SAMPLE_RULE_FILES, ids=lambda p: p.parent.name + "/" + p.name)
def test_reformatting_does_not_change_the_checksum(clinic: Clinic, path: Path) -> None:
    original = load_rule_set_file(path, clinic)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rng = random.Random(7)
    variants = [
        yaml.safe_dump(data, default_flow_style=True, width=1000),  # one long flow line
        yaml.safe_dump(shuffled(data, rng), sort_keys=False, indent=4),  # key order
        "# a comment at the top\n\n" + path.read_text(encoding="utf-8") + "\n# and the end\n",
        json.dumps(data, default=str, indent=1),  # JSON is YAML too
    ]
    for text in variants:
        again = parse_rule_set(text, "elsewhere.yaml", clinic)
        assert again.checksum == original.checksum
        assert again.content == original.content
        assert again.plans == original.plans


def test_unordered_lists_and_defaults_do_not_change_the_checksum(clinic: Clinic) -> None:
    base = parse_rule_set(to_yaml(sample_data()), "a.yaml", clinic)
    data = sample_data()
    plan = acme_plan(data)
    plan["qualifying_diagnoses"] = list(reversed(plan["qualifying_diagnoses"]))
    plan["referral"]["accepted"] = ["physician_referral", "prescription"]
    plan["excluded_injuries"] = ["work", "auto"]
    plan["visit_limit"]["shared_with"] = ["acupuncture", "chiropractic"]
    plan["in_network"]["balance_billing"] = False  # the default, written out
    del plan["hsa_eligible"]  # the default, left out
    again = parse_rule_set(to_yaml(data), "b.yaml", clinic)
    assert again.checksum == base.checksum


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("in_network", "allowed_per_unit", "97124"), "31.01"),
        (("in_network", "deductible"), "501.00"),
        (("in_network", "coinsurance_percent"), "21"),
        (("visit_limit", "visits"), 21),
        (("prior_authorization", "from_visit"), 12),
        (("units", "max_per_visit"), 5),
        (("name",), "Acme PPO Gold Plus"),
    ],
)
def test_changing_a_value_changes_the_checksum(
    clinic: Clinic, where: tuple[str, ...], value: Any
) -> None:
    base = parse_rule_set(to_yaml(sample_data()), "a.yaml", clinic)
    data = sample_data()
    node = acme_plan(data)
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    changed = parse_rule_set(to_yaml(data), "a.yaml", clinic)
    assert changed.checksum != base.checksum


def test_changing_version_metadata_changes_the_checksum(clinic: Clinic) -> None:
    base = parse_rule_set(to_yaml(sample_data()), "a.yaml", clinic)
    for key, value in (("effective_to", None), ("note", "other"), ("version", "2026.2")):
        data = sample_data()
        data[key] = value
        if value is None:
            del data[key]
        assert parse_rule_set(to_yaml(data), "a.yaml", clinic).checksum != base.checksum


@pytest.mark.parametrize("path", SAMPLE_RULE_FILES, ids=lambda p: p.parent.name + "/" + p.name)
def test_canonical_content_round_trips(clinic: Clinic, path: Path) -> None:
    parsed = load_rule_set_file(path, clinic)
    stored = canonical_json(parsed.content)
    assert parsed.checksum == content_checksum(json.loads(stored))
    rebuilt = parse_rule_set_content(json.loads(stored), "db:rule_set/1", clinic)
    assert rebuilt.checksum == parsed.checksum
    assert rebuilt.content == parsed.content
    assert rebuilt.plans == parsed.plans
    assert rebuilt.source == "db:rule_set/1"
    # the canonical JSON text is also a valid rule file
    assert parse_rule_set(stored, "x.yaml", clinic).checksum == parsed.checksum


def test_canonical_content_is_plain_json_with_money_as_text(clinic: Clinic) -> None:
    parsed = parse_rule_set(to_yaml(sample_data()), "a.yaml", clinic)
    content = parsed.content
    assert json.loads(canonical_json(content)) == content
    plan = content["plans"][0]
    assert plan["in_network"]["allowed_per_unit"] == {"97124": "31.00", "97140": "29.00"}
    assert plan["in_network"]["deductible"] == "500.00"
    assert plan["in_network"]["coinsurance_percent"] == "20"
    assert content["effective_from"] == "2026-01-01"
    assert plan["excluded_injuries"] == ["auto", "work"]
    assert parsed.checksum == content_checksum(content)
    assert canonical_json(content) == json.dumps(content, sort_keys=True, separators=(",", ":"))
