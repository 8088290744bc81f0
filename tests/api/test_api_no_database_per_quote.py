"""Quotes are answered from the in-memory index: prove that no SQL runs while quoting.

Every statement the running server's engine executes is counted (SQLAlchemy's
before_cursor_execute event on the real engine); single, batch and treatment-plan quotes
must leave the count unchanged. As a second proof, the database file is removed while the
server keeps answering.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import estimator_pb2_grpc as pb_grpc
from sqlalchemy import event

from service.app import Application, start
from service.settings import Settings
from tests.api.helpers import cents, d, issue_example


@pytest.fixture()
def private_app(tmp_path: Path, service_settings: Any) -> Iterator[Application]:
    """A server of its own, so removing its database cannot disturb other tests."""
    settings: Settings = service_settings(tmp_path / "own.db")
    app = start(settings)
    try:
        yield app
    finally:
        app.stop(grace=0.5)


def test_quotes_execute_no_sql(private_app: Application) -> None:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = private_app.store.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        with grpc.insecure_channel(private_app.target) as channel:
            stub = pb_grpc.EstimatorServiceStub(channel)  # type: ignore[no-untyped-call]
            for _ in range(20):
                stub.EstimateSession(pb.EstimateSessionRequest(session=issue_example()))
            stub.EstimateSessions(
                pb.EstimateSessionsRequest(sessions=[issue_example() for _ in range(50)])
            )
            template = issue_example()
            template.ClearField("date_of_service")  # the schedule gives the dates
            stub.EstimateTreatmentPlan(
                pb.EstimateTreatmentPlanRequest(
                    session=template,
                    recurrence=pb.Recurrence(
                        start_date=d("2026-03-03"), session_count=10, every_days=7
                    ),
                )
            )
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert statements == []


def test_quotes_keep_working_without_the_database_file(
    private_app: Application, tmp_path: Path
) -> None:
    private_app.store.engine.dispose()  # close pooled connections to the file
    for f in tmp_path.glob("own.db*"):
        f.unlink()
    with grpc.insecure_channel(private_app.target) as channel:
        stub = pb_grpc.EstimatorServiceStub(channel)  # type: ignore[no-untyped-call]
        reply = stub.EstimateSession(pb.EstimateSessionRequest(session=issue_example()))
    assert cents(reply.estimate.patient_pays) == 6480  # the issue's example, $64.80
