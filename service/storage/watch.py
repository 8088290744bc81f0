"""Tells a server replica that some replica published a rule-set version, so it can rebuild its
in-memory index and swap it in (no restart, no database query per quote).

Two signals, one decision: on PostgreSQL the watcher LISTENs on NOTIFY_CHANNEL (publish sends
a NOTIFY inside its transaction, so it arrives right after the commit); on every backend it
also polls RuleStore.latest_change_marker() every `poll_interval` seconds, which covers SQLite,
a dropped listener connection and a missed notification. Either way the callback runs only
when the marker really changed, once per change seen.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from service.storage.store import NOTIFY_CHANNEL, RuleStore

log = logging.getLogger(__name__)

_SLICE = 0.1  # longest wait between checks of the stop flag (keeps stop() prompt)


class ChangeWatcher:
    """A daemon thread that calls `on_change()` after a version is published anywhere."""

    def __init__(
        self,
        store: RuleStore,
        on_change: Callable[[], None],
        poll_interval: float = 1.0,
        listen: bool = True,
    ) -> None:
        self.store = store
        self.on_change = on_change
        self.poll_interval = poll_interval
        self.listen = listen and store.dialect == "postgresql"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listener: Any = None  # psycopg.Connection while listening
        self._retry_at = 0.0  # monotonic time of the next LISTEN reconnect attempt
        self.marker = ""

    def start(self) -> None:
        """Take the current marker as the baseline and start watching."""
        if self._thread is not None:
            raise RuntimeError("watcher already started")
        self.marker = self.store.latest_change_marker()
        if self.listen:
            self._connect_listener()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="rule-store-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop within about 0.1 s (the thread never blocks longer than that)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._close_listener()

    def __enter__(self) -> ChangeWatcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ internals

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wait()
            if self._stop.is_set():
                break
            try:
                marker = self.store.latest_change_marker()
            except Exception:
                log.warning("rule store unreachable; will retry", exc_info=True)
                continue
            if marker == self.marker:
                continue
            self.marker = marker
            try:
                self.on_change()
            except Exception:
                log.exception("rule-store change callback failed; the old index stays in use")

    def _wait(self) -> None:
        """Return after poll_interval, on a notification, or when stopping."""
        deadline = time.monotonic() + self.poll_interval
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if self._listener is None and self.listen and time.monotonic() >= self._retry_at:
                self._connect_listener()
            if self._listener is None:
                self._stop.wait(min(left, _SLICE))
                continue
            try:
                for _ in self._listener.notifies(timeout=min(left, _SLICE), stop_after=1):
                    return
            except Exception:
                log.warning("lost the LISTEN connection; polling until it is back", exc_info=True)
                self._close_listener()

    def _connect_listener(self) -> None:
        import psycopg

        conninfo = self.store.engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        try:
            conn = psycopg.connect(conninfo, autocommit=True, connect_timeout=5)
            conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        except Exception:
            log.warning("cannot LISTEN for rule-store changes; polling only", exc_info=True)
            self._listener = None
            self._retry_at = time.monotonic() + 10 * self.poll_interval
            return
        self._listener = conn

    def _close_listener(self) -> None:
        conn, self._listener = self._listener, None
        self._retry_at = time.monotonic() + self.poll_interval
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
