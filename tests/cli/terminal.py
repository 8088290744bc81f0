"""Run the real console script on a pseudo-terminal, as in a clerk's shell.

Progress bars and table widths depend on being attached to a terminal, so the tests that
check them need one; this is the one place that opens it.
"""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import termios
import threading
from collections.abc import Mapping

from tests.cli.test_cli import command


def run_on_pty(
    *args: str,
    columns: int | None = None,
    stdout_on_terminal: bool = True,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> tuple[int, str]:
    """Exit code and everything written to the terminal (stderr, and stdout unless
    `stdout_on_terminal` is False, when stdout is discarded). `columns` sets the window width."""
    master, slave = pty.openpty()
    if columns is not None:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    stdout = slave if stdout_on_terminal else subprocess.DEVNULL
    proc = subprocess.Popen(
        [*command(), *args], stdout=stdout, stderr=slave, env=dict(env or os.environ)
    )
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    code = proc.wait(timeout=timeout)
    reader.join(timeout=10)
    os.close(master)
    return code, b"".join(chunks).decode(errors="replace")
