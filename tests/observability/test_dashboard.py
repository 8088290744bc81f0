"""The Grafana dashboard uses only metrics that exist, and every metric is documented."""

from __future__ import annotations

import json
import re

from service.observability.metrics import Metrics
from tests.conftest import REPO_ROOT

DASHBOARD = REPO_ROOT / "deploy" / "grafana" / "massage-estimator.json"
METRICS_DOC = REPO_ROOT / "docs" / "metrics.md"
GATEWAY_METRICS = REPO_ROOT / "gateway" / "metrics.go"
METRIC_NAME = re.compile(r"(?<![$\w])((?:grpc_server|massage_estimator|gateway)_[a-z_]+)\b")
HISTOGRAM_SERIES = ("_bucket", "_count", "_sum")


def service_metrics() -> set[str]:
    """The metric families one server's registry exposes (counters with their _total)."""
    names = set()
    for family in Metrics().registry.collect():
        names.add(family.name + ("_total" if family.type == "counter" else ""))
    return names


def gateway_metrics() -> set[str]:
    return set(re.findall(r'Name:\s+"(\w+)"', GATEWAY_METRICS.read_text(encoding="utf-8")))


def dashboard_metrics() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    found = set()
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            for name in METRIC_NAME.findall(target["expr"]):
                for suffix in HISTOGRAM_SERIES:
                    name = name.removesuffix(suffix) if name.endswith(suffix) else name
                found.add(name)
    return found


def test_the_sets_are_what_the_code_defines() -> None:
    assert {"grpc_server_started_total", "grpc_server_handling_seconds"} <= service_metrics()
    assert gateway_metrics() == {
        "gateway_http_requests_total",
        "gateway_http_request_duration_seconds",
    }


def test_every_metric_on_the_dashboard_exists() -> None:
    used = dashboard_metrics()
    assert used, "the dashboard has no metric queries"
    assert used <= service_metrics() | gateway_metrics(), used - service_metrics()


def test_every_metric_is_on_the_dashboard() -> None:
    assert service_metrics() | gateway_metrics() <= dashboard_metrics()


def test_every_metric_is_documented() -> None:
    documented = set(re.findall(r"`(\w+)`", METRICS_DOC.read_text(encoding="utf-8")))
    missing = (service_metrics() | gateway_metrics()) - documented
    assert not missing, f"not in docs/metrics.md: {sorted(missing)}"
