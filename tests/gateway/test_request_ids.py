"""One request id from the REST call through the gateway to the service and back, with every
log line of both processes JSON; and the gateway's own /metrics."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import urllib.request
from pathlib import Path
from typing import Any

from tests.observability.helpers import serving

from .helpers import Gateway, http, stop_gateway, wait_healthy
from .test_rest import issue_session


def _start(binary: Path, target: str, *flags: str) -> tuple[Gateway, list[str]]:
    """The gateway in JSON mode; every line it writes (stdout and stderr) is collected."""
    process = subprocess.Popen(
        [str(binary), "-listen", "127.0.0.1:0", "-grpc-target", target, *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={"MASSAGE_ESTIMATOR_LOG_FORMAT": "json", "PATH": "/usr/bin:/bin"},
    )
    lines: list[str] = []
    first = threading.Event()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            first.set()

    threading.Thread(target=pump, daemon=True).start()
    assert first.wait(15), "the gateway printed nothing"
    message = json.loads(lines[0])["message"]
    address = message.split("listening on ", 1)[1].split(",", 1)[0]
    return Gateway(process=process, base_url=f"http://{address}"), lines


def _records(lines: list[str], who: str) -> list[dict[str, Any]]:
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise AssertionError(f"{who} wrote a line that is not JSON: {line!r}") from exc
    return records


def test_a_request_id_goes_from_the_gateway_to_the_service_and_back(
    gateway_binary: Path, tmp_path: Path
) -> None:
    with serving(tmp_path / "store.db", "--log-format", "json") as served:
        gateway, lines = _start(gateway_binary, served.target)
        try:
            wait_healthy(gateway)
            given = http(
                "POST",
                gateway.url("/v1/estimates:session"),
                {"session": issue_session()},
                headers={"X-Request-Id": "portal-7f3a"},
            )
            made = http("POST", gateway.url("/v1/estimates:session"), {"session": issue_session()})
            refused = http(
                "POST",
                gateway.url("/v1/estimates:session"),
                {"session": issue_session(plan_id="no-such-plan")},
                headers={"X-Request-Id": "bad id with spaces"},
            )
        finally:
            stop_gateway(gateway)
    assert given.status == 200 and given.headers["X-Request-Id"] == "portal-7f3a"
    assert made.status == 200
    made_id = made.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made_id)
    assert refused.status >= 400
    refused_id = refused.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", refused_id)

    gateway_records = _records(lines, "the gateway")
    service_records = served.json_lines()
    gateway_access = {
        r["request_id"]: r for r in gateway_records if r.get("logger") == "gateway.access"
    }
    service_access = {
        r["request_id"]: r for r in service_records if r.get("logger") == "service.access"
    }
    for request_id, status, code in (
        ("portal-7f3a", 200, "OK"),
        (made_id, 200, "OK"),
        (refused_id, refused.status, None),
    ):
        assert gateway_access[request_id]["status"] == status
        assert gateway_access[request_id]["path"] == "/v1/estimates:session"
        assert service_access[request_id]["grpc_method"] == "EstimateSession"
        if code:
            assert service_access[request_id]["grpc_code"] == code
    assert service_access[refused_id]["grpc_code"] != "OK"
    for record in gateway_records:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["ts"])
        assert "M54.50" not in json.dumps(record)


def _scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        text: str = response.read().decode()
        return text


def test_gateway_metrics_count_exactly_the_requests_served(
    gateway_binary: Path, grpc_target: str
) -> None:
    gateway, lines = _start(gateway_binary, grpc_target, "-metrics-listen", "127.0.0.1:0")
    try:
        wait_healthy(gateway)
        address = ""
        for _ in range(100):
            found = [json.loads(x)["message"] for x in lines if "metrics on http://" in x]
            if found:
                address = found[0].split("http://", 1)[1].split("/", 1)[0]
                break
            threading.Event().wait(0.05)
        assert address, "the gateway did not say where its metrics are"
        before = _scrape(f"http://{address}/metrics")
        for _ in range(3):
            assert http("POST", gateway.url("/v1/estimates:session"), {"session": issue_session()})
        assert http("GET", gateway.url("/v1/nothing-here")).status == 404
        after = _scrape(f"http://{address}/metrics")
    finally:
        stop_gateway(gateway)

    def value(text: str, series: str) -> float:
        match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
        return float(match.group(1)) if match else 0.0

    ok = 'gateway_http_requests_total{code="200",method="POST"}'
    missing = 'gateway_http_requests_total{code="404",method="GET"}'
    assert value(after, ok) - value(before, ok) == 3
    assert value(after, missing) - value(before, missing) == 1
    count = 'gateway_http_request_duration_seconds_count{method="POST"}'
    assert value(after, count) - value(before, count) == 3
    inf = 'gateway_http_request_duration_seconds_bucket{method="POST",le="+Inf"}'
    assert value(after, inf) - value(before, inf) == 3
