"""The committed JSON Schemas are what the models export, and they agree with the loader on
the sample files and on a broken one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs shipped
import pytest
import yaml

from service.rulefiles.schemas import schema_texts

from .conftest import RULES_DIR, SAMPLE_RULE_FILES, acme_plan, sample_data

REPO = RULES_DIR.parent
SCHEMAS = REPO / "schemas"


def test_committed_schemas_are_up_to_date() -> None:
    for name, text in schema_texts().items():
        path = SCHEMAS / f"{name}.schema.json"
        assert path.exists(), f"{path} missing: run python scripts/export_schemas.py"
        assert path.read_text(encoding="utf-8") == text, (
            f"{path} is stale: run python scripts/export_schemas.py"
        )


def test_export_script_check_mode_passes() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "export_schemas.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def as_json(data: Any) -> Any:
    """What a JSON tool sees of a YAML file (dates as text, numeric keys as text)."""
    return json.loads(json.dumps(data, default=str))


@pytest.mark.parametrize("path", SAMPLE_RULE_FILES, ids=lambda p: p.parent.name + "/" + p.name)
def test_samples_satisfy_the_schema(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert list(validator("rule-set").iter_errors(as_json(data))) == []


def test_clinic_satisfies_the_schema() -> None:
    data = yaml.safe_load((RULES_DIR / "clinic.yaml").read_text(encoding="utf-8"))
    assert list(validator("clinic").iter_errors(as_json(data))) == []


def test_schema_rejects_what_the_loader_rejects() -> None:
    data = sample_data()
    plan = acme_plan(data)
    plan["in_network"]["deductable"] = "500.00"
    plan["units"]["method"] = "eight_minute"
    plan["qualifying_diagnoses"] = ["M545"]
    messages = [e.message for e in validator("rule-set").iter_errors(as_json(data))]
    assert any("deductable" in m for m in messages)
    assert any("eight_minute" in m for m in messages)
    assert any("M545" in m for m in messages)


def test_the_clinic_profile_satisfies_the_schema() -> None:
    path = RULES_DIR / "clinics" / "harbor" / "1.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert list(validator("clinic-profile").iter_errors(as_json(data))) == []
    data["locations"][1]["in_network"][0]["payor"] = "acme-health"  # a misspelt key
    assert len(list(validator("clinic-profile").iter_errors(as_json(data)))) == 1
