"""`massage-estimator serve`: run the gRPC service until interrupted."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from service.settings import Settings

log = logging.getLogger("service.cli.serve")


def serve(
    port: Annotated[
        int | None, typer.Option("--port", help="TCP port (default 50051; 0 picks a free one).")
    ] = None,
    host: Annotated[
        str | None, typer.Option("--host", help="Address to listen on (default 127.0.0.1).")
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="Rule store URL (default: var/massage-estimator.db)."),
    ] = None,
    rules_dir: Annotated[
        Path | None,
        typer.Option("--rules-dir", help="Rule files seeded into an empty store (payer_rules/)."),
    ] = None,
    log_level: Annotated[
        str | None, typer.Option("--log-level", help="DEBUG, INFO, WARNING, ERROR.")
    ] = None,
) -> None:
    """Start the estimator service on the published rules (the sample data by default).

    Flags override MASSAGE_ESTIMATOR_* environment variables, which override the defaults.
    """
    overrides: dict[str, Any] = {
        key: value
        for key, value in {
            "port": port,
            "host": host,
            "database_url": database_url,
            "rules_dir": rules_dir,
            "log_level": log_level,
        }.items()
        if value is not None
    }
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            typer.echo(
                f"error: setting {where}: {error['msg'].removeprefix('Value error, ')}", err=True
            )
        raise typer.Exit(2) from None
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

    stopping = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        if not stopping.is_set():
            stopping.set()
            log.info(
                "received %s: stopping (grace %.1fs)",
                signal.Signals(signum).name,
                settings.shutdown_grace_seconds,
            )
            threading.Thread(target=running.stop, daemon=True).start()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    running.wait()
    log.info("stopped")
