"""Shared fixtures: the real service on an ephemeral port, over a fresh SQLite database
seeded from the shipped payer_rules/ (the same start-up path as `massage-estimator serve`).

pytest-grpc's fake-server mode (`--grpc-fake-server`) and its `grpc_server` fixture do not
work with current grpcio, so they are bypassed: these plain fixtures start the real
grpc.server through service.app.start on port 0. The fixture names `grpc_channel` and
`grpc_stub` follow pytest-grpc's naming (and override its fixtures of the same name).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from massage_estimator.v1 import estimator_pb2_grpc as pb_grpc

from service.app import Application, start
from service.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_RULES_DIR = REPO_ROOT / "payer_rules"


def make_settings(db_path: Path, **overrides: object) -> Settings:
    """Settings for a test server: loopback, a free port, its own SQLite file."""
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": 0,
        "database_url": f"sqlite:///{db_path}",
        "rules_dir": SAMPLE_RULES_DIR,
        "max_workers": 8,
        "shutdown_grace_seconds": 1.0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def service_settings() -> Callable[..., Settings]:
    """make_settings(db_path, **overrides): settings for another real server in a test."""
    return make_settings


@pytest.fixture(scope="session")
def estimator_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Application]:
    """One real server for the whole test session (quotes are read-only)."""
    db = tmp_path_factory.mktemp("estimator-db") / "massage-estimator.db"
    app = start(make_settings(db))
    try:
        yield app
    finally:
        app.stop(grace=1.0)


@pytest.fixture(scope="session")
def grpc_target(estimator_app: Application) -> str:
    """host:port of the running test server."""
    return estimator_app.target


@pytest.fixture(scope="session")
def grpc_channel(grpc_target: str) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(grpc_target) as channel:
        grpc.channel_ready_future(channel).result(timeout=10)
        yield channel


@pytest.fixture(scope="session")
def grpc_stub(grpc_channel: grpc.Channel) -> pb_grpc.EstimatorServiceStub:
    return pb_grpc.EstimatorServiceStub(grpc_channel)  # type: ignore[no-untyped-call]
