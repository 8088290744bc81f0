"""REST/JSON through the real grpc-gateway binary, in front of the real gRPC server.

Everything here goes through plain HTTP (urllib) as a payer's portal would: no gRPC library
on the client side. Where the REST answer can be compared with the gRPC answer of the same
server, it is, field by field (the JSON must round-trip losslessly into the proto).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import estimator_pb2_grpc as pb_grpc

from .helpers import Gateway, http, start_gateway, stop_gateway, wait_healthy

pytestmark = pytest.mark.gateway

BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"


def usd(units: int, nanos: int = 0) -> dict[str, Any]:
    """google.type.Money as proto3 JSON (int64 units are strings)."""
    return {"currency_code": "USD", "units": str(units), "nanos": nanos}


def day(iso: str) -> dict[str, int]:
    year, month, dom = (int(part) for part in iso.split("-"))
    return {"year": year, "month": month, "day": dom}


def issue_session(**changes: Any) -> dict[str, Any]:
    """The quickstart quote as a portal writes it in JSON (proto field names, enum names)."""
    session: dict[str, Any] = {
        "plan_id": "acme-ppo-gold",
        "session_type": "deep_tissue",
        "minutes": 53,
        "referral": {"kind": "REFERRAL_KIND_PRESCRIPTION", "issue_date": day("2026-02-01")},
        "diagnosis_codes": ["M54.50"],
        "date_of_service": day("2026-03-03"),
        "network": "NETWORK_IN",
        "injury": "INJURY_NONE",
        "accumulators": {
            "deductible_met": usd(450),
            "out_of_pocket_met": usd(450),
            "visits_used": 3,
        },
    }
    session.update(changes)
    return session


def details_of(body: dict[str, Any], type_url: str) -> list[dict[str, Any]]:
    return [d for d in body.get("details", []) if d.get("@type") == type_url]


def violations(body: dict[str, Any]) -> dict[str, str]:
    """field -> description of every google.rpc.BadRequest field violation in an error body."""
    found: dict[str, str] = {}
    for detail in details_of(body, BAD_REQUEST):
        for violation in detail.get("field_violations", []):
            found[violation["field"]] = violation["description"]
    return found


# --- the gateway itself ---------------------------------------------------------------------


def test_healthz_reports_the_grpc_service_serving(gateway: Gateway) -> None:
    reply = http("GET", gateway.url("/healthz"))
    assert reply.status == 200
    assert reply.json["status"] == "SERVING"


def test_healthz_is_503_when_the_service_is_gone(gateway_binary: Path) -> None:
    # A port nothing listens on: bind a socket, read its port, close it.
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{sock.getsockname()[1]}"
    gw = start_gateway(gateway_binary, dead)
    try:
        reply = http("GET", gw.url("/healthz"))
        assert reply.status == 503
        assert reply.json["status"] == "NOT_SERVING"
        # A quote through a gateway whose backend is down is 503 UNAVAILABLE, not a 500.
        quote = http("POST", gw.url("/v1/estimates:session"), {"session": issue_session()})
        assert quote.status == 503, quote
        assert quote.json["code"] == grpc.StatusCode.UNAVAILABLE.value[0]
    finally:
        stop_gateway(gw)


def test_unknown_route_is_404(gateway: Gateway) -> None:
    assert http("GET", gateway.url("/v1/nothing-here")).status == 404


def test_malformed_json_is_400(gateway: Gateway) -> None:
    reply = http("POST", gateway.url("/v1/estimates:session"), {"session": {"minutes": "many"}})
    assert reply.status == 400
    assert reply.json["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]


def test_unknown_json_field_is_400_not_silently_ignored(gateway: Gateway) -> None:
    # A typo in an accumulator must not price the session as if nothing was met.
    session = issue_session()
    session["accumulators"]["deductible_mett"] = usd(450)
    reply = http("POST", gateway.url("/v1/estimates:session"), {"session": session})
    assert reply.status == 400, reply
    assert reply.json["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "deductible_mett" in reply.json["message"]


def test_int64_money_units_may_be_a_json_number(gateway: Gateway) -> None:
    session = issue_session()
    session["accumulators"]["deductible_met"] = {"currency_code": "USD", "units": 450}
    reply = http("POST", gateway.url("/v1/estimates:session"), {"session": session})
    assert reply.status == 200, reply
    assert reply.json["estimate"]["patient_cost"]["deductible"] == usd(50)


# --- quotes ---------------------------------------------------------------------------------


def test_quote_over_rest_is_issue_2s_example(gateway: Gateway) -> None:
    reply = http("POST", gateway.url("/v1/estimates:session"), {"session": issue_session()})
    assert reply.status == 200, reply
    assert reply.headers["Content-Type"] == "application/json"
    est = reply.json["estimate"]
    # Hand-computed: 53 min deep tissue, CMS 8-minute rule -> 4 units of 97124 at
    # $31.00 = $124.00; $50.00 deductible left, 20% of the remaining $74.00 = $14.80.
    assert est["covered"] is True
    assert est["coverage_basis"] == "COVERAGE_BASIS_MEDICAL_NECESSITY"
    assert est["cpt_code"] == "97124"
    assert (est["billed_units"], est["covered_units"]) == (4, 4)
    assert est["allowed_amount"] == usd(124)
    assert est["patient_cost"]["deductible"] == usd(50)
    assert est["patient_cost"]["coinsurance"] == usd(14, 800_000_000)
    assert est["patient_pays"] == usd(64, 800_000_000)
    assert est["plan_pays"] == usd(59, 200_000_000)
    assert est["sessions_remaining"] == 16  # 20 shared visits - 3 used - this one
    assert est["prior_authorization_required"] is False
    assert est["hsa_eligible"] is False
    assert est["rule_version"]["payer_id"] == "acme-health"
    assert est["rule_version"]["effective_from"] == day("2026-01-01")


def test_rest_answer_equals_the_grpc_answer(
    gateway: Gateway, grpc_stub: pb_grpc.EstimatorServiceStub
) -> None:
    body = {"session": issue_session()}
    reply = http("POST", gateway.url("/v1/estimates:session"), body)
    assert reply.status == 200, reply
    over_rest = json_format.ParseDict(reply.json, pb.EstimateSessionResponse())
    over_grpc = grpc_stub.EstimateSession(
        json_format.ParseDict(body, pb.EstimateSessionRequest()), timeout=10
    )
    assert over_rest == over_grpc
    # The proto3 `optional` field keeps its presence through the gateway: set and 16 here.
    assert over_rest.estimate.HasField("sessions_remaining")


def test_self_pay_has_no_sessions_remaining_key(gateway: Gateway) -> None:
    session = issue_session(plan_id="self-pay", session_type="swedish", minutes=60)
    reply = http("POST", gateway.url("/v1/estimates:session"), {"session": session})
    assert reply.status == 200, reply
    est = reply.json["estimate"]
    assert est["covered"] is False
    assert est["patient_pays"] == usd(95)  # relaxation group, 60 minutes: $95 cash price
    # Unset optional (no visit limit for self-pay) is absent, never a misleading 0.
    assert "sessions_remaining" not in est
    assert "visit_limit" not in est


def test_treatment_plan_over_rest(
    gateway: Gateway, grpc_stub: pb_grpc.EstimatorServiceStub
) -> None:
    session = issue_session()
    del session["date_of_service"]
    body = {
        "session": session,
        "recurrence": {"start_date": day("2026-03-03"), "session_count": 4, "every_days": 7},
    }
    reply = http("POST", gateway.url("/v1/estimates:treatmentPlan"), body)
    assert reply.status == 200, reply
    plan = reply.json
    assert [s["date_of_service"] for s in plan["sessions"]] == [
        day("2026-03-03"),
        day("2026-03-10"),
        day("2026-03-17"),
        day("2026-03-24"),
    ]
    # The deductible fills on the first session, then 20% coinsurance of $124.00 = $24.80.
    assert plan["sessions"][0]["patient_pays"] == usd(64, 800_000_000)
    assert plan["sessions"][1]["patient_pays"] == usd(24, 800_000_000)
    assert [s["sessions_remaining"] for s in plan["sessions"]] == [16, 15, 14, 13]
    assert plan["total_patient_pays"] == usd(139, 200_000_000)  # $64.80 + 3 x $24.80
    over_grpc = grpc_stub.EstimateTreatmentPlan(
        json_format.ParseDict(body, pb.EstimateTreatmentPlanRequest()), timeout=10
    )
    assert json_format.ParseDict(plan, pb.EstimateTreatmentPlanResponse()) == over_grpc


def test_batch_answers_each_session_on_its_own(gateway: Gateway) -> None:
    body = {"sessions": [issue_session(), issue_session(minutes=0)]}
    reply = http("POST", gateway.url("/v1/estimates:batch"), body)
    assert reply.status == 200, reply
    batch = reply.json
    assert (batch["succeeded_count"], batch["failed_count"]) == (1, 1)
    first, second = batch["results"]
    assert first["index"] == 0 and first["estimate"]["patient_pays"] == usd(64, 800_000_000)
    assert second["index"] == 1
    assert second["error"]["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "minutes" in " ".join(violations(second["error"]))


# --- errors: HTTP status from the gRPC code, details kept ------------------------------------


def test_bad_request_is_400_with_field_violations(gateway: Gateway) -> None:
    session = issue_session(minutes=0, session_type="deep_tisue")
    reply = http("POST", gateway.url("/v1/estimates:session"), {"session": session})
    assert reply.status == 400, reply
    body = reply.json
    assert body["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert body["message"]
    found = violations(body)
    assert {"session.minutes", "session.session_type"} <= set(found), found
    assert "deep_tissue" in found["session.session_type"]  # the did-you-mean survives
    assert details_of(body, ERROR_INFO)[0]["reason"] == "INVALID_ARGUMENT"


def test_unknown_plan_is_404(gateway: Gateway) -> None:
    session = issue_session(plan_id="acme-ppo-gld")
    reply = http("POST", gateway.url("/v1/estimates:session"), {"session": session})
    assert reply.status == 404, reply
    body = reply.json
    assert body["code"] == grpc.StatusCode.NOT_FOUND.value[0]
    assert "acme-ppo-gold" in body["message"]  # did you mean
    assert details_of(body, ERROR_INFO)[0]["reason"] == "PLAN_NOT_FOUND"


def test_date_without_rule_version_is_412(gateway: Gateway) -> None:
    session = issue_session(
        date_of_service=day("2025-12-15"),
        referral={"kind": "REFERRAL_KIND_PRESCRIPTION", "issue_date": day("2025-12-01")},
    )
    reply = http("POST", gateway.url("/v1/estimates:session"), {"session": session})
    assert reply.status == 412, reply
    body = reply.json
    assert body["code"] == grpc.StatusCode.FAILED_PRECONDITION.value[0]
    assert "2025-12-15" in body["message"]
    info = details_of(body, ERROR_INFO)[0]
    assert info["reason"] == "NO_RULE_VERSION"
    assert info["metadata"]["date_of_service"] == "2025-12-15"


# --- Authorization passes through as gRPC metadata -------------------------------------------


class RecordingEstimator(pb_grpc.EstimatorServiceServicer):
    """Records the metadata of each call. The real server has no hook to reveal what it
    received, so this tiny server stands behind the real gateway to prove the forwarding."""

    def __init__(self) -> None:
        self.metadata: list[dict[str, str]] = []

    def EstimateSession(
        self, request: pb.EstimateSessionRequest, context: grpc.ServicerContext
    ) -> pb.EstimateSessionResponse:
        self.metadata.append({k: str(v) for k, v in context.invocation_metadata()})
        return pb.EstimateSessionResponse(
            estimate=pb.Estimate(plan_id=request.session.plan_id, covered=False)
        )


@pytest.fixture
def recording_backend() -> Iterator[tuple[RecordingEstimator, str]]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = RecordingEstimator()
    pb_grpc.add_EstimatorServiceServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
    health_servicer = health.HealthServicer()
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield servicer, f"127.0.0.1:{port}"
    finally:
        server.stop(grace=None)


def test_authorization_header_arrives_as_grpc_metadata(
    gateway_binary: Path, recording_backend: tuple[RecordingEstimator, str]
) -> None:
    servicer, target = recording_backend
    gw = start_gateway(gateway_binary, target)
    try:
        wait_healthy(gw)
        token = "Bearer portal-token-123"
        reply = http(
            "POST",
            gw.url("/v1/estimates:session"),
            {"session": issue_session()},  # complete: the gateway refuses missing REQUIRED fields
            headers={"Authorization": token, "Grpc-Metadata-Request-Id": "req-42"},
        )
        assert reply.status == 200, reply
        assert reply.json["estimate"]["plan_id"] == "acme-ppo-gold"
        # Without the header nothing is invented.
        bare = http("POST", gw.url("/v1/estimates:session"), {"session": issue_session()})
        assert bare.status == 200, bare
    finally:
        stop_gateway(gw)
    with_header, without_header = servicer.metadata
    assert with_header["authorization"] == token
    assert "authorization" not in without_header
    # Custom headers travel only with the Grpc-Metadata- prefix, which the gateway strips.
    assert with_header["request-id"] == "req-42"
    # The gateway marks where the call came from (x-forwarded-for), so the service can log it.
    assert with_header["x-forwarded-for"] == "127.0.0.1"


def test_rules_as_of_timestamp_travels_as_rfc3339(gateway: Gateway) -> None:
    # Replaying with the rules known in 2000 (none): 412 NO_RULE_VERSION, proving the
    # gateway parsed the Timestamp and the service received it.
    body = {"session": issue_session(), "rules_as_of": "2000-01-01T00:00:00Z"}
    reply = http("POST", gateway.url("/v1/estimates:session"), body)
    assert reply.status == 412, reply
    assert details_of(reply.json, ERROR_INFO)[0]["reason"] == "NO_RULE_VERSION"
    body["rules_as_of"] = "not a time"
    assert http("POST", gateway.url("/v1/estimates:session"), body).status == 400
