"""The gateway retries UNAVAILABLE with backoff for reads (the real binary, grpc-go 1.33 with
GRPC_GO_RETRY turned on by the gateway itself), never a quote save; its service config is
service.wire's."""

from __future__ import annotations

import json
import re
from pathlib import Path

from service.wire import service_config
from tests.flaky_server import flaky_server

from .helpers import REPO_ROOT, http, start_gateway, stop_gateway, wait_healthy


def test_the_gateway_dials_with_the_service_config_of_service_wire() -> None:
    source = (REPO_ROOT / "gateway" / "main.go").read_text()
    found = re.search(r"const serviceConfig = `([^`]*)`", source)
    assert found is not None
    assert json.loads(found.group(1)) == service_config(loadBalancingConfig=[{"round_robin": {}}])


def test_the_gateway_retries_a_read_but_not_a_save(gateway_binary: Path) -> None:
    with flaky_server({"ListRuleSets": 2, "EstimateSession": 1}) as flaky:
        gw = start_gateway(gateway_binary, flaky.target)
        try:
            wait_healthy(gw)
            listed = http("GET", gw.url("/v1/rule-sets"), timeout=30)
            assert listed.status == 200, listed.text
            assert flaky.attempts["ListRuleSets"] == 3
            body = {
                "save_quote": True,
                "session": {"plan_id": "acme-ppo-gold", "session_type": "swedish", "minutes": 60},
            }  # complete, so the gateway's input check lets it through to the service
            saved = http("POST", gw.url("/v1/estimates:session"), body, timeout=30)
            assert saved.status == 503, saved.text
            assert flaky.attempts["EstimateSession"] == 1
        finally:
            stop_gateway(gw)
