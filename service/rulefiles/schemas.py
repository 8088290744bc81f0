"""JSON Schemas of the rule-file formats, generated from the pydantic models.

Payer tooling (editors, CI of a payer's own repository) can validate files against these;
the loader's own checks that span several fields or need the clinic are described in
docs/rule-format.md, since JSON Schema cannot express them.
"""

from __future__ import annotations

import json
from typing import Any

from service.rulefiles.clinics import ClinicProfileModel
from service.rulefiles.models import ClinicModel, RuleSetModel

SCHEMA_BASE_ID = "https://massage-estimator.example/schemas/"


def schemas() -> dict[str, dict[str, Any]]:
    """Schema name -> JSON Schema document (draft 2020-12, as pydantic emits it)."""
    out: dict[str, dict[str, Any]] = {}
    models: tuple[tuple[str, type[Any]], ...] = (
        ("rule-set", RuleSetModel),
        ("clinic", ClinicModel),
        ("clinic-profile", ClinicProfileModel),
    )
    for name, model in models:
        schema = model.model_json_schema()
        out[name] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{SCHEMA_BASE_ID}{name}.schema.json",
            **schema,
        }
    return out


def schema_texts() -> dict[str, str]:
    """The exact file text for each schema (stable: sorted keys, two-space indent)."""
    return {
        name: json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        for name, schema in schemas().items()
    }
