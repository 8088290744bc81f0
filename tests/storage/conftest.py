"""Every storage test runs twice: on a fresh SQLite file and on a fresh schema of the real
PostgreSQL `test` database (127.0.0.1:5432, trust auth). The schema is dropped afterwards.
Without a PostgreSQL server the PostgreSQL half is skipped with a message saying so (a
failure under MASSAGE_ESTIMATOR_REQUIRE_POSTGRES=1, as in CI): see tests/postgres.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.storage import RuleStore, create_store
from tests.postgres import fresh_pg_schema

from .rulesets import clinic


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose connections use a brand-new schema (search_path) of the `test` database."""
    with fresh_pg_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'rules.db'}"
    else:
        yield request.getfixturevalue("pg_url")


@pytest.fixture
def store(db_url: str) -> Iterator[RuleStore]:
    """A migrated, empty store that knows the sample clinic."""
    s = create_store(db_url)
    s.migrate()
    s.clinic = clinic()
    try:
        yield s
    finally:
        s.engine.dispose()
