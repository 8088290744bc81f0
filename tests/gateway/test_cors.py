"""CORS on the real gateway: booking pages on allow-listed origins may call the estimate routes
from a browser; every other origin gets no CORS header, and a wildcard is refused at start-up."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import Gateway, http, start_gateway, stop_gateway, wait_healthy

ALLOWED = "https://book.example-clinic.com"
OTHER_ALLOWED = "http://127.0.0.1:8765"
REFUSED = "https://evil.example.net"


def _headers(origin: str, method: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization,content-type,x-request-id",
    }


@pytest.fixture(scope="module")
def cors_gateway(gateway_binary: Path, grpc_target: str) -> Iterator[Gateway]:
    env = {**os.environ, "MASSAGE_ESTIMATOR_GATEWAY_CORS_ORIGINS": f"{ALLOWED}, {OTHER_ALLOWED}"}
    gw = start_gateway(gateway_binary, grpc_target, env=env)
    try:
        wait_healthy(gw)
        yield gw
    finally:
        stop_gateway(gw)


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/v1/estimates:session", "POST"),
        ("/v1/estimates:treatmentPlan", "POST"),
        ("/v1/plans", "GET"),
    ],
)
def test_preflight_from_an_allowed_origin_is_answered(
    cors_gateway: Gateway, path: str, method: str
) -> None:
    reply = http("OPTIONS", cors_gateway.url(path), headers=_headers(ALLOWED, method))
    assert reply.status == 204
    assert reply.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert reply.headers["Access-Control-Allow-Methods"] == method
    allowed = {h.strip() for h in reply.headers["Access-Control-Allow-Headers"].split(",")}
    assert allowed == {"authorization", "content-type", "x-request-id"}
    assert "Origin" in reply.headers["Vary"]


def test_each_listed_origin_is_echoed_alone(cors_gateway: Gateway) -> None:
    reply = http("OPTIONS", cors_gateway.url("/v1/plans"), headers=_headers(OTHER_ALLOWED, "GET"))
    assert reply.headers["Access-Control-Allow-Origin"] == OTHER_ALLOWED


def test_preflight_from_an_unlisted_origin_gets_no_cors_headers(cors_gateway: Gateway) -> None:
    reply = http(
        "OPTIONS", cors_gateway.url("/v1/estimates:session"), headers=_headers(REFUSED, "POST")
    )
    assert reply.status == 403
    assert not [h for h in reply.headers if h.lower().startswith("access-control-")]


def test_preflight_for_another_method_is_refused(cors_gateway: Gateway) -> None:
    reply = http(
        "OPTIONS", cors_gateway.url("/v1/estimates:session"), headers=_headers(ALLOWED, "DELETE")
    )
    assert reply.status == 403
    assert "Access-Control-Allow-Origin" not in reply.headers


def test_a_quote_from_an_allowed_origin_carries_the_header(cors_gateway: Gateway) -> None:
    body = {
        "session": {
            "plan_id": "self-pay",
            "session_type": "swedish",
            "minutes": 60,
            "date_of_service": {"year": 2026, "month": 3, "day": 2},
        }
    }
    ok = http("POST", cors_gateway.url("/v1/estimates:session"), body, {"Origin": ALLOWED})
    assert ok.status == 200, ok.text
    assert ok.headers["Access-Control-Allow-Origin"] == ALLOWED
    refused = http("POST", cors_gateway.url("/v1/estimates:session"), body, {"Origin": REFUSED})
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_other_routes_never_get_cors_headers(cors_gateway: Gateway) -> None:
    reply = http("GET", cors_gateway.url("/v1/rule-sets"), headers={"Origin": ALLOWED})
    assert "Access-Control-Allow-Origin" not in reply.headers
    pre = http("OPTIONS", cors_gateway.url("/v1/rule-sets"), headers=_headers(ALLOWED, "GET"))
    assert "Access-Control-Allow-Origin" not in pre.headers


def test_no_origins_by_default(gateway: Gateway) -> None:
    reply = http("OPTIONS", gateway.url("/v1/plans"), headers=_headers(ALLOWED, "GET"))
    assert "Access-Control-Allow-Origin" not in reply.headers


@pytest.mark.parametrize("bad", ["*", "https://clinic.example/booking", "clinic.example"])
def test_a_wildcard_or_a_non_origin_is_refused_at_start_up(
    gateway_binary: Path, grpc_target: str, bad: str
) -> None:
    result = subprocess.run(
        [
            str(gateway_binary),
            "--listen",
            "127.0.0.1:0",
            "--grpc-target",
            grpc_target,
            "--cors-origins",
            bad,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "-cors-origins" in result.stderr
