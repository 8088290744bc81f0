"""The committed OpenAPI files describe what the real gateway sends (issue 11).

Real answers of the real gateway (a covered quote, a self-pay quote, a batch with an error
row, the payer-rules reads, and one answer of every error class) are validated with
jsonschema against the committed Swagger 2.0 definitions and the OpenAPI 3 components; the
files themselves are checked for what the fuzzing found missing (required lists, the error
details as the body carries them, each route's statuses).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs shipped
import pytest

from .helpers import REPO_ROOT, Gateway, Reply, http, start_gateway, stop_gateway
from .test_rest import day, issue_session
from .test_rest_errors import _closed_port

pytestmark = pytest.mark.gateway

SWAGGER = REPO_ROOT / "openapi" / "massage_estimator.swagger.json"
OPENAPI3 = REPO_ROOT / "openapi" / "massage_estimator.openapi3.json"
DETAIL_DEFINITIONS = {
    "type.googleapis.com/google.rpc.BadRequest": "rpcBadRequest",
    "type.googleapis.com/google.rpc.ErrorInfo": "rpcErrorInfo",
}


@cache
def _document(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def validate(instance: Any, definition: str) -> None:
    """Validate against the named schema of both committed files (Swagger 2.0 definitions are
    JSON Schema draft 4; OpenAPI 3.0 schemas are too, for what these files use)."""
    for path, pointer in ((SWAGGER, "#/definitions/"), (OPENAPI3, "#/components/schemas/")):
        root = dict(_document(path))
        root["$ref"] = pointer + definition
        jsonschema.Draft4Validator(root).validate(instance)


def validate_error(reply: Reply, status: int) -> dict[str, Any]:
    assert reply.status == status, reply
    body: dict[str, Any] = reply.json
    validate(body, "rpcStatus")
    for detail in body["details"]:
        validate(detail, "protobufAny")
        if detail["@type"] in DETAIL_DEFINITIONS:
            validate(detail, DETAIL_DEFINITIONS[detail["@type"]])
    return body


def post(gateway: Gateway, path: str, body: Any) -> Reply:
    return http("POST", gateway.url(path), body)


# --- successful answers ------------------------------------------------------------------------


def test_a_covered_quote_matches_the_schema(gateway: Gateway) -> None:
    reply = post(gateway, "/v1/estimates:session", {"session": issue_session()})
    assert reply.status == 200, reply
    assert reply.json["estimate"]["covered"] is True
    validate(reply.json, "v1EstimateSessionResponse")


def test_a_self_pay_quote_matches_the_schema_and_has_no_nulls(gateway: Gateway) -> None:
    session = {"plan_id": "self-pay", "session_type": "deep_tissue", "minutes": 60}
    session["date_of_service"] = day("2026-03-03")
    reply = post(gateway, "/v1/estimates:session", {"session": session})
    assert reply.status == 200, reply
    estimate = reply.json["estimate"]
    assert estimate["covered"] is False
    validate(reply.json, "v1EstimateSessionResponse")
    # Unset messages are left out, never sent as null (the schema has no x-nullable).
    assert "null" not in reply.text
    assert "benefit_period" not in estimate


def test_a_batch_with_an_error_row_matches_the_schema(gateway: Gateway) -> None:
    body = {"sessions": [issue_session(), issue_session(minutes=0)]}
    reply = post(gateway, "/v1/estimates:batch", body)
    assert reply.status == 200, reply
    assert reply.json["failed_count"] == 1
    validate(reply.json, "v1EstimateSessionsResponse")
    error = reply.json["results"][1]["error"]
    for detail in error["details"]:
        validate(detail, "protobufAny")


def test_payer_rules_reads_match_the_schema(gateway: Gateway) -> None:
    plans = http("GET", gateway.url("/v1/plans"))
    assert plans.status == 200, plans
    validate(plans.json, "v1ListPlansResponse")
    sets = http("GET", gateway.url("/v1/payers/acme-health/rule-sets"))
    assert sets.status == 200, sets
    validate(sets.json, "v1ListRuleSetsResponse")
    version = sets.json["rule_sets"][0]["version"]
    one = http("GET", gateway.url(f"/v1/payers/acme-health/rule-sets/{version}"))
    assert one.status == 200, one
    validate(one.json, "v1GetRuleSetResponse")
    diff = http(
        "GET",
        gateway.url(
            f"/v1/payers/acme-health/rule-sets:diff?from_version={version}&to_version={version}"
        ),
    )
    assert diff.status == 200, diff
    validate(diff.json, "v1DiffRuleSetsResponse")


# --- every error class -------------------------------------------------------------------------


def test_a_gateway_400_matches_the_schema(gateway: Gateway) -> None:
    reply = post(gateway, "/v1/estimates:batch", {"sessions": [None]})
    validate_error(reply, 400)


def test_a_service_400_matches_the_schema(gateway: Gateway) -> None:
    reply = post(gateway, "/v1/estimates:session", {"session": issue_session(minutes=0)})
    validate_error(reply, 400)


def test_a_404_of_an_unknown_plan_matches_the_schema(gateway: Gateway) -> None:
    reply = post(gateway, "/v1/estimates:session", {"session": issue_session(plan_id="acme")})
    validate_error(reply, 404)


def test_a_412_matches_the_schema(gateway: Gateway) -> None:
    session = issue_session(
        date_of_service=day("2025-12-15"),
        referral={"kind": "REFERRAL_KIND_PRESCRIPTION", "issue_date": day("2025-12-01")},
    )
    reply = post(gateway, "/v1/estimates:session", {"session": session})
    validate_error(reply, 412)


def test_a_409_matches_the_schema(gateway: Gateway) -> None:
    shipped = (REPO_ROOT / "payer_rules" / "acme-health" / "2026.yaml").read_text()
    changed = shipped.replace('deductible: "500.00"', 'deductible: "501.00"', 1)
    body = {"content": changed, "source": "2026.yaml", "published_by": "contract-test"}
    validate_error(post(gateway, "/v1/rule-sets:publish", body), 409)


def test_route_errors_404_and_405_match_the_schema(gateway: Gateway) -> None:
    validate_error(http("GET", gateway.url("/v1/nothing")), 404)
    validate_error(http("PUT", gateway.url("/v1/plans")), 405)


def test_a_503_matches_the_schema(gateway_binary: Path) -> None:
    gw = start_gateway(gateway_binary, f"127.0.0.1:{_closed_port()}")
    try:
        validate_error(http("GET", gw.url("/v1/plans")), 503)
    finally:
        stop_gateway(gw)


# --- the files say what the fuzzing found missing -------------------------------------------


def test_required_fields_come_from_field_behavior() -> None:
    definitions = _document(SWAGGER)["definitions"]
    assert definitions["v1EstimateSessionRequest"]["required"] == ["session"]
    assert definitions["v1SessionDetails"]["required"] == ["plan_id", "session_type", "minutes"]
    assert definitions["v1PublishRuleSetRequest"]["required"] == ["content", "published_by"]
    diff = _document(SWAGGER)["paths"]["/v1/payers/{payer_id}/rule-sets:diff"]["get"]
    required = {p["name"]: p["required"] for p in diff["parameters"]}
    assert required == {"payer_id": True, "from_version": True, "to_version": True}


def test_error_details_are_modelled_as_the_body_carries_them() -> None:
    definitions = _document(SWAGGER)["definitions"]
    assert definitions["protobufAny"]["required"] == ["@type"]
    assert "type_url" not in definitions["protobufAny"]["properties"]
    violation = definitions["rpcBadRequestFieldViolation"]
    assert violation["required"] == ["field", "description", "reason"]


def test_each_route_declares_its_real_statuses() -> None:
    paths = _document(SWAGGER)["paths"]
    assert {"400", "404", "412"} <= set(paths["/v1/estimates:session"]["post"]["responses"])
    assert {"400", "409"} <= set(paths["/v1/rule-sets:publish"]["post"]["responses"])
    assert "404" in paths["/v1/quotes/{quote_id}"]["get"]["responses"]
