"""/metrics of a real server after known traffic: every counter and every histogram bucket
moves by exactly that traffic; the rule-index gauges follow a publish; store errors count."""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import payer_rules_pb2 as rpb
from prometheus_client.parser import text_string_to_metric_families

from service.app import Application, start
from service.observability.metrics import HANDLING_BUCKETS
from service.observability.runtime import Telemetry
from service.settings import Settings
from tests.api.helpers import d, issue_example
from tests.api.rules_helpers import Clients, clients_for, mid_year_2026
from tests.conftest import make_settings

from .helpers import serving

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]
ESTIMATOR = "massage_estimator.v1.EstimatorService"
RULES = "massage_estimator.v1.PayerRulesService"


def scrape(port: int) -> Series:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    series: Series = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            series[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return series


def grpc_labels(service: str, method: str, **more: str) -> dict[str, str]:
    return {"grpc_type": "unary", "grpc_service": service, "grpc_method": method, **more}


def delta(before: Series, after: Series, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Application]:
    running = start(make_settings(tmp_path / "store.db", metrics_port=0))
    try:
        yield running
    finally:
        running.stop(grace=1.0)


@pytest.fixture
def c(app: Application) -> Iterator[Clients]:
    with clients_for(app.target) as clients:
        yield clients


def _code(call: Callable[[], object]) -> grpc.StatusCode:
    """The status code of the one RPC `call` makes."""
    try:
        call()
    except grpc.RpcError as err:
        code: grpc.StatusCode = err.code()
        return code
    return grpc.StatusCode.OK


def test_counters_and_buckets_move_by_exactly_the_traffic_sent(
    app: Application, c: Clients, caplog: pytest.LogCaptureFixture
) -> None:
    assert app.telemetry is not None and app.telemetry.endpoint is not None
    port = app.telemetry.endpoint.port
    before = scrape(port)
    caplog.set_level(logging.INFO, logger="service.access")

    def estimate(session: pb.SessionDetails) -> pb.EstimateSessionResponse:
        request = pb.EstimateSessionRequest(session=session)
        response: pb.EstimateSessionResponse = c.estimator.EstimateSession(request, timeout=10)
        return response

    covered = [estimate(issue_example()) for _ in range(3)]
    assert all(r.estimate.covered for r in covered)
    assert not estimate(issue_example(diagnosis_codes=["Z00.00"])).estimate.covered
    unknown_plan = _code(lambda: estimate(issue_example(plan_id="no-such-plan")))
    assert unknown_plan == grpc.StatusCode.NOT_FOUND
    no_rules = _code(
        lambda: estimate(
            issue_example(
                date_of_service=d("2019-01-02"),
                referral=pb.Referral(
                    kind=pb.REFERRAL_KIND_PRESCRIPTION, issue_date=d("2019-01-01")
                ),
            )
        )
    )
    assert no_rules == grpc.StatusCode.FAILED_PRECONDITION
    batch = c.estimator.EstimateSessions(
        pb.EstimateSessionsRequest(sessions=[issue_example(), issue_example(minutes=0)]),
        timeout=10,
    )
    assert (batch.succeeded_count, batch.failed_count) == (1, 1)
    content = mid_year_2026()
    publish = rpb.PublishRuleSetRequest(content=content, source="m.yaml", published_by="ana")
    assert c.rules.PublishRuleSet(publish, timeout=30).created
    assert not c.rules.PublishRuleSet(publish, timeout=30).created
    bad = rpb.PublishRuleSetRequest(content="plans: [", source="bad.yaml", published_by="ana")
    assert (
        _code(lambda: c.rules.PublishRuleSet(bad, timeout=30)) == grpc.StatusCode.INVALID_ARGUMENT
    )
    after = scrape(port)

    one = grpc_labels(ESTIMATOR, "EstimateSession")
    assert delta(before, after, "grpc_server_started_total", **one) == 6
    assert delta(before, after, "grpc_server_handled_total", **one, grpc_code="OK") == 4
    assert delta(before, after, "grpc_server_handled_total", **one, grpc_code="NOT_FOUND") == 1
    failed = {**one, "grpc_code": "FAILED_PRECONDITION"}
    assert delta(before, after, "grpc_server_handled_total", **failed) == 1
    many = grpc_labels(ESTIMATOR, "EstimateSessions")
    assert delta(before, after, "grpc_server_started_total", **many) == 1
    assert delta(before, after, "grpc_server_handled_total", **many, grpc_code="OK") == 1
    pub = grpc_labels(RULES, "PublishRuleSet")
    assert delta(before, after, "grpc_server_started_total", **pub) == 3
    assert delta(before, after, "grpc_server_handled_total", **pub, grpc_code="OK") == 2
    assert (
        delta(before, after, "grpc_server_handled_total", **pub, grpc_code="INVALID_ARGUMENT") == 1
    )

    # Every bucket of EstimateSession's histogram moved by the calls that took at most its
    # bound, read from the same calls' access lines (which log the observed duration).
    seconds = [
        r.duration_ms / 1000  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "service.access" and getattr(r, "grpc_method", "") == "EstimateSession"
    ]
    assert len(seconds) == 6
    for bound in HANDLING_BUCKETS:
        expected = sum(1 for s in seconds if s <= bound)
        moved = delta(before, after, "grpc_server_handling_seconds_bucket", **one, le=_le(bound))
        assert moved == expected, bound
    assert delta(before, after, "grpc_server_handling_seconds_bucket", **one, le="+Inf") == 6
    assert delta(before, after, "grpc_server_handling_seconds_count", **one) == 6
    assert delta(before, after, "grpc_server_handling_seconds_sum", **one) == pytest.approx(
        sum(seconds), abs=1e-5
    )

    quotes = "massage_estimator_quotes_total"
    assert delta(before, after, quotes, outcome="covered") == 4  # 3 + the batch's good row
    assert delta(before, after, quotes, outcome="not_covered") == 1
    assert delta(before, after, quotes, outcome="invalid") == 2  # unknown plan + bad row
    assert delta(before, after, quotes, outcome="unavailable") == 1  # no rules for 2019
    publishes = "massage_estimator_publishes_total"
    assert delta(before, after, publishes, outcome="created") == 1
    assert delta(before, after, publishes, outcome="unchanged") == 1
    assert delta(before, after, publishes, outcome="rejected") == 1
    assert delta(before, after, publishes, outcome="failed") == 0

    def gauge(series: Series, name: str) -> float:
        return series[(f"massage_estimator_rule_index_{name}", frozenset())]

    assert gauge(after, "versions") == gauge(before, "versions") + 1
    assert gauge(after, "versions") == len(app.quoter.index.versions)
    assert gauge(after, "last_refresh_timestamp_seconds") > gauge(
        before, "last_refresh_timestamp_seconds"
    )
    assert gauge(after, "refresh_lag_seconds") >= 0
    assert gauge(after, "age_seconds") >= 0


def _le(bound: float) -> str:
    return str(float(bound))


def test_store_errors_are_counted_on_the_engine(tmp_path: Path) -> None:
    telemetry = Telemetry.start(make_settings(tmp_path / "x.db", metrics_port=0))
    assert telemetry.metrics is not None
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'errors.db'}")
    telemetry.watch_store(engine)
    with engine.connect() as connection:
        for _ in range(2):
            with pytest.raises(sa.exc.OperationalError):
                connection.execute(sa.text("SELECT * FROM no_such_table"))
        connection.execute(sa.text("SELECT 1"))
    registry = telemetry.metrics.registry
    name = "massage_estimator_store_errors_total"
    assert registry.get_sample_value(name, {"kind": "error"}) == 2
    assert registry.get_sample_value(name, {"kind": "disconnect"}) == 0
    telemetry.stop()
    engine.dispose()


def test_metrics_are_off_without_a_port(tmp_path: Path) -> None:
    telemetry = Telemetry.start(make_settings(tmp_path / "x.db"))
    assert telemetry.metrics is None and telemetry.tracer is None
    telemetry.serve_metrics("127.0.0.1", None)
    assert telemetry.endpoint is None


def test_serve_metrics_port_flag_serves_metrics(tmp_path: Path) -> None:
    with serving(tmp_path / "store.db", "--metrics-port", "0") as served:
        host, _, port = served.metrics.rpartition(":")
        assert host == "127.0.0.1"
        series = scrape(int(port))
    assert ("massage_estimator_rule_index_versions", frozenset()) in series


def test_metrics_port_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MASSAGE_ESTIMATOR_METRICS_PORT", "9464")
    assert Settings().metrics_port == 9464
