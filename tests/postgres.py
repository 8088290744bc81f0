"""The one way tests reach the real PostgreSQL server (127.0.0.1:5432, trust auth, `test`).

Without a server the PostgreSQL tests skip with a message naming the URLs tried; with
MASSAGE_ESTIMATOR_REQUIRE_POSTGRES=1 (CI) they fail instead, so a CI run can never pass
by skipping them. MASSAGE_ESTIMATOR_TEST_PG_URL points the tests at another server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

PG_URLS = (
    [os.environ["MASSAGE_ESTIMATOR_TEST_PG_URL"]]
    if os.environ.get("MASSAGE_ESTIMATOR_TEST_PG_URL")
    else [
        "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        "postgresql+psycopg://root@127.0.0.1:5432/test",
    ]
)
REQUIRE_POSTGRES = os.environ.get("MASSAGE_ESTIMATOR_REQUIRE_POSTGRES") == "1"


def _libpq(url: sa.URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def pg_admin() -> tuple[sa.URL, psycopg.Connection[Any]]:
    """An autocommit admin connection to the test server, or skip (fail when required)."""
    errors = []
    for text in PG_URLS:
        url = sa.make_url(text)
        try:
            return url, psycopg.connect(_libpq(url), autocommit=True, connect_timeout=3)
        except psycopg.OperationalError as exc:
            errors.append(f"{url.render_as_string()}: {str(exc).strip()}")
    message = "no PostgreSQL server answers (" + "; ".join(errors) + ")"
    if REQUIRE_POSTGRES:
        pytest.fail(f"MASSAGE_ESTIMATOR_REQUIRE_POSTGRES=1 but {message}")
    pytest.skip(f"PostgreSQL tests skipped: {message}")


@contextmanager
def fresh_pg_schema() -> Iterator[str]:
    """A URL whose connections use a brand-new schema of the `test` database (dropped after)."""
    url, admin = pg_admin()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


@contextmanager
def fresh_pg_database() -> Iterator[str]:
    """A brand-new PostgreSQL database (dropped afterwards); yields its SQLAlchemy URL."""
    url, admin = pg_admin()
    name = f"me_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
