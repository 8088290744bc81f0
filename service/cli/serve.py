"""`massage-estimator serve`: run the gRPC service until interrupted."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError

from service.cli.processes import PortTakenError, process_count, run_children
from service.observability.logs import configure_logging
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
DrainOpt = Annotated[
    float | None,
    typer.Option(
        "--drain-seconds",
        help="On SIGTERM, keep answering every call this long with health NOT_SERVING (5).",
    ),
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
ProcessesOpt = Annotated[
    str | None,
    typer.Option(
        "--processes",
        help="Server processes sharing the port (default 1; auto = the cores available). "
        "Each has its own index, threads and metrics.",
    ),
]
SharedPortOpt = Annotated[
    bool, typer.Option("--shared-port", hidden=True, help="Internal: a --processes child.")
]
LogFormatOpt = Annotated[
    str | None,
    typer.Option("--log-format", help="text (default, UTC times) or json (one object a line)."),
]
MetricsPortOpt = Annotated[
    int | None,
    typer.Option("--metrics-port", help="Serve Prometheus /metrics on this port (off if unset)."),
]
OtlpEndpointOpt = Annotated[
    str | None,
    typer.Option("--otlp-endpoint", help="Export traces over OTLP/gRPC here (off if unset)."),
]


def serve(
    port: PortOpt = None,
    host: HostOpt = None,
    database_url: DatabaseUrlOpt = None,
    rules_dir: RulesDirOpt = None,
    log_level: LogLevelOpt = None,
    processes: ProcessesOpt = None,
    shared_port: SharedPortOpt = False,
    drain_seconds: DrainOpt = None,
    log_format: LogFormatOpt = None,
    metrics_port: MetricsPortOpt = None,
    otlp_endpoint: OtlpEndpointOpt = None,
    insecure: InsecureOpt = None,
) -> None:
    """Start the estimator service on the published rules (the sample data by default).

    Flags override MASSAGE_ESTIMATOR_* environment variables, which override the defaults.

    Examples:

      massage-estimator serve

      massage-estimator serve --host 0.0.0.0 --port 6000 --log-level DEBUG

      massage-estimator serve --processes auto

      massage-estimator serve --log-format json --metrics-port 9464

      MASSAGE_ESTIMATOR_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/test
        massage-estimator serve
    """
    settings = _settings(
        port=port,
        host=host,
        database_url=database_url,
        rules_dir=rules_dir,
        log_level=log_level,
        drain_seconds=drain_seconds,
        log_format=log_format,
        metrics_port=metrics_port,
        otlp_endpoint=otlp_endpoint,
        insecure=insecure or None,
    )
    # Before anything else logs (and before grpc is imported): in JSON mode the first line
    # is JSON too, the gRPC C core's included.
    configure_logging(settings.log_level, settings.log_format)
    if settings.log_level != "DEBUG":  # alembic announces every plugin at INFO
        logging.getLogger("alembic").setLevel(logging.WARNING)
    count = _process_count(processes)
    if count > 1 and not shared_port:
        passed = child_flags(sys.argv[sys.argv.index("serve") + 1 :] if "serve" in sys.argv else [])
        try:
            code = run_children(
                count, settings.host, settings.port, passed, metrics_port=settings.metrics_port
            )
        except PortTakenError as exc:
            log.error("%s", exc)
            raise typer.Exit(1) from None
        log.info("stopped")
        raise typer.Exit(code)
    from service import app as application  # imported late: --help stays fast

    try:
        running = application.start(settings, reuse_port=shared_port)
    except application.BindError as exc:
        log.error("%s", exc)
        raise typer.Exit(1) from None
    except Exception as exc:  # a bad rule file or database: say what, not a traceback
        log.error("cannot start: %s", exc)
        log.debug("start-up failure", exc_info=exc)
        raise typer.Exit(1) from None
    if shared_port:
        log.info("process %d serving on the shared port %s", os.getpid(), running.server.address)
    _stop_on_signals(running, settings.shutdown_grace_seconds, settings.drain_seconds)
    running.wait()
    log.info("stopped")


def _process_count(value: str | None) -> int:
    try:
        return process_count(value)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


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


def child_flags(argv: Sequence[str]) -> list[str]:
    """The parent's serve flags for its children, less --processes (every setting the
    parent was given reaches them; the environment is inherited)."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("--processes", "--metrics-port"):  # each child gets its own metrics port
            skip = True
        elif not arg.startswith(("--processes=", "--metrics-port=")):
            out.append(arg)
    return out


def _stop_on_signals(running: Application, grace: float, drain: float) -> None:
    """SIGINT or SIGTERM stop the server gracefully (once), off the signal handler."""
    stopping = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        if not stopping.is_set():
            stopping.set()
            log.info(
                "received %s: stopping (drain %.1fs, then grace %.1fs)",
                signal.Signals(signum).name,
                drain,
                grace,
            )
            threading.Thread(
                target=running.stop, kwargs={"grace": grace, "drain": drain}, daemon=True
            ).start()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
