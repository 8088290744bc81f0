"""Start, watch and stop the servers the harness measures, each in its own process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
ENV_PREFIX = "MASSAGE_ESTIMATOR_"


class BenchError(RuntimeError):
    """A measurement could not be taken or would be wrong; the message says why."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def pinned(cmd: Sequence[str], cpu: int | None) -> list[str]:
    """`cmd` run on one core (taskset execs, so the pid stays the server's)."""
    return list(cmd) if cpu is None else ["taskset", "-c", str(cpu), *cmd]


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without MASSAGE_ESTIMATOR_* settings, so a server runs with
    its production defaults plus only what the harness passes on purpose."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    env.update(extra)
    return env


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    started_s: float = 0.0  # from spawn to answering (SERVING for the service)
    notes: list[str] = field(default_factory=list)
    token: str = ""  # the API key every call presents (the service's servers)

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        """gRPC metadata of an authenticated call (empty for the reference server)."""
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()

    @property
    def headers(self) -> tuple[str, ...]:
        """The same, as h2load header options."""
        return tuple(f"{key}: {value}" for key, value in self.metadata)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def rss_kib(self) -> int:
        """Resident memory of the server process, from /proc (KiB)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise BenchError(f"{self.name}: no VmRSS for pid {self.proc.pid}")

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 30) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _spawn(name: str, cmd: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    try:
        return subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    finally:
        handle.close()


def wait_serving(server: Server, timeout: float, *, health: bool) -> None:
    """Until the health service says SERVING (or, without health, the port answers)."""
    deadline = time.monotonic() + timeout
    # grpc backs off reconnecting up to 2 minutes by default, which would blur a start-up
    # time of minutes by as much: retry the port every 50 ms instead.
    options = [
        ("grpc.initial_reconnect_backoff_ms", 50),
        ("grpc.min_reconnect_backoff_ms", 50),
        ("grpc.max_reconnect_backoff_ms", 50),
    ]
    with grpc.insecure_channel(server.target, options=options) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            if server.proc.poll() is not None:
                raise BenchError(
                    f"{server.name} exited with {server.proc.returncode}:\n{server.log_tail()}"
                )
            try:
                if not health:
                    grpc.channel_ready_future(channel).result(timeout=0.5)
                    return
                answer = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except (grpc.RpcError, grpc.FutureTimeoutError):
                pass
            if time.monotonic() > deadline:
                server.stop()
                raise BenchError(
                    f"{server.name} not ready after {timeout:.0f} s:\n{server.log_tail()}"
                )
            time.sleep(0.05)


PRODUCTION_RATE_LIMIT = "1000000000"
"""Calls per second (and burst) of the benchmark's API key: the limiter runs on every call,
as in production, but a load generator's single identity is never refused."""


def create_api_key(database_url: str, env: dict[str, str]) -> str:
    """A new admin API key in the store (`massage-estimator tokens create`); its token."""
    exe = str(Path(sys.executable).parent / "massage-estimator")
    cmd = [exe, "tokens", "create", "--name", "bench", "--role", "admin", "--json"]
    done = subprocess.run(
        [*cmd, "--database-url", database_url],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        raise BenchError(f"cannot create the benchmark's API key: {done.stderr or done.stdout}")
    token: str = json.loads(done.stdout)["token"]
    return token


def start_project(
    name: str,
    *,
    rules_dir: Path,
    database_url: str,
    log_dir: Path,
    cpu: int | None,
    timeout: float,
    extra: Sequence[str] = (),
) -> Server:
    """`massage-estimator serve` as it is deployed (deploy/k8s): JSON logs, metrics served,
    authentication on (an API key exists; every call presents it), 16 worker threads, batch
    limit 1,000. The harness chooses only the ports, the store, the rule files and a rate
    limit its one identity never reaches."""
    env = clean_env(
        MASSAGE_ESTIMATOR_RATE_LIMIT_PER_SECOND=PRODUCTION_RATE_LIMIT,
        MASSAGE_ESTIMATOR_RATE_LIMIT_BURST=PRODUCTION_RATE_LIMIT,
    )
    token = create_api_key(database_url, env)
    port = free_port()
    exe = str(Path(sys.executable).parent / "massage-estimator")
    cmd = pinned(
        [
            exe,
            "serve",
            "--port",
            str(port),
            "--database-url",
            database_url,
            "--rules-dir",
            str(rules_dir),
            "--log-format",
            "json",
            "--metrics-port",
            str(free_port()),
            *extra,
        ],
        cpu,
    )
    log = log_dir / f"{name}.log"
    t0 = time.perf_counter()
    server = Server(name, _spawn(name, cmd, log, env), port, log, token=token)
    wait_serving(server, timeout, health=True)
    server.started_s = time.perf_counter() - t0
    return server


def start_reference(
    name: str,
    *,
    unary: Path,
    batch: Path,
    log_dir: Path,
    cpu: int | None,
    fail_with: str | None = None,
) -> Server:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "scripts.bench.reference_server",
        "--port",
        str(port),
        "--unary",
        str(unary),
        "--batch",
        str(batch),
    ]
    if fail_with:
        cmd += ["--fail-with", fail_with]
    log = log_dir / f"{name}.log"
    t0 = time.perf_counter()
    server = Server(name, _spawn(name, pinned(cmd, cpu), log, clean_env()), port, log)
    wait_serving(server, 30, health=False)
    server.started_s = time.perf_counter() - t0
    return server
