"""Start-up while the rule store is unreachable: retry with backoff instead of exiting.

A replica started before its database (a cluster restart, a failover) used to exit at once.
Now it says what it waits for, retries with doubling delays (up to MAX_DELAY) and, meanwhile,
answers health checks NOT_SERVING on its port, so an orchestrator sees a replica that is not
ready rather than one that crashed. Only "unreachable" is retried: a bad rule file or a bad
URL still stops the start with its error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent import futures
from typing import TypeVar

import grpc
import sqlalchemy as sa
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from service.api.server import SERVED_SERVICES, BindError
from service.settings import Settings
from service.storage.watch import reason_of
from service.usecases.errors import StoreUnavailableError
from service.wire import bracketed

log = logging.getLogger("service.app")

FIRST_DELAY = 0.5
MAX_DELAY = 15.0

T = TypeVar("T")


def retry_while_unreachable(load: Callable[[], T], settings: Settings) -> T:
    """`load()`, retried while the store is unreachable (see the module docstring)."""
    delay = FIRST_DELAY
    started = time.monotonic()
    placeholder: grpc.Server | None = None
    where = sa.make_url(settings.database_url).render_as_string(hide_password=True)
    try:
        while True:
            try:
                return load()
            except StoreUnavailableError as exc:
                if placeholder is None and settings.port != 0:
                    placeholder = _not_serving_health(settings.host, settings.port)
                log.warning(
                    "waiting for the rule store at %s to load the rules (%s); retrying in "
                    "%.1fs, waited %.0fs so far; health is NOT_SERVING meanwhile",
                    where,
                    reason_of(exc),
                    delay,
                    time.monotonic() - started,
                )
                time.sleep(delay)
                delay = min(delay * 2, MAX_DELAY)
    finally:
        if placeholder is not None:
            placeholder.stop(0).wait()


def _not_serving_health(host: str, port: int) -> grpc.Server:
    """A server on the service's own port that answers only health checks, NOT_SERVING."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="waiting"),
        options=[("grpc.so_reuseport", 0)],
    )
    servicer = health.HealthServicer()
    for name in SERVED_SERVICES:
        servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    address = f"{bracketed(host)}:{port}"
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError as exc:
        raise BindError(f"cannot listen on {address}: {exc}") from exc
    if bound == 0:
        raise BindError(f"cannot listen on {address} (in use or not a local address)")
    server.start()
    return server
