"""`serve --processes N`: the real console script, N real server processes on one port."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from service.cli.processes import process_count

from .test_cli import EXAMPLE, command, run


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def _socket_inodes(pid: int) -> set[int]:
    out = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:["):
            out.add(int(link[8:-1]))
    return out


def _established_on(port: int) -> set[int]:
    """Inodes of ESTABLISHED TCP sockets whose local port is `port` (the server's side)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01":
                inodes.add(int(fields[9]))
    return inodes


@pytest.fixture
def two_processes(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    env = {**os.environ, "MASSAGE_ESTIMATOR_SHUTDOWN_GRACE_SECONDS": "1"}
    db = f"sqlite:///{tmp_path / 'served.db'}"
    proc = subprocess.Popen(
        [*command(), "serve", "--processes", "2", "--port", "0", "--database-url", db],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    serving: list[str] = []
    target = ""
    assert proc.stderr is not None
    deadline = time.monotonic() + 120
    while len(serving) < 2 and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        match = re.search(r"process (\d+) serving on the shared port (\S+)", line)
        if match:
            serving.append(match.group(1))
            target = match.group(2)
    try:
        assert len(serving) == 2, f"only {serving} reported serving"
        yield proc, target
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise


def test_two_processes_share_the_port_and_both_answer(
    two_processes: tuple[subprocess.Popen[str], str],
) -> None:
    proc, target = two_processes
    children = _children(proc.pid)
    assert len(children) == 2
    port = int(target.rsplit(":", 1)[1])
    # Separate connections (no shared subchannel pool): the kernel spreads them over both.
    channels = [
        grpc.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(24)
    ]
    try:
        for channel in channels:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=30
            )
            assert answer.status == health_pb2.HealthCheckResponse.SERVING
        established = _established_on(port)
        answered = {pid: len(_socket_inodes(pid) & established) for pid in children}
        assert sum(answered.values()) == len(channels), answered
        assert all(n > 0 for n in answered.values()), answered  # both processes answered
    finally:
        for channel in channels:
            channel.close()
    quote = run("quote", *EXAMPLE, "--target", target, "--json")
    assert quote.returncode == 0, quote.stderr
    assert json.loads(quote.stdout)["estimate"]["patient_pays"]["units"] == "64"


def test_sigterm_stops_every_process(two_processes: tuple[subprocess.Popen[str], str]) -> None:
    proc, _ = two_processes
    children = _children(proc.pid)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    for pid in children:
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
        )


@pytest.mark.parametrize("processes", ["1", "2"])
def test_a_port_another_program_holds_still_fails_clearly(tmp_path: Path, processes: str) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        result = run(
            "serve",
            "--processes",
            processes,
            "--port",
            str(port),
            "--database-url",
            f"sqlite:///{tmp_path / 'x.db'}",
        )
    assert result.returncode == 1, result.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_process_counts() -> None:
    assert process_count(None) == 1
    assert process_count("3") == 3
    assert process_count("auto") == process_count("AUTO") == len(os.sched_getaffinity(0))
    for bad in ("0", "-1", "many"):
        with pytest.raises(ValueError, match="--processes"):
            process_count(bad)
    result = run("serve", "--processes", "none")
    assert result.returncode == 2
    assert "--processes must be a number or auto" in result.stderr
