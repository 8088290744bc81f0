"""Fixtures for the REST gateway tests: the real grpc-gateway binary in front of a real server.

The gateway is built by scripts/build_gateway.sh (Go, grpc-gateway v1.6 from Debian). When
Go or the Debian packages are missing the tests skip with a message saying so, unless
MASSAGE_ESTIMATOR_REQUIRE_GATEWAY=1 (CI), where a missing gateway is a failure.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import (
    BUILD_SCRIPT,
    GATEWAY_BINARY,
    REPO_ROOT,
    Gateway,
    start_gateway,
    stop_gateway,
    unavailable,
    wait_healthy,
)


def _inputs_newer_than(binary: Path) -> bool:
    """True when a proto, the gateway's Go code or widget, or the build script changed."""
    built = binary.stat().st_mtime
    inputs = [
        *(REPO_ROOT / "protos").rglob("*.proto"),
        *(REPO_ROOT / "gateway").glob("*.go"),
        *(REPO_ROOT / "gateway" / "widget").glob("*"),  # embedded in the binary
        BUILD_SCRIPT,
    ]
    return any(p.stat().st_mtime > built for p in inputs)


@pytest.fixture(scope="session")
def gateway_binary() -> Path:
    """The gateway binary, (re)built when missing or older than its inputs."""
    if GATEWAY_BINARY.exists() and not _inputs_newer_than(GATEWAY_BINARY):
        return GATEWAY_BINARY
    if shutil.which("go") is None or shutil.which("protoc") is None:
        unavailable(
            "Go or protoc is not installed; run scripts/build_gateway.sh (installs the "
            "Debian packages golang-go, golang-grpc-gateway, protobuf-compiler, ...)"
        )
    # --no-install: a test run never installs system packages; the script says what is missing.
    result = subprocess.run(
        ["bash", str(BUILD_SCRIPT), "--no-install"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        unavailable(f"scripts/build_gateway.sh failed:\n{result.stdout}\n{result.stderr}")
    return GATEWAY_BINARY


@pytest.fixture(scope="session")
def gateway(gateway_binary: Path, grpc_target: str) -> Iterator[Gateway]:
    """The gateway in front of the session's real estimator server (tests/conftest.py)."""
    gw = start_gateway(gateway_binary, grpc_target)
    try:
        wait_healthy(gw)
        yield gw
    finally:
        stop_gateway(gw)
