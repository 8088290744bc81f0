"""`massage-estimator serve`: run the gRPC service until interrupted."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError

from service.settings import Settings

if TYPE_CHECKING:
    from service.app import Application

log = logging.getLogger("service.cli.serve")


PortOpt = Annotated[
    int | None, typer.Option("--port", help="TCP port (default 50051; 0 picks a free one).")
]
HostOpt = Annotated[
    str | None, typer.Option("--host", help="Address to listen on (default 127.0.0.1).")
]
DatabaseUrlOpt = Annotated[
    str | None,
    typer.Option("--database-url", help="Rule store URL (default: var/massage-estimator.db)."),
]
RulesDirOpt = Annotated[
    Path | None,
    typer.Option("--rules-dir", help="Rule files seeded into an empty store (payer_rules/)."),
]
InsecureOpt = Annotated[
    bool | None,
    typer.Option(
        "--insecure",
        help="Listen on a non-loopback address with no authentication (docs/security.md).",
        show_default=False,
    ),
]
LogLevelOpt = Annotated[
    str | None, typer.Option("--log-level", help="DEBUG, INFO, WARNING, ERROR.")
]


def serve(
    port: PortOpt = None,
    host: HostOpt = None,
    database_url: DatabaseUrlOpt = None,
    rules_dir: RulesDirOpt = None,
    log_level: LogLevelOpt = None,
    insecure: InsecureOpt = None,
) -> None:
    """Start the estimator service on the published rules (the sample data by default).

    Flags override MASSAGE_ESTIMATOR_* environment variables, which override the defaults.

    Examples:

      massage-estimator serve

      massage-estimator serve --host 0.0.0.0 --port 6000 --log-level DEBUG

      MASSAGE_ESTIMATOR_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/test
        massage-estimator serve
    """
    settings = _settings(
        port=port,
        host=host,
        database_url=database_url,
        rules_dir=rules_dir,
        log_level=log_level,
        insecure=insecure or None,
    )
    logging.basicConfig(
        level=settings.logging_level(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if settings.log_level != "DEBUG":  # alembic announces every plugin at INFO
        logging.getLogger("alembic").setLevel(logging.WARNING)
    from service import app as application  # imported late: --help stays fast

    try:
        running = application.start(settings)
    except application.BindError as exc:
        log.error("%s", exc)
        raise typer.Exit(1) from None
    except Exception as exc:  # a bad rule file or database: say what, not a traceback
        log.error("cannot start: %s", exc)
        log.debug("start-up failure", exc_info=exc)
        raise typer.Exit(1) from None
    _stop_on_signals(running, settings.shutdown_grace_seconds)
    running.wait()
    log.info("stopped")


def _settings(**flags: Any) -> Settings:
    """Settings from the flags given over the environment; a bad value is bad usage."""
    try:
        return Settings(**{key: value for key, value in flags.items() if value is not None})
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            typer.echo(
                f"error: setting {where}: {error['msg'].removeprefix('Value error, ')}", err=True
            )
        raise typer.Exit(2) from None


def _stop_on_signals(running: Application, grace: float) -> None:
    """SIGINT or SIGTERM stop the server gracefully (once), off the signal handler."""
    stopping = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        if not stopping.is_set():
            stopping.set()
            log.info("received %s: stopping (grace %.1fs)", signal.Signals(signum).name, grace)
            threading.Thread(target=running.stop, daemon=True).start()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
