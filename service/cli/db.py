"""`massage-estimator db`: the rule store's schema, for operators.

The server migrates at start; these commands let an operator migrate before rolling out new
replicas (or check where a database stands) without starting a server.
"""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError

from service.settings import Settings
from service.storage import create_store

db_app = typer.Typer(
    help="The rule store's schema: apply Alembic migrations, show the current revision.",
    no_args_is_help=True,
)

DatabaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Rule store URL (default: MASSAGE_ESTIMATOR_DATABASE_URL, "
        "else var/massage-estimator.db).",
        show_default=False,
    ),
]


SUPPORTED_URLS = "sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB"


def _database_url(database_url: str | None) -> str:
    if database_url:
        return database_url
    try:
        settings = Settings()
    except ValidationError as exc:
        typer.echo(
            f"error: bad settings: {exc.errors()[0]['msg'].removeprefix('Value error, ')}", err=True
        )
        raise typer.Exit(2) from None
    settings.ensure_database_dir()
    return settings.database_url


def _revision(url: str, *, migrate: bool) -> tuple[str | None, str | None]:
    """(revision before, revision after) of the store at `url`."""
    try:
        store = create_store(url)
    except Exception as exc:  # not a URL, or a database driver that is not installed
        typer.echo(
            f"error: {url}: cannot open this database URL ({str(exc).splitlines()[0]}); "
            f"use {SUPPORTED_URLS}",
            err=True,
        )
        raise typer.Exit(2) from None
    try:
        before = store.current_revision()
        if migrate:
            store.migrate()
        return before, store.current_revision()
    except Exception as exc:  # a clear line, never a traceback, for an operator's command
        cause = exc.__cause__ or exc  # the driver's words, not "the store is unreachable"
        typer.echo(f"error: {url}: {(str(cause).splitlines() or [''])[0]}", err=True)
        raise typer.Exit(1) from None
    finally:
        store.engine.dispose()


@db_app.command("upgrade")
def upgrade(database_url: DatabaseUrlOpt = None) -> None:
    """Apply every pending migration (safe to run while replicas serve; it takes a lock).

    Examples:

      massage-estimator db upgrade

      massage-estimator db upgrade --database-url postgresql+psycopg://postgres@127.0.0.1/test
    """
    url = _database_url(database_url)
    before, after = _revision(url, migrate=True)
    if before == after:
        typer.echo(f"{url}: already at revision {after}")
    else:
        typer.echo(f"{url}: migrated from {before or 'an empty database'} to revision {after}")


@db_app.command("current")
def current(database_url: DatabaseUrlOpt = None) -> None:
    """Show the schema revision of the rule store (exit 1 when it was never migrated).

    Example:

      massage-estimator db current
    """
    url = _database_url(database_url)
    revision, _ = _revision(url, migrate=False)
    if revision is None:
        typer.echo(f"{url}: not migrated (run `massage-estimator db upgrade`)")
        raise typer.Exit(1)
    typer.echo(f"{url}: revision {revision}")
