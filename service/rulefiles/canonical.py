"""Canonical content: the meaning of a valid rule-set file as JSON-able data, and its checksum.

Storage keeps the canonical JSON and its checksum; a version published once must rebuild to
the same checksum under every later release. So the canonical form only grows:
- every key the first format had stays, filled in with its default, written as it was;
- a key added later is written only when it differs from its default, and its default means
  exactly what the format said before the key existed;
- a value's spelling never changes (money "31.00", percentages "20", sorted unique lists).
docs/rule-versions.md states the policy; tests/domain/test_stored_versions.py holds the
original samples' stored content to prove it.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from service.rulefiles.models import (
    DiagnosisLogicModel,
    NetworkTermsModel,
    PlanModel,
    RuleSetModel,
)


def canonical_json(content: Mapping[str, Any]) -> str:
    """The one byte-exact JSON text of canonical content (sorted keys, no spaces)."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_checksum(content: Mapping[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


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
        _later(
            referral, "valid_months", p.referral.valid_months, _default("referral", "valid_months")
        )
    units: dict[str, Any] = {"method": p.units.method, "max_per_visit": p.units.max_per_visit}
    _later(units, "max_per_day", p.units.max_per_day, _default("units", "max_per_day"))
    pa = p.prior_authorization
    out: dict[str, Any] = {
        "id": p.id,
        "name": p.name,
        "coverage_basis": p.coverage_basis,
        "benefit_period": bp,
        "covered_session_types": sorted(set(p.covered_session_types)),
        "referral": referral,
        "qualifying_diagnoses": _canonical_diagnoses(p.qualifying_diagnoses),
        "units": units,
        "in_network": _canonical_terms(p.in_network),
        "out_of_network": None if p.out_of_network is None else _canonical_terms(p.out_of_network),
        "visit_limit": None
        if p.visit_limit is None
        else {
            "visits": p.visit_limit.visits,
            "shared_with": sorted(set(p.visit_limit.shared_with)),
        },
        "prior_authorization": None
        if pa is None
        else _later(
            {"from_visit": pa.from_visit}, "required_for_coverage", pa.required_for_coverage
        ),
        "excluded_injuries": sorted(set(p.excluded_injuries)),
        "hsa_eligible": p.hsa_eligible,
    }
    if p.rendering_providers is not None:
        out["rendering_providers"] = sorted(set(p.rendering_providers))
    if p.same_day_reductions:
        out["same_day_reductions"] = [
            {
                "procedure_codes": sorted(set(r.procedure_codes)),
                "allowed_percent": r.allowed_percent,
            }
            for r in p.same_day_reductions
        ]
    limit = p.plan_payment_limit
    if limit is not None:
        out["plan_payment_limit"] = {
            "per_visit": limit.per_visit,
            "per_benefit_period": limit.per_benefit_period,
        }
    _later(
        out,
        "network_accumulation",
        p.network_accumulation,
        _default("plan", "network_accumulation"),
    )
    return out


# Every key added after the first format, by the block it is written in, with its default
# (what files meant before the key existed). Canonical content leaves a key out at its default;
# `with_later_defaults` puts it back, so a diff can say "combined -> separate".
LATER_KEYS: dict[str, dict[str, Any]] = {
    "plan": {
        "rendering_providers": None,
        "same_day_reductions": [],
        "plan_payment_limit": None,
        "network_accumulation": "separate",
    },
    "referral": {"valid_months": None},
    "units": {"max_per_day": None},
    "prior_authorization": {"required_for_coverage": False},
    "terms": {
        "copay_applies": "instead_of_deductible",
        "family_deductible": None,
        "family_out_of_pocket_max": None,
    },
}


def with_later_defaults(content: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical content with every later key written out at its default where it was left
    out: for comparing two versions field by field, never for checksums."""
    out = copy.deepcopy(dict(content))
    for plan in out.get("plans") or []:
        if not isinstance(plan, dict):
            continue
        _fill(plan, "plan")
        if isinstance(plan.get("referral"), dict) and plan["referral"].get("required"):
            _fill(plan["referral"], "referral")
        for block, kind in (
            ("units", "units"),
            ("prior_authorization", "prior_authorization"),
            ("in_network", "terms"),
            ("out_of_network", "terms"),
        ):
            value = plan.get(block)
            if isinstance(value, dict) and (kind != "terms" or value.get("covered", True)):
                _fill(value, kind)
    return out


def _fill(block: dict[str, Any], kind: str) -> None:
    for key, default in LATER_KEYS[kind].items():
        block.setdefault(key, copy.deepcopy(default))


def _default(kind: str, key: str) -> Any:
    return LATER_KEYS[kind][key]


def _later(block: dict[str, Any], key: str, value: Any, default: Any = None) -> dict[str, Any]:
    """Write a key added after the first format only when it is not at its default, so a
    version published before the key existed keeps its canonical content and checksum."""
    unset = value is None or value == default or (default is None and value is False)
    if not unset:
        block[key] = value
    return block


def _canonical_diagnoses(rule: list[str] | DiagnosisLogicModel) -> Any:
    """A plain list (or any_of, which means the same) is a sorted unique list, as it always
    was; the other logics are a block with their one key."""
    if isinstance(rule, list):
        return sorted(set(rule))
    if rule.any_except is not None:
        return {"any_except": sorted(set(rule.any_except))}
    if rule.all_of is not None:
        return {"all_of": sorted(sorted(set(group)) for group in rule.all_of)}
    return sorted(set(rule.any_of or ()))


def _canonical_copay(t: NetworkTermsModel) -> Any:
    """An amount as "25.00"; tiers as a list, unless they say one copay for every visit."""
    if not isinstance(t.copay, list):
        return t.copay
    if len(t.copay) == 1 and t.copay[0].from_visit == 1 and t.copay[0].to_visit is None:
        return t.copay[0].amount
    return [
        {"from_visit": tier.from_visit, "to_visit": tier.to_visit, "amount": tier.amount}
        for tier in t.copay
    ]


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
    out: dict[str, Any] = {
        "covered": True,
        "allowed_per_unit": rates,
        "allowed_per_visit": t.allowed_per_visit,
        "copay": _canonical_copay(t),
        "deductible": t.deductible if t.deductible is not None else "0.00",
        "deductible_applies": bool(t.deductible_applies),
        "coinsurance_percent": t.coinsurance_percent if t.coinsurance_percent else "0",
        "out_of_pocket_max": t.out_of_pocket_max,
        "balance_billing": bool(t.balance_billing),
    }
    for key in LATER_KEYS["terms"]:
        _later(out, key, getattr(t, key), _default("terms", key))
    return out
