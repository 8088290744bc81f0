"""Rule sets for storage tests, built through the real loader (service.rulefiles) from the
shipped Acme 2026 file with the payer, version, dates or a rate changed, so every test version
is a real, valid rule file and round-trips through the real canonical content."""

from __future__ import annotations

import copy
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from service.domain.model import Clinic
from service.rulefiles import ParsedRuleSet, load_clinic_file, parse_rule_set_content

REPO_ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = REPO_ROOT / "payer_rules"


@cache
def clinic() -> Clinic:
    return load_clinic_file(RULES_DIR / "clinic.yaml")


@cache
def _acme_2026() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((RULES_DIR / "acme-health" / "2026.yaml").read_text())
    return data


def rule_set(
    version: str,
    start: date,
    end: date | None = None,
    *,
    payer: str = "acme-health",
    plan_id: str | None = None,
    allowed_97124: str = "31.00",
    visits: int = 20,
) -> ParsedRuleSet:
    """A valid rule set for `payer` (plan `<payer>-gold` unless `plan_id`) from start to end."""
    data = copy.deepcopy(_acme_2026())
    data["payer"] = {"id": payer, "name": payer.replace("-", " ").title()}
    data["version"] = version
    data["effective_from"] = start
    if end is None:
        data.pop("effective_to", None)
    else:
        data["effective_to"] = end
    data["note"] = f"test version {version}"
    plan = data["plans"][0]
    plan["id"] = plan_id or ("acme-ppo-gold" if payer == "acme-health" else f"{payer}-gold")
    plan["in_network"]["allowed_per_unit"]["97124"] = allowed_97124
    plan["visit_limit"]["visits"] = visits
    return parse_rule_set_content(data, f"test:{payer}/{version}", clinic())
