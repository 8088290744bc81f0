"""`serve --processes N`: N server processes sharing one port, under one supervising parent.

Why it looks like this:
- One Python process answers on one core at a time (the GIL), so more cores need more
  processes. grpcio cannot be forked once it runs, so the children are fresh interpreters
  (`python -m service.cli serve --shared-port`), each loading the index and running its own
  gRPC server; they share the port with SO_REUSEPORT and the kernel spreads connections.
- The port is shared only among the service's own processes: the parent binds it first (with
  SO_REUSEPORT, never listening) and holds it while the children run. A port another program
  holds without SO_REUSEPORT fails right there, with the message a single process gives; Linux
  also refuses to share a port between users. (A program of the same user that itself asks
  for SO_REUSEPORT on the same port could join; run one service per port.)
- SIGTERM or SIGINT to the parent stops every child gracefully and waits for them; a child
  that ends on its own (a crash, a failed start) stops the others and the parent exits 1, so
  the supervisor above (systemd, Kubernetes) restarts the whole set.
- Everything per process stays per process: each child has its own index (a publish through
  one reloads the others through the store watcher, as for replicas), its own thread pool and
  its own counters. See docs/operations.md for metrics and rate limits.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from types import FrameType

log = logging.getLogger("service.cli.serve")

STOP_WAIT_SECONDS = 60.0
"""How long the parent waits for its children after passing on a stop (each has its own
shutdown grace, which is shorter)."""


class PortTakenError(RuntimeError):
    """The port cannot be bound (in use by another program, or not a local address)."""


def process_count(value: str | None) -> int:
    """--processes: a positive number, or "auto" for the cores this process may run on."""
    if value is None:
        return 1
    if value.strip().lower() == "auto":
        return max(1, len(os.sched_getaffinity(0)))
    try:
        count = int(value)
    except ValueError:
        raise ValueError(f"--processes must be a number or auto, not {value!r}") from None
    if count < 1:
        raise ValueError(f"--processes must be at least 1, not {count}")
    return count


def reserve_port(host: str, port: int) -> socket.socket:
    """Bind host:port with SO_REUSEPORT without listening: it keeps the port for the children
    (port 0 picks one) and fails as a single server would when the port is taken."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    try:
        infos = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except OSError as exc:
        raise PortTakenError(
            f"cannot listen on {shown}:{port} (in use or not a local address): {exc}"
        ) from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise PortTakenError(
            f"cannot listen on {shown}:{port} (in use or not a local address): {exc.strerror}"
        ) from None
    return sock


def run_children(
    count: int, host: str, port: int, flags: Sequence[str], metrics_port: int | None = None
) -> int:
    """Start `count` servers on one reserved port and supervise them; returns the exit code.
    With a metrics port P, process i (from 0) serves its own /metrics on P + i."""
    reserved = reserve_port(host, port)
    port = reserved.getsockname()[1]
    command = [sys.executable, "-m", "service.cli", "serve", *flags]
    command += ["--port", str(port), "--shared-port"]
    children: list[subprocess.Popen[bytes]] = []
    stopping = False

    def stop_all(signum: int | None = None, _frame: FrameType | None = None) -> None:
        nonlocal stopping
        if signum is not None:
            log.info("received %s: stopping %d processes", signal.Signals(signum).name, count)
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)
    try:
        children.extend(
            subprocess.Popen(
                command
                if metrics_port is None
                else [*command, "--metrics-port", str(metrics_port + i)]
            )
            for i in range(count)
        )
        if stopping:  # a stop that came while they were being started
            stop_all()
        log.info(
            "started %d server processes on port %d: pids %s",
            count,
            port,
            ", ".join(str(c.pid) for c in children),
        )
        code = _supervise(children, stop_all, lambda: stopping)
    finally:
        stop_all()
        for child in children:
            try:
                child.wait(STOP_WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                log.error(
                    "process %d did not stop in %.0fs: killing it", child.pid, STOP_WAIT_SECONDS
                )
                child.kill()
                child.wait()
        reserved.close()
    return code


def _supervise(
    children: list[subprocess.Popen[bytes]],
    stop_all: Callable[[], None],
    stopping: Callable[[], bool],
) -> int:
    """Wait for the first child to end; then end the others. 0 only for a requested stop."""
    pids = {c.pid: c for c in children}
    code = 0
    while pids:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        child = pids.pop(pid, None)
        if child is None:
            continue
        child.returncode = os.waitstatus_to_exitcode(status)
        if not stopping():
            log.error(
                "server process %d ended (exit %d): stopping the others", pid, child.returncode
            )
            code = 1
            stop_all()
        elif child.returncode != 0:
            code = 1
    return code
