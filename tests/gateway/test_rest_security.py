"""A representative subset of the permission matrix through the real REST gateway: the
gateway passes `Authorization` through, and UNAUTHENTICATED / PERMISSION_DENIED come back as
401 / 403 with the same JSON error body as every other error (code, message, details)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from tests.api.rules_helpers import ACME_2026_FILE
from tests.api.security_helpers import OTHER_PAYER, OWN_PAYER, Secured, secured_server

from .helpers import Gateway, http, start_gateway, stop_gateway, wait_healthy
from .test_rest import ERROR_INFO, details_of, issue_session


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    with secured_server(tmp_path_factory.mktemp("gw-secured") / "store.db") as server:
        yield server


@pytest.fixture(scope="module")
def gw(gateway_binary: Path, secured: Secured) -> Iterator[Gateway]:
    gateway = start_gateway(gateway_binary, secured.app.target)
    try:
        wait_healthy(gateway)  # /healthz stays open: probes carry no token
        yield gateway
    finally:
        stop_gateway(gateway)


def auth(secured: Secured, role: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {secured.tokens[role]}"} if role else {}


QUOTE = ("POST", "/v1/estimates:session")
PUBLISH = ("POST", "/v1/rule-sets:publish")
OWN_RULES = ("GET", f"/v1/payers/{OWN_PAYER}/rule-sets/2026.1")
OTHER_RULES = ("GET", f"/v1/payers/{OTHER_PAYER}/rule-sets/2026.1")
WITHDRAW_OWN = ("POST", f"/v1/payers/{OWN_PAYER}/rule-sets/0000.0:withdraw")  # no such version
WITHDRAW_OTHER = ("POST", f"/v1/payers/{OTHER_PAYER}/rule-sets/2026.1:withdraw")

# (route, role, expected HTTP status, expected gRPC code)
CASES = [
    (QUOTE, None, 401, grpc.StatusCode.UNAUTHENTICATED),
    (QUOTE, "quoter", 200, grpc.StatusCode.OK),
    (QUOTE, "payer_admin", 403, grpc.StatusCode.PERMISSION_DENIED),
    (PUBLISH, None, 401, grpc.StatusCode.UNAUTHENTICATED),
    (PUBLISH, "quoter", 403, grpc.StatusCode.PERMISSION_DENIED),
    (PUBLISH, "billing", 403, grpc.StatusCode.PERMISSION_DENIED),
    (PUBLISH, "payer_admin", 200, grpc.StatusCode.OK),
    (OWN_RULES, "billing", 200, grpc.StatusCode.OK),
    (OWN_RULES, "payer_admin", 200, grpc.StatusCode.OK),
    (OTHER_RULES, "payer_admin", 404, grpc.StatusCode.NOT_FOUND),
    (OTHER_RULES, "quoter", 403, grpc.StatusCode.PERMISSION_DENIED),
    (OTHER_RULES, "admin", 200, grpc.StatusCode.OK),
    (WITHDRAW_OWN, "billing", 403, grpc.StatusCode.PERMISSION_DENIED),
    (WITHDRAW_OWN, "payer_admin", 404, grpc.StatusCode.NOT_FOUND),  # allowed; no such version
    (WITHDRAW_OTHER, "payer_admin", 403, grpc.StatusCode.PERMISSION_DENIED),
]


@pytest.mark.parametrize(("route", "role", "http_status", "code"), CASES)
def test_rest_matrix(
    gw: Gateway,
    secured: Secured,
    route: tuple[str, str],
    role: str | None,
    http_status: int,
    code: grpc.StatusCode,
) -> None:
    method, path = route
    body: object = None
    if route == QUOTE:
        body = {"session": issue_session()}
    elif route in (WITHDRAW_OWN, WITHDRAW_OTHER):
        body = {"reason": "gateway test", "withdrawn_by": "gateway test"}
    elif route == PUBLISH:
        body = {
            "content": ACME_2026_FILE.read_text(encoding="utf-8"),
            "source": "2026.yaml",
            "published_by": "gateway test",
        }
    reply = http(method, gw.url(path), body, headers=auth(secured, role))
    assert reply.status == http_status, reply
    if http_status != 200:
        error = reply.json
        assert error["code"] == code.value[0]
        assert error["message"]
        assert details_of(error, ERROR_INFO), error  # the same error body as any other error
        if role is not None:
            assert secured.tokens[role] not in reply.text


def test_a_malformed_authorization_header_is_401(gw: Gateway) -> None:
    reply = http(
        "POST",
        gw.url(QUOTE[1]),
        {"session": issue_session()},
        headers={"Authorization": "Bearer mest_forged"},
    )
    assert reply.status == 401, reply
    assert "mest_forged" not in reply.text
