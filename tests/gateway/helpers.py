"""Helpers for the REST gateway tests: start/stop the gateway binary, call it over plain HTTP."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build_gateway.sh"
GATEWAY_BINARY = REPO_ROOT / "build" / "gateway" / "massage-estimator-gateway"
REQUIRED = os.environ.get("MASSAGE_ESTIMATOR_REQUIRE_GATEWAY") == "1"


def unavailable(reason: str) -> None:
    """Skip locally, fail in CI: a gateway that silently does not run proves nothing."""
    if REQUIRED:
        pytest.fail(f"gateway required (MASSAGE_ESTIMATOR_REQUIRE_GATEWAY=1) but {reason}")
    pytest.skip(f"REST gateway tests skipped: {reason}")


@dataclass
class Gateway:
    """A running gateway process and its base URL."""

    process: subprocess.Popen[str]
    base_url: str
    # Every line the gateway prints after its first (its log), as it prints them.
    output: queue.Queue[str] = field(default_factory=queue.Queue)

    def url(self, path: str) -> str:
        return self.base_url + path


@dataclass
class Reply:
    """An HTTP answer: status, headers and the JSON body (None when not JSON)."""

    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


def http(
    method: str,
    url: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> Reply:
    """Plain urllib, as a portal without any gRPC library would call: JSON in, JSON out."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Reply(response.status, dict(response.headers), response.read().decode())
    except urllib.error.HTTPError as err:  # 4xx/5xx still carry the JSON error body
        return Reply(err.code, dict(err.headers), err.read().decode())


def start_gateway(
    binary: Path, grpc_target: str | None, env: dict[str, str] | None = None
) -> Gateway:
    """Start the gateway on a free port in front of grpc_target; wait for its first line.

    Without grpc_target no flag is passed: the gateway reads its settings from `env`.
    """
    flags = [] if grpc_target is None else ["--listen", "127.0.0.1:0", "--grpc-target", grpc_target]
    process = subprocess.Popen(
        [str(binary), *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        first = lines.get(timeout=15)
    except queue.Empty:
        process.kill()
        raise RuntimeError("the gateway printed nothing within 15 s") from None
    # "massage-estimator-gateway listening on 127.0.0.1:PORT, forwarding to ..."
    if "listening on " not in first:
        process.kill()
        raise RuntimeError(f"the gateway did not start: {first}")
    address = first.split("listening on ", 1)[1].split(",", 1)[0]
    return Gateway(process=process, base_url=f"http://{address}", output=lines)


def stop_gateway(gateway: Gateway) -> None:
    gateway.process.terminate()
    try:
        gateway.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        gateway.process.kill()
        gateway.process.wait(timeout=10)


def wait_healthy(gateway: Gateway, timeout: float = 15.0) -> None:
    """Wait until /healthz says the gRPC service behind the gateway is SERVING."""
    deadline = time.monotonic() + timeout
    last: Reply | None = None
    while time.monotonic() < deadline:
        last = http("GET", gateway.url("/healthz"))
        if last.status == 200:
            return
        time.sleep(0.1)
    raise RuntimeError(f"gateway never healthy: {last}")
