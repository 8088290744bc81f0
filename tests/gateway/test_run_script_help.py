"""scripts/run_with_gateway.sh --help prints the usage lines (every option, --http-host
included), never the script's own code. Needs no Go toolchain."""

from __future__ import annotations

import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "run_with_gateway.sh"


def test_help_shows_usage_and_every_option() -> None:
    result = subprocess.run(
        ["bash", str(SCRIPT), "--help"], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "set -euo" not in result.stdout
    assert not any(line.startswith("#") for line in result.stdout.splitlines())
    for option in ("--grpc-port", "--http-port", "--http-host"):
        assert option in result.stdout
    assert result.stdout.startswith("Run the gRPC service and the REST gateway together")


def test_an_unknown_option_is_exit_2() -> None:
    result = subprocess.run(
        ["bash", str(SCRIPT), "--bogus"], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2
    assert "unknown argument --bogus" in result.stderr
