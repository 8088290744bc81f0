"""The gateway as a container runs it: settings from the environment, a `dns:///` target (the
headless Service in deploy/k8s/) and `-health-check`, the image's HEALTHCHECK command."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from .helpers import Gateway, http, start_gateway, stop_gateway, wait_healthy

pytestmark = pytest.mark.gateway


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _health_check(binary: Path, listen: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), "-health-check", "-listen", listen],
        capture_output=True,
        text=True,
        timeout=30,
        env={k: v for k, v in os.environ.items() if not k.startswith("MASSAGE_ESTIMATOR_")},
    )


def test_health_check_exits_0_for_a_healthy_gateway(gateway_binary: Path, gateway: Gateway) -> None:
    result = _health_check(gateway_binary, gateway.base_url.removeprefix("http://"))
    assert result.returncode == 0, result.stderr


def test_health_check_exits_1_where_no_gateway_listens(gateway_binary: Path) -> None:
    result = _health_check(gateway_binary, f"127.0.0.1:{_closed_port()}")
    assert result.returncode == 1
    assert "unhealthy" in result.stderr


def test_health_check_exits_1_when_the_service_behind_is_down(gateway_binary: Path) -> None:
    gateway = start_gateway(gateway_binary, f"127.0.0.1:{_closed_port()}")
    try:
        assert http("GET", gateway.url("/healthz")).status == 503
        result = _health_check(gateway_binary, gateway.base_url.removeprefix("http://"))
        assert result.returncode == 1
        assert "503" in result.stderr
    finally:
        stop_gateway(gateway)


def test_settings_from_the_environment_with_a_dns_target(
    gateway_binary: Path, grpc_target: str
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MASSAGE_ESTIMATOR_")},
        "MASSAGE_ESTIMATOR_GATEWAY_LISTEN": "127.0.0.1:0",
        "MASSAGE_ESTIMATOR_TARGET": f"dns:///{grpc_target}",
    }
    gateway = start_gateway(gateway_binary, None, env=env)
    try:
        wait_healthy(gateway)
        reply = http("GET", gateway.url("/v1/plans"))
        assert reply.status == 200, reply.text
        assert {p["plan_id"] for p in reply.json["plans"]} >= {"acme-ppo-gold", "summit-ma-plus"}
    finally:
        stop_gateway(gateway)
