"""A real `massage-estimator serve` process for the observability tests, its stderr collected
line by line, and the quickstart request to send it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).parent / "massage-estimator"
LISTENING = re.compile(r"listening on (\S+): \d+ rule versions")
METRICS_AT = re.compile(r"metrics on http://(\S+)/metrics")


def command() -> list[str]:
    if SCRIPT.exists():
        return [str(SCRIPT)]
    return [sys.executable, "-m", "service.cli"]


@dataclass
class Served:
    """A running serve process: its gRPC target, metrics address and every stderr line."""

    process: subprocess.Popen[str]
    target: str = ""
    metrics: str = ""
    lines: list[str] = field(default_factory=list)
    stdout: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self) -> list[str]:
        with self._lock:
            return list(self.lines)

    def json_lines(self) -> list[dict[str, Any]]:
        """Every stderr line parsed as JSON (a line that is not JSON fails the test)."""
        parsed = []
        for line in self.snapshot():
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise AssertionError(f"not a JSON line: {line!r}") from exc
            assert isinstance(value, dict), line
            parsed.append(value)
        return parsed

    def wait_for(self, pattern: re.Pattern[str], timeout: float = 30.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.snapshot():
                match = pattern.search(line)
                if match:
                    return match
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"serve never logged {pattern.pattern}:\n" + "\n".join(self.lines))


@contextmanager
def serving(db: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """`massage-estimator serve --port 0` on its own SQLite store; SIGTERM at the end."""
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("MASSAGE_ESTIMATOR_", "GRPC_"))
    }
    environ.update({"MASSAGE_ESTIMATOR_SHUTDOWN_GRACE_SECONDS": "1", **(env or {})})
    process = subprocess.Popen(
        [*command(), "serve", "--port", "0", "--database-url", f"sqlite:///{db}", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
        cwd=db.parent,
    )
    served = Served(process)

    def read(stream: Any, into: list[str]) -> None:
        for line in stream:
            with served._lock:
                into.append(line.rstrip("\n"))

    readers = [
        threading.Thread(target=read, args=(process.stderr, served.lines), daemon=True),
        threading.Thread(target=read, args=(process.stdout, served.stdout), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        served.target = served.wait_for(LISTENING).group(1)
        if "--metrics-port" in args:
            served.metrics = served.wait_for(METRICS_AT).group(1)
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
        for reader in readers:
            reader.join(timeout=5)
