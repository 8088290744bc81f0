"""Rule files, servers and PostgreSQL databases for the PayerRulesService and saved-quote tests.

Rule files are the shipped Acme 2026 file with the version, dates or a rate changed and sent
as real YAML text, so every test publishes through the same parser a payer analyst's file goes
through. Servers are real (service.app.start on port 0, pytest-grpc's fake server is broken
with current grpcio), each on its own database so a publish in one test never leaks into another.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import grpc
import sqlalchemy as sa
import yaml
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import estimator_pb2_grpc as pb_grpc
from massage_estimator.v1 import payer_rules_pb2_grpc as rpb_grpc

from service.app import Application, start
from service.settings import Settings

from .helpers import d, issue_example

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_RULES_DIR = REPO_ROOT / "payer_rules"
ACME_2026_FILE = SAMPLE_RULES_DIR / "acme-health" / "2026.yaml"
ACME_2027_FILE = SAMPLE_RULES_DIR / "acme-health" / "2027.yaml"


def acme_variant(
    version: str,
    effective_from: date,
    effective_to: date | None,
    *,
    allowed_97124: str = "31.00",
    coinsurance: str | None = None,
    note: str | None = None,
) -> str:
    """The Acme 2026 rule file as YAML text, with these changes."""
    data: dict[str, Any] = yaml.safe_load(ACME_2026_FILE.read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    data["version"] = version
    data["effective_from"] = effective_from
    if effective_to is None:
        data.pop("effective_to", None)
    else:
        data["effective_to"] = effective_to
    data["note"] = note or f"test version {version}"
    terms = data["plans"][0]["in_network"]
    terms["allowed_per_unit"]["97124"] = allowed_97124
    if coinsurance is not None:
        terms["coinsurance_percent"] = coinsurance
    text: str = yaml.safe_dump(data, sort_keys=False)
    return text


def mid_year_2026(allowed_97124: str = "34.00") -> str:
    """Acme 2026.2: takes over 2026.1's range from July 1 with a higher 97124 rate."""
    return acme_variant(
        "2026.2", date(2026, 7, 1), date(2026, 12, 31), allowed_97124=allowed_97124,
        note="mid-year fee increase",
    )  # fmt: skip


def august_session() -> pb.SessionDetails:
    """The quickstart session moved to 2026-08-03 (with a fresh prescription)."""
    return issue_example(
        date_of_service=d("2026-08-03"),
        referral=pb.Referral(kind=pb.REFERRAL_KIND_PRESCRIPTION, issue_date=d("2026-07-15")),
    )


class Clients:
    """Stubs for both services of one running server."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.channel = channel
        self.rules = rpb_grpc.PayerRulesServiceStub(channel)  # type: ignore[no-untyped-call]
        self.estimator = pb_grpc.EstimatorServiceStub(channel)  # type: ignore[no-untyped-call]


@contextmanager
def running_server(db_path: Path, database_url: str | None = None) -> Iterator[Application]:
    """A real server seeded from payer_rules/ on its own database (SQLite file by default)."""
    settings = Settings(
        host="127.0.0.1",
        port=0,
        database_url=database_url or f"sqlite:///{db_path}",
        rules_dir=SAMPLE_RULES_DIR,
        max_workers=8,
        shutdown_grace_seconds=1.0,
    )
    app = start(settings)
    try:
        yield app
    finally:
        app.stop(grace=1.0)


@contextmanager
def clients_for(target: str) -> Iterator[Clients]:
    with grpc.insecure_channel(target) as channel:
        grpc.channel_ready_future(channel).result(timeout=10)
        yield Clients(channel)


def count_rows(app: Application, table: str) -> int:
    with app.store.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
