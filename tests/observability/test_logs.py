"""Structured logs of the real `serve` process: JSON from the first line (the gRPC C core's
lines included), UTC times, one access line per call with its request id, no PHI."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import estimator_pb2_grpc as pb_grpc

from service.api.observability import _log_access, request_id_from
from service.observability.logs import (
    AccessEntry,
    JsonFormatter,
    TextFormatter,
    access_json,
    access_text,
    access_writer,
    configure_logging,
    utc_timestamp,
)
from tests.api.helpers import issue_example

from .helpers import command, serving

ACCESS_FIELDS = ("grpc_service", "grpc_method", "grpc_code", "duration_ms")
UTC_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
PHI = ("M54.50", "2026-03-03", "2026-02-01")


def _estimate(
    target: str, request_id: str | None, **changes: object
) -> tuple[grpc.StatusCode, dict[str, str]]:
    """One EstimateSession; the status code and the initial metadata the server sent."""
    metadata = (("x-request-id", request_id),) if request_id is not None else ()
    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.EstimatorServiceStub(channel)  # type: ignore[no-untyped-call]
        request = pb.EstimateSessionRequest(session=issue_example(**changes))
        call = stub.EstimateSession.with_call
        try:
            _, info = call(request, metadata=metadata, timeout=10)
            return grpc.StatusCode.OK, dict(info.initial_metadata())
        except grpc.RpcError as err:
            return err.code(), dict(err.initial_metadata())  # type: ignore[attr-defined]


def test_json_mode_every_line_is_json_with_one_access_line_per_call(tmp_path: Path) -> None:
    # GRPC_VERBOSITY=debug makes the C core write its own lines to fd 2: they arrive as JSON.
    with serving(
        tmp_path / "store.db", "--log-format", "json", env={"GRPC_VERBOSITY": "debug"}
    ) as served:
        code, sent = _estimate(served.target, "portal-req-0001")
        assert code == grpc.StatusCode.OK
        assert sent["x-request-id"] == "portal-req-0001"
        code, made = _estimate(served.target, None)
        assert code == grpc.StatusCode.OK
        assert re.fullmatch(r"[0-9a-f]{32}", made["x-request-id"])
        code, forged = _estimate(served.target, "two words} INFO fake")
        assert code == grpc.StatusCode.OK
        assert re.fullmatch(r"[0-9a-f]{32}", forged["x-request-id"])  # replaced, not echoed
        code, bad = _estimate(served.target, "portal-req-0002", plan_id="no-such-plan")
        assert code != grpc.StatusCode.OK
        assert bad["x-request-id"] == "portal-req-0002"
    records = served.json_lines()  # every line, the first one included
    assert records and all(UTC_TS.match(r["ts"]) for r in records)
    assert any(r["logger"] == "stderr" for r in records), "the C core's lines were not routed"
    access = [r for r in records if r["logger"] == "service.access"]
    ids = [r.get("request_id") for r in access]
    assert ids == [
        "portal-req-0001",
        made["x-request-id"],
        forged["x-request-id"],
        "portal-req-0002",
    ]
    assert [r["grpc_code"] for r in access] == ["OK", "OK", "OK", code.name]
    for line in access:
        assert line["grpc_service"] == "massage_estimator.v1.EstimatorService"
        assert line["grpc_method"] == "EstimateSession"
        assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
        assert set(line) == {"ts", "level", "logger", "message", "request_id", *ACCESS_FIELDS}
    text = "\n".join(served.snapshot())
    for value in PHI:
        assert value not in text
    assert served.stdout == []


def test_text_mode_from_the_environment_has_utc_times_and_request_ids(tmp_path: Path) -> None:
    with serving(
        tmp_path / "store.db",
        env={"MASSAGE_ESTIMATOR_LOG_FORMAT": "text", "MASSAGE_ESTIMATOR_LOG_LEVEL": "info"},
    ) as served:
        assert _estimate(served.target, "terminal-req-1")[0] == grpc.StatusCode.OK
    lines = served.snapshot()
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [A-Z]+ ", line) for line in lines)
    access = [line for line in lines if " service.access: " in line]
    assert len(access) == 1
    assert "EstimateSession OK" in access[0] and "request_id=terminal-req-1" in access[0]


def _health_check(target: str) -> None:
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        stub.Check(health_pb2.HealthCheckRequest(), timeout=10)


@pytest.mark.parametrize(("level", "logged"), [("INFO", 0), ("DEBUG", 1)])
def test_log_level_setting_decides_whether_probes_are_logged(
    tmp_path: Path, level: str, logged: int
) -> None:
    """Health probes arrive every few seconds: their access lines are DEBUG."""
    with serving(tmp_path / "store.db", "--log-format", "json", "--log-level", level) as served:
        _health_check(served.target)
    probes = [r for r in served.json_lines() if r.get("grpc_service") == "grpc.health.v1.Health"]
    assert len(probes) == logged
    assert all(r["level"] == "DEBUG" for r in probes)


def test_request_id_from_metadata() -> None:
    assert request_id_from((("x-request-id", "abc-123"),)) == "abc-123"
    assert request_id_from((("X-Request-Id", " 9f86d081 "),)) == "9f86d081"
    assert re.fullmatch(r"[0-9a-f]{32}", request_id_from(()))
    assert re.fullmatch(r"[0-9a-f]{32}", request_id_from((("x-request-id", "x" * 200),)))
    assert re.fullmatch(r"[0-9a-f]{32}", request_id_from((("x-request-id", '"};{'),)))


def _record(msg: str, exc: bool = False) -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            info = sys.exc_info()
    record = logging.LogRecord("service.x", logging.ERROR, __file__, 1, msg, (), info)
    record.created = 0.25
    record.request_id = "rid-1"
    record.grpc_code = "OK"
    return record


def test_json_formatter_keeps_a_traceback_on_one_line() -> None:
    line = JsonFormatter().format(_record("failed", exc=True))
    assert "\n" not in line
    value = json.loads(line)
    assert value["ts"] == "1970-01-01T00:00:00.250Z"
    assert value["level"] == "ERROR" and value["logger"] == "service.x"
    assert value["request_id"] == "rid-1" and value["grpc_code"] == "OK"
    assert "ValueError: boom" in value["exception"]


def test_text_formatter_is_utc_with_extras() -> None:
    line = TextFormatter().format(_record("hello"))
    assert line == "1970-01-01T00:00:00.250Z ERROR service.x: hello grpc_code=OK request_id=rid-1"
    assert utc_timestamp(86400.0) == "1970-01-02T00:00:00.000Z"


@pytest.mark.parametrize("value", ["xml", ""])
def test_unknown_log_format_is_bad_usage(tmp_path: Path, value: str) -> None:
    import subprocess

    from .helpers import command

    result = subprocess.run(
        [*command(), "serve", "--log-format", value, "--database-url", f"sqlite:///{tmp_path}/x"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "log_format" in result.stderr


@pytest.mark.parametrize("identity", ["", "key-7"])
@pytest.mark.parametrize("request_id", ["", "req-1"])
@pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG])
def test_a_queued_access_line_is_the_line_its_record_would_make(
    identity: str, request_id: str, level: int
) -> None:
    """Access lines skip the LogRecord on the RPC's thread; the writer must still write
    exactly what the text and JSON formatters make of the equivalent record."""
    entry = AccessEntry(
        1764571812.345678, level, "pkg.Service", "Method", "OK", 0.0012345, request_id, identity
    )
    record = entry.record()
    assert access_text(entry) == TextFormatter().format(record)
    assert access_json(entry) == JsonFormatter().format(record)
    assert json.loads(access_json(entry))["duration_ms"] == 1.2345


def test_access_lines_written_through_the_writer_keep_their_order() -> None:
    root = logging.getLogger()
    saved, saved_level = list(root.handlers), root.level
    out = io.StringIO()
    configure_logging("INFO", "text", out)
    try:
        assert access_writer() is not None
        for n in range(3):
            logging.getLogger("service.x").info("before %d", n)
            _log_access("pkg.Service", "Method", grpc.StatusCode.OK, n / 1000)
        logging.getLogger().handlers[0].flush()
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        for handler in saved:
            root.addHandler(handler)
        root.setLevel(saved_level)
    lines = out.getvalue().splitlines()
    assert [line.split(" ", 1)[1].split(":", 1)[0] for line in lines] == [
        "INFO service.x",
        "INFO service.access",
    ] * 3
    assert "before 2" in lines[4] and "pkg.Service/Method OK 2.0ms" in lines[5]


def test_the_access_line_names_the_identity_that_called(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    create = ["tokens", "create", "--name", "booking-web", "--role", "billing", "--json"]
    created = subprocess.run(
        [*command(), *create, "--database-url", f"sqlite:///{db}"],
        capture_output=True,
        text=True,
        check=True,
    )
    key = json.loads(created.stdout)
    with (
        serving(db, env={"MASSAGE_ESTIMATOR_LOG_FORMAT": "json"}) as served,
        grpc.insecure_channel(served.target) as channel,
    ):
        stub = pb_grpc.EstimatorServiceStub(channel)  # type: ignore[no-untyped-call]
        stub.EstimateSession(
            pb.EstimateSessionRequest(session=issue_example()),
            metadata=(("authorization", f"Bearer {key['token']}"),),
            timeout=10,
        )
    access = [r for r in served.json_lines() if r["logger"] == "service.access"]
    assert [r.get("identity_id") for r in access] == [key["id"]]
    assert key["token"] not in "\n".join(served.snapshot())
