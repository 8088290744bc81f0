"""Run `massage-estimator serve` as a real process and talk to it as an operator would."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

REPO_ROOT = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"listening on (\S+): \d+ rule versions")

# The README's quickstart quote: $64.80 for the client on the sample rules.
README_QUOTE = shlex.split(
    "quote --plan acme-ppo-gold --session-type deep_tissue --minutes 53 --referral prescription"
    " --referral-date 2026-02-01 --diagnosis M54.50 --date 2026-03-03 --deductible-met 450"
    " --oop-met 450 --visits-used 3 --json"
)


def clean_environment(**extra: str) -> dict[str, str]:
    """The caller's environment without any MASSAGE_ESTIMATOR_ setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASSAGE_ESTIMATOR_")}
    env.update(extra)
    return env


@contextmanager
def serving(
    command: Sequence[str | Path],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log: Path,
    timeout: float = 60.0,
    must_exit_0: bool = True,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start a server process (its own session), yield (host:port it reports, process).

    On exit its session is stopped with SIGTERM, as an orchestrator would; the process must
    then exit 0 unless `must_exit_0` is off (make dies of the signal it passes on).
    """
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(part) for part in command],
            cwd=cwd,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        target = _wait_for_address(process, log, timeout)
        yield target, process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
            raise AssertionError(f"still running 30 s after SIGTERM:\n{log.read_text()}") from None
    if must_exit_0:
        assert process.returncode == 0, f"exit {process.returncode}:\n{log.read_text()}"


def _wait_for_address(process: subprocess.Popen[bytes], log: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = LISTENING.search(log.read_text(errors="replace"))
        if match:
            return match.group(1)
        if process.poll() is not None:
            raise AssertionError(f"the server exited {process.returncode}:\n{log.read_text()}")
        time.sleep(0.1)
    raise AssertionError(f"the server never reported its address:\n{log.read_text()}")


def health_status(target: str) -> int:
    """The server's overall grpc.health.v1 status."""
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        response = stub.Check(health_pb2.HealthCheckRequest(), timeout=10)
    return int(response.status)


SERVING = int(health_pb2.HealthCheckResponse.SERVING)


def free_port() -> int:
    """A TCP port nothing listens on right now (for a server that must be told its port)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
