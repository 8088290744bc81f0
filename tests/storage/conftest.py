"""Every storage test runs twice: on a fresh SQLite file and on a fresh schema of the real
PostgreSQL `test` database (127.0.0.1:5432, trust auth). The schema is dropped afterwards.
Without a PostgreSQL server the PostgreSQL half is skipped with a message saying so; set
MASSAGE_ESTIMATOR_TEST_PG_URL to point the tests at another server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from service.storage import RuleStore, create_store

from .rulesets import clinic

PG_URLS = (
    [os.environ["MASSAGE_ESTIMATOR_TEST_PG_URL"]]
    if os.environ.get("MASSAGE_ESTIMATOR_TEST_PG_URL")
    else [
        "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        "postgresql+psycopg://root@127.0.0.1:5432/test",
    ]
)


def _libpq(url: sa.URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_admin() -> tuple[sa.URL, psycopg.Connection]:
    errors = []
    for text in PG_URLS:
        url = sa.make_url(text)
        try:
            return url, psycopg.connect(_libpq(url), autocommit=True, connect_timeout=3)
        except psycopg.OperationalError as exc:
            errors.append(f"{url.render_as_string()}: {str(exc).strip()}")
    pytest.skip(
        "PostgreSQL tests skipped: no PostgreSQL server answers (" + "; ".join(errors) + ")"
    )


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose connections use a brand-new schema (search_path) of the `test` database."""
    url, admin = _pg_admin()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


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
