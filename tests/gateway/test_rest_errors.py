"""The gateway's error contract (issue 11): every malformed request is a 400 with a
google.rpc.Status body whose google.rpc.BadRequest names the field and a stable reason; 404
and 405 have the same JSON shape; a 5xx never shows Go or gRPC internals and is logged.

Each test here is one defect found by fuzzing the gateway of v1.6 as it was configured before.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from .helpers import Gateway, Reply, http, start_gateway, stop_gateway
from .test_rest import BAD_REQUEST, ERROR_INFO, day, details_of, issue_session

pytestmark = pytest.mark.gateway

INVALID_ARGUMENT = 3


def field_violations(reply: Reply) -> dict[str, str]:
    """field -> reason of every BadRequest field violation of a 400 answer."""
    assert reply.status == 400, reply
    assert reply.headers["Content-Type"] == "application/json"
    body = reply.json
    assert set(body) == {"code", "message", "details"}, body
    assert body["code"] == INVALID_ARGUMENT
    found = {}
    for detail in details_of(body, BAD_REQUEST):
        for violation in detail["field_violations"]:
            assert violation["description"], violation
            found[violation["field"]] = violation["reason"]
    return found


def post(gateway: Gateway, path: str, body: Any) -> Reply:
    return http("POST", gateway.url(path), body)


def test_a_null_session_in_a_batch_is_a_400_naming_it(gateway: Gateway) -> None:
    reply = post(gateway, "/v1/estimates:batch", {"sessions": [issue_session(), None]})
    assert field_violations(reply) == {"sessions[1]": "NULL_ELEMENT"}


def test_a_null_date_in_a_treatment_plan_is_a_400_naming_it(gateway: Gateway) -> None:
    session = issue_session()
    del session["date_of_service"]
    body = {"session": session, "dates": {"dates": [day("2026-03-03"), None]}}
    reply = post(gateway, "/v1/estimates:treatmentPlan", body)
    assert field_violations(reply) == {"dates.dates[1]": "NULL_ELEMENT"}


def test_an_unknown_field_is_named_with_its_path(gateway: Gateway) -> None:
    session = issue_session()
    session["accumulators"]["deductible_mett"] = session["accumulators"]["deductible_met"]
    reply = post(gateway, "/v1/estimates:session", {"session": session})
    assert field_violations(reply) == {"session.accumulators.deductible_mett": "UNKNOWN_FIELD"}
    assert 'did you mean "deductible_met"' in reply.json["message"]


def test_an_unknown_enum_name_is_named(gateway: Gateway) -> None:
    reply = post(
        gateway, "/v1/estimates:session", {"session": issue_session(network="NETWORK_SIDEWAYS")}
    )
    assert field_violations(reply) == {"session.network": "UNKNOWN_ENUM_VALUE"}
    assert "NETWORK_IN" in reply.json["message"]


def test_an_out_of_range_number_is_named(gateway: Gateway) -> None:
    reply = post(gateway, "/v1/estimates:session", {"session": issue_session(minutes=99999999999)})
    assert field_violations(reply) == {"session.minutes": "OUT_OF_RANGE"}


def test_a_bad_timestamp_is_named(gateway: Gateway) -> None:
    body = {"session": issue_session(), "rules_as_of": "not-a-time"}
    reply = post(gateway, "/v1/estimates:session", body)
    assert field_violations(reply) == {"rules_as_of": "BAD_TIMESTAMP"}


def test_a_date_that_is_not_a_calendar_day_is_named(gateway: Gateway) -> None:
    session = issue_session(date_of_service={"year": 2026, "month": 2, "day": 30})
    reply = post(gateway, "/v1/estimates:session", {"session": session})
    assert field_violations(reply) == {"session.date_of_service": "BAD_DATE"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"minutes": "many"}, "session.minutes"),
        ({"minutes": 53.5}, "session.minutes"),
        ({"diagnosis_codes": "M54.50"}, "session.diagnosis_codes"),
        ({"prior_authorization_on_file": "yes"}, "session.prior_authorization_on_file"),
        ({"referral": ["REFERRAL_KIND_PRESCRIPTION"]}, "session.referral"),
        ({"plan_id": 7}, "session.plan_id"),
    ],
)
def test_a_wrong_json_type_is_named(gateway: Gateway, change: dict[str, Any], field: str) -> None:
    reply = post(gateway, "/v1/estimates:session", {"session": issue_session(**change)})
    assert field_violations(reply) == {field: "WRONG_TYPE"}


def test_every_bad_field_of_one_body_is_named(gateway: Gateway) -> None:
    session = issue_session(minutes="many", network="NETWORK_SIDEWAYS", typo=1)
    reply = post(gateway, "/v1/estimates:session", {"session": session})
    assert field_violations(reply) == {
        "session.minutes": "WRONG_TYPE",
        "session.network": "UNKNOWN_ENUM_VALUE",
        "session.typo": "UNKNOWN_FIELD",
    }


def test_a_body_that_is_not_json_is_a_400_without_echoing_it(gateway: Gateway) -> None:
    raw = _raw_post(gateway, "/v1/estimates:session", b'{"session": {"plan_id": "M54.50"')
    assert field_violations(raw) == {"body": "MALFORMED_JSON"}
    assert "M54.50" not in raw.text


def _raw_post(gateway: Gateway, path: str, data: bytes) -> Reply:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(gateway.url(path), data=data, method="POST")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Reply(response.status, dict(response.headers), response.read().decode())
    except urllib.error.HTTPError as err:
        return Reply(err.code, dict(err.headers), err.read().decode())


def test_the_service_s_own_field_violations_carry_a_reason(gateway: Gateway) -> None:
    reply = post(gateway, "/v1/estimates:session", {"session": issue_session(minutes=0)})
    assert field_violations(reply) == {"session.minutes": "OUT_OF_RANGE"}


def test_unknown_route_is_a_json_404(gateway: Gateway) -> None:
    reply = http("GET", gateway.url("/v1/nothing-here"))
    assert reply.status == 404
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.json["code"] == 5  # NOT_FOUND
    assert "/v1/nothing-here" in reply.json["message"]
    assert reply.json["details"] == []


def test_wrong_method_is_a_json_405_with_allow(gateway: Gateway) -> None:
    reply = http("GET", gateway.url("/v1/estimates:session"))
    assert reply.status == 405
    assert reply.headers["Allow"] == "POST"
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.json["code"] == 12  # UNIMPLEMENTED
    reply = http("DELETE", gateway.url("/v1/plans"))
    assert reply.status == 405
    assert reply.headers["Allow"] == "GET"


def test_a_repeated_query_parameter_is_refused_not_an_empty_list(gateway: Gateway) -> None:
    reply = http("GET", gateway.url("/v1/plans?payer_id=acme-health&payer_id=b"))
    assert field_violations(reply) == {"payer_id": "REPEATED_QUERY_PARAMETER"}


def test_an_unknown_query_parameter_is_refused(gateway: Gateway) -> None:
    reply = http("GET", gateway.url("/v1/plans?payer=acme-health"))
    assert field_violations(reply) == {"payer": "UNKNOWN_FIELD"}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_5xx_hides_grpc_internals_and_is_logged(gateway_binary: Path) -> None:
    gw = start_gateway(gateway_binary, f"127.0.0.1:{_closed_port()}")
    try:
        reply = post(gw, "/v1/estimates:session", {"session": issue_session()})
        assert reply.status == 503, reply
        body = reply.json
        assert body["code"] == 14  # UNAVAILABLE
        for internal in ("dial", "connection", "127.0.0.1", "grpc", "transport"):
            assert internal not in reply.text.lower(), reply.text
        assert [d["reason"] for d in details_of(body, ERROR_INFO)] == ["BACKEND_UNAVAILABLE"]
        logged = gw.output.get(timeout=10)
        assert "503 for POST /v1/estimates:session" in logged
        assert "Unavailable" in logged
    finally:
        stop_gateway(gw)


def test_a_missing_required_field_is_named(gateway: Gateway) -> None:
    session = issue_session()
    del session["minutes"]
    reply = post(gateway, "/v1/estimates:session", {"session": session, "rules_as_of": None})
    assert field_violations(reply) == {"session.minutes": "REQUIRED"}
    reply = http("GET", gateway.url("/v1/payers/acme-health/rule-sets:diff?from_version=2026.1"))
    assert field_violations(reply) == {"to_version": "REQUIRED"}


def test_a_null_oneof_member_means_not_set_not_a_500(gateway: Gateway) -> None:
    # Found by Schemathesis: v1.6's decoder set the oneof to a nil message, which failed to
    # marshal (500). null means "not set" in the proto3 JSON mapping.
    session = issue_session()
    del session["date_of_service"]
    body = {"session": session, "dates": {"dates": [day("2026-03-03")]}, "recurrence": None}
    reply = post(gateway, "/v1/estimates:treatmentPlan", body)
    assert reply.status == 200, reply
    assert len(reply.json["sessions"]) == 1


def test_an_enum_number_is_refused_the_name_is_asked_for(gateway: Gateway) -> None:
    reply = post(gateway, "/v1/estimates:session", {"session": issue_session(network=2)})
    assert field_violations(reply) == {"session.network": "WRONG_TYPE"}
    assert "NETWORK_OUT" in reply.json["message"]
