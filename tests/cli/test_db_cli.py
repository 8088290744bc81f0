"""`massage-estimator db upgrade|current` against real SQLite and PostgreSQL databases."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli import run
from tests.postgres import fresh_pg_database


def check_upgrade_and_current(url: str) -> None:
    before = run("db", "current", "--database-url", url)
    assert before.returncode == 1
    assert "not migrated" in before.stdout

    first = run("db", "upgrade", "--database-url", url)
    assert first.returncode == 0, first.stderr
    assert "migrated from an empty database to revision 0002" in first.stdout

    again = run("db", "upgrade", "--database-url", url)
    assert again.returncode == 0, again.stderr
    assert "already at revision 0002" in again.stdout

    now = run("db", "current", "--database-url", url)
    assert now.returncode == 0
    assert "revision 0002" in now.stdout


def test_db_upgrade_on_sqlite(tmp_path: Path) -> None:
    check_upgrade_and_current(f"sqlite:///{tmp_path / 'rules.db'}")


@pytest.mark.postgres
def test_db_upgrade_on_postgresql() -> None:
    with fresh_pg_database() as url:
        check_upgrade_and_current(url)


def test_db_upgrade_reports_an_unreachable_database_in_one_line() -> None:
    result = run("db", "upgrade", "--database-url", "postgresql+psycopg://nobody@127.0.0.1:1/x")
    assert result.returncode == 1
    assert result.stderr.startswith("error: postgresql+psycopg://nobody@127.0.0.1:1/x:")
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("url", ["mysql://x/y", "not a url"])
def test_db_with_an_unsupported_url_is_a_usage_error_without_traceback(url: str) -> None:
    """An operator's typo in the URL is a bad setting (exit 2) named in one line with what
    is supported, never a ModuleNotFoundError/ArgumentError traceback."""
    for sub in ("current", "upgrade"):
        result = run("db", sub, "--database-url", url)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith(f"error: {url}: cannot open this database URL")
        assert "postgresql+psycopg://" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
