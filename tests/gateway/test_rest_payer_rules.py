"""Payer rules and saved quotes over REST: list plans, publish a rule set and read it back.

These tests publish, so they run their own real server on a fresh SQLite database (seeded
from payer_rules/) with the real gateway in front, not the session's shared server.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from service.app import start
from service.settings import Settings

from .helpers import REPO_ROOT, Gateway, Reply, http, start_gateway, stop_gateway, wait_healthy

pytestmark = pytest.mark.gateway

SUMMIT_2026 = REPO_ROOT / "payer_rules" / "summit-medicare-advantage" / "2026.yaml"
NEW_PAYER = "harbor-rest-test"
NEW_PLAN = "harbor-rest-plan"


def new_rule_set() -> str:
    """Summit's shipped rule file as a new payer and plan, so publishing it adds a version
    without touching the sample payers."""
    text = SUMMIT_2026.read_text()
    replacements = {
        "id: summit-medicare-advantage": f"id: {NEW_PAYER}",
        "name: Summit Medicare Advantage": "name: Harbor REST Test Payer",
        "id: summit-ma-plus": f"id: {NEW_PLAN}",
    }
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def rules_gateway(
    gateway_binary: Path,
    service_settings: Callable[..., Settings],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    db = tmp_path_factory.mktemp("rest-rules-db") / "rules.db"
    app = start(service_settings(db))
    try:
        gw = start_gateway(gateway_binary, app.target)
        try:
            wait_healthy(gw)
            yield gw
        finally:
            stop_gateway(gw)
    finally:
        app.stop(grace=1.0)


def get(gw: Gateway, path: str, **query: str) -> Reply:
    suffix = "?" + urllib.parse.urlencode(query) if query else ""
    return http("GET", gw.url(path + suffix))


def plans_by_id(reply: Reply) -> dict[str, dict[str, Any]]:
    assert reply.status == 200, reply
    return {plan["plan_id"]: plan for plan in reply.json["plans"]}


def test_list_plans(rules_gateway: Gateway) -> None:
    plans = plans_by_id(get(rules_gateway, "/v1/plans"))
    assert {"acme-ppo-gold", "contoso-hmo-silver", "cedar-hdhp-hsa", "summit-ma-plus"} <= set(plans)
    acme = plans["acme-ppo-gold"]
    assert acme["payer_id"] == "acme-health"
    assert [v["version"] for v in acme["versions"]] == ["2026.1", "2027.1"]
    assert acme["versions"][0]["effective_from"] == {"year": 2026, "month": 1, "day": 1}
    assert acme["versions"][0]["effective_to"] == {"year": 2026, "month": 12, "day": 31}
    only_acme = plans_by_id(get(rules_gateway, "/v1/plans", payer_id="acme-health"))
    assert set(only_acme) == {"acme-ppo-gold"}


def test_list_rule_sets_all_and_per_payer(rules_gateway: Gateway) -> None:
    every = get(rules_gateway, "/v1/rule-sets")
    assert every.status == 200, every
    assert {rs["payer_id"] for rs in every.json["rule_sets"]} >= {
        "acme-health",
        "contoso-health",
        "cedar-mutual",
        "summit-medicare-advantage",
    }
    acme = get(rules_gateway, "/v1/payers/acme-health/rule-sets")
    assert acme.status == 200, acme
    assert sorted(rs["version"] for rs in acme.json["rule_sets"]) == ["2026.1", "2027.1"]
    by_plan = get(rules_gateway, "/v1/rule-sets", plan_id="contoso-hmo-silver")
    assert [rs["payer_id"] for rs in by_plan.json["rule_sets"]] == ["contoso-health"]


def test_get_rule_set_and_unknown_version(rules_gateway: Gateway) -> None:
    reply = get(rules_gateway, "/v1/payers/acme-health/rule-sets/2026.1")
    assert reply.status == 200, reply
    info = reply.json["rule_set"]
    assert (info["payer_id"], info["version"]) == ("acme-health", "2026.1")
    assert info["checksum"].startswith("sha256:")
    assert "acme-ppo-gold" in info["plan_ids"]
    assert "acme-ppo-gold" in reply.json["content_yaml"]
    missing = get(rules_gateway, "/v1/payers/acme-health/rule-sets/1999.1")
    assert missing.status == 404, missing


def test_diff_two_versions(rules_gateway: Gateway) -> None:
    reply = get(
        rules_gateway,
        "/v1/payers/acme-health/rule-sets:diff",
        from_version="2026.1",
        to_version="2027.1",
    )
    assert reply.status == 200, reply
    changes = reply.json["changes"]
    deductible = [c for c in changes if c["field"].endswith("in_network.deductible")]
    assert deductible, changes
    assert (deductible[0]["before"], deductible[0]["after"]) == ("$500.00", "$600.00")


def test_validate_reports_problems_without_publishing(rules_gateway: Gateway) -> None:
    bad = new_rule_set().replace('allowed_per_visit: "60.00"', "allowed_per_visit: 60.001")
    reply = http("POST", rules_gateway.url("/v1/rule-sets:validate"), {"content": bad})
    assert reply.status == 200, reply
    assert reply.json["valid"] is False
    assert any(
        p["severity"] == "SEVERITY_ERROR" and "allowed_per_visit" in p["field"]
        for p in reply.json["problems"]
    ), reply.json["problems"]
    assert NEW_PLAN not in plans_by_id(get(rules_gateway, "/v1/plans"))


def test_publish_invalid_rule_set_is_400_with_field_violations(rules_gateway: Gateway) -> None:
    bad = new_rule_set().replace('allowed_per_visit: "60.00"', "allowed_per_visit: 60.001")
    body = {"content": bad, "source": "bad.yaml", "published_by": "rest-test"}
    reply = http("POST", rules_gateway.url("/v1/rule-sets:publish"), body)
    assert reply.status == 400, reply
    fields = [
        v["field"]
        for d in reply.json["details"]
        if d["@type"] == "type.googleapis.com/google.rpc.BadRequest"
        for v in d["field_violations"]
    ]
    assert any("allowed_per_visit" in f for f in fields), reply.json
    assert NEW_PLAN not in plans_by_id(get(rules_gateway, "/v1/plans"))


def test_publish_read_back_and_quote(rules_gateway: Gateway) -> None:
    content = new_rule_set()
    body = {"content": content, "source": "harbor.yaml", "published_by": "rest-test"}
    first = http("POST", rules_gateway.url("/v1/rule-sets:publish"), body)
    assert first.status == 200, first
    assert first.json["created"] is True
    published = first.json["rule_set"]
    assert (published["payer_id"], published["version"]) == (NEW_PAYER, "2026.1")
    assert published["published_by"] == "rest-test"

    again = http("POST", rules_gateway.url("/v1/rule-sets:publish"), body)
    assert again.status == 200, again
    assert again.json["created"] is False  # idempotent: same content, same version
    assert again.json["rule_set"]["checksum"] == published["checksum"]

    read = get(rules_gateway, f"/v1/payers/{NEW_PAYER}/rule-sets/2026.1")
    assert read.status == 200, read
    assert read.json["rule_set"]["checksum"] == published["checksum"]
    assert NEW_PLAN in read.json["content_yaml"]

    assert NEW_PLAN in plans_by_id(get(rules_gateway, "/v1/plans"))

    # The server serves the new version at once: a quote on the new plan prices with it.
    session = {
        "plan_id": NEW_PLAN,
        "session_type": "medical",
        "minutes": 60,
        "referral": {
            "kind": "REFERRAL_KIND_PRESCRIPTION",
            "issue_date": {"year": 2026, "month": 2, "day": 1},
        },
        "diagnosis_codes": ["M54.50"],
        "date_of_service": {"year": 2026, "month": 3, "day": 3},
    }
    quote = http("POST", rules_gateway.url("/v1/estimates:session"), {"session": session})
    assert quote.status == 200, quote
    est = quote.json["estimate"]
    assert est["covered"] is True
    assert est["rule_version"]["payer_id"] == NEW_PAYER
    assert est["patient_pays"] == {"currency_code": "USD", "units": "20", "nanos": 0}  # copay
    assert est["plan_pays"] == {"currency_code": "USD", "units": "40", "nanos": 0}  # $60 - $20


def test_saved_quote_is_read_back_by_id(rules_gateway: Gateway) -> None:
    session = {
        "plan_id": "acme-ppo-gold",
        "session_type": "deep_tissue",
        "minutes": 53,
        "referral": {
            "kind": "REFERRAL_KIND_PRESCRIPTION",
            "issue_date": {"year": 2026, "month": 2, "day": 1},
        },
        "diagnosis_codes": ["M54.50"],
        "date_of_service": {"year": 2026, "month": 3, "day": 3},
    }
    preview = http("POST", rules_gateway.url("/v1/estimates:session"), {"session": session})
    assert preview.status == 200, preview
    assert preview.json["quote_id"] == ""  # plain previews are not stored
    saved = http(
        "POST",
        rules_gateway.url("/v1/estimates:session"),
        {"session": session, "save_quote": True},
    )
    assert saved.status == 200, saved
    quote_id = saved.json["quote_id"]
    assert quote_id
    reply = get(rules_gateway, f"/v1/quotes/{quote_id}")
    assert reply.status == 200, reply
    quote = reply.json
    assert quote["quote_id"] == quote_id
    assert quote["estimate"] == saved.json["estimate"]
    assert quote["request"]["session"]["plan_id"] == "acme-ppo-gold"
    assert quote["replay_matches"] is True
    assert quote["replay"]["patient_pays"] == saved.json["estimate"]["patient_pays"]
    unknown = get(rules_gateway, "/v1/quotes/00000000-0000-4000-8000-000000000000")
    assert unknown.status == 404, unknown


def test_changed_content_under_a_published_label_is_409(rules_gateway: Gateway) -> None:
    shipped = (REPO_ROOT / "payer_rules" / "acme-health" / "2026.yaml").read_text()
    changed = shipped.replace('deductible: "500.00"', 'deductible: "501.00"', 1)
    assert changed != shipped
    body = {"content": changed, "source": "2026.yaml", "published_by": "rest-test"}
    reply = http("POST", rules_gateway.url("/v1/rule-sets:publish"), body)
    assert reply.status == 409, reply
    info = [
        d for d in reply.json["details"] if d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    ]
    assert info[0]["reason"] == "RULE_SET_VERSION_EXISTS"
    # Nothing changed: 2026.1 still has the shipped checksum the quotes use.
    plans = plans_by_id(get(rules_gateway, "/v1/plans", payer_id="acme-health"))
    versions = plans["acme-ppo-gold"]["versions"]
    read = get(rules_gateway, "/v1/payers/acme-health/rule-sets/2026.1")
    assert read.json["rule_set"]["checksum"] == versions[0]["checksum"]
    assert 'deductible: "501.00"' not in read.json["content_yaml"]
