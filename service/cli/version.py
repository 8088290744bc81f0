"""`massage-estimator version`: what is installed here, and how the service answers.

The service has no version RPC, so the server side reports what it can without one:
its health status (grpc.health.v1) and the services it offers (server reflection).
"""

from __future__ import annotations

import json
import platform
import sys
from importlib import metadata
from typing import Annotated, Any

import grpc
import typer
from google import protobuf
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from service.cli import common, config

PACKAGE = "massage-estimator"


def local_versions() -> dict[str, str]:
    def installed(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {
        PACKAGE: installed(PACKAGE),
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "protobuf": protobuf.__version__,
    }


def server_status(conn: config.Connection, timeout: float) -> dict[str, Any]:
    """Health and offered services of the server at conn.target; raises grpc.RpcError."""
    with config.open_channel(conn) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        answer = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
        status = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
        services: list[str] = []
        try:
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            replies = stub.ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=timeout
            )
            for reply in replies:
                services.extend(s.name for s in reply.list_services_response.service)
        except grpc.RpcError:  # reflection is optional: health already answered
            services = []
    return {
        "target": conn.target,
        "health": status,
        "services": sorted(services),
        "version": "not reported (the service has no version RPC)",
    }


def version(
    target: common.TargetOpt = None,
    config_file: common.ConfigOpt = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for the service.")
    ] = 5.0,
    as_json: common.JsonOpt = False,
) -> None:
    """Show the CLI's versions and, with a target, the service's health.

    Prints the package, Python, grpcio and protobuf versions. When a target is given (flag,
    MASSAGE_ESTIMATOR_TARGET or the config file), also asks the service for its health and
    the services it offers; exit 1 when it does not answer.

    Examples:

      massage-estimator version

      massage-estimator version --target localhost:50051 --json
    """
    conn = config.resolve_or_exit(target=target, config=config_file)
    report: dict[str, Any] = {"client": local_versions()}
    ask_server = conn.source("target") != "default"
    failure = ""
    if ask_server:
        try:
            report["server"] = server_status(conn, timeout)
        except grpc.RpcError as exc:
            code = exc.code().name if isinstance(exc, grpc.Call) else "UNKNOWN"
            details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
            failure = f"{code}: {details}"
            report["server"] = {"target": conn.target, "error": failure}
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        for name, value in report["client"].items():
            typer.echo(f"{name:<18} {value}")
        server = report.get("server")
        if server is not None and not failure:
            typer.echo(f"{'server':<18} {server['target']}: {server['health']}")
            typer.echo(f"{'server version':<18} {server['version']}")
            for service in server["services"]:
                typer.echo(f"{'  offers':<18} {service}")
        elif ask_server:
            common.err_console.print(
                f"error: cannot reach the estimator service at {conn.target} ({failure})",
                markup=False,
            )
        else:
            typer.echo(f"{'server':<18} not asked (give --target to check a service)")
    if failure:
        raise typer.Exit(common.EXIT_REFUSED)
