"""Tells a server replica that some replica published a rule-set version, so it can rebuild its
in-memory index and swap it in (no restart, no database query per quote).

Two signals, one decision: on PostgreSQL the watcher LISTENs on NOTIFY_CHANNEL (publish sends
a NOTIFY inside its transaction, so it arrives right after the commit); on every backend it
also polls RuleStore.latest_change_marker() every `poll_interval` seconds, which covers SQLite,
a dropped listener connection and a missed notification. Either way the callback runs only
when the marker really changed, once per change seen (again on the next poll if it failed).

During an outage the poll doubles as the store's health check: `on_state(False)` when it
first fails, `on_state(True)` when it answers again. The log gets one line per state change
and a summary every SUMMARY_SECONDS, never a traceback per poll (an idle replica used to
write 5,200 lines in 22 seconds).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from service.storage.store import NOTIFY_CHANNEL, RuleStore
from service.usecases.errors import StoreUnavailableError

log = logging.getLogger(__name__)

_SLICE = 0.1  # longest wait between checks of the stop flag (keeps stop() prompt)
SUMMARY_SECONDS = 60.0
"""While the store stays unreachable, how often the log says so again."""


def reason_of(exc: BaseException) -> str:
    """One short line on why the store failed (the driver's error, not a traceback)."""
    cause = exc.__cause__ or exc
    first = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first[:200]}"


class ChangeWatcher:
    """A daemon thread that calls `on_change()` after a version is published anywhere."""

    def __init__(
        self,
        store: RuleStore,
        on_change: Callable[[], None],
        poll_interval: float = 1.0,
        listen: bool = True,
        on_state: Callable[[bool], None] | None = None,
    ) -> None:
        self.store = store
        self.on_change = on_change
        self.on_state = on_state  # told True/False when the store becomes (un)reachable
        self.poll_interval = poll_interval
        self.listen = listen and store.dialect == "postgresql"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listener: Any = None  # psycopg.Connection while listening
        self._retry_at = 0.0  # monotonic time of the next LISTEN reconnect attempt
        self.marker = ""
        self._down_since: float | None = None  # monotonic start of the current outage
        self._failed_checks = 0
        self._summary_at = 0.0
        self._listen_lost = False  # a LISTEN failure was logged; log its recovery once
        self._failing_marker = ""  # a change whose callback failed (logged once)

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
            except Exception as exc:
                self._unreachable(exc)
                continue
            self._reachable()
            if marker == self.marker:
                continue
            previous, self.marker = self.marker, marker
            try:
                self.on_change()
            except Exception as exc:
                self.marker = previous  # try again on the next poll
                if self._failing_marker != marker:
                    self._failing_marker = marker
                    log.warning(
                        "rule-store change callback failed (%s); the old index stays in use "
                        "and it is retried every %.1fs",
                        reason_of(exc),
                        self.poll_interval,
                        exc_info=not _is_outage(exc),
                    )
            else:
                self._failing_marker = ""

    def _unreachable(self, exc: BaseException) -> None:
        now = time.monotonic()
        self._failed_checks += 1
        if self._down_since is None:
            self._down_since = self._summary_at = now
            log.warning(
                "rule store unreachable (%s): quotes are still answered from the loaded rules; "
                "publishes, rule-set reads and saved quotes answer UNAVAILABLE; checking every "
                "%.1fs",
                reason_of(exc),
                self.poll_interval,
            )
            self._tell(False)
        elif now - self._summary_at >= SUMMARY_SECONDS:
            self._summary_at = now
            log.warning(
                "rule store still unreachable after %.0fs (%d failed checks; last: %s)",
                now - self._down_since,
                self._failed_checks,
                reason_of(exc),
            )

    def _reachable(self) -> None:
        if self._down_since is None:
            return
        log.info(
            "rule store reachable again after %.0fs (%d failed checks); catching up",
            time.monotonic() - self._down_since,
            self._failed_checks,
        )
        self._down_since = None
        self._failed_checks = 0
        self._retry_at = 0.0  # re-subscribe to LISTEN now rather than at the next retry
        self._tell(True)

    def _tell(self, reachable: bool) -> None:
        if self.on_state is not None:
            try:
                self.on_state(reachable)
            except Exception:
                log.exception("rule-store state callback failed")

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
            except Exception as exc:
                log.warning(
                    "lost the LISTEN connection (%s); polling until it is back", reason_of(exc)
                )
                self._listen_lost = True
                self._close_listener()

    def _connect_listener(self) -> None:
        import psycopg

        conninfo = self.store.engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        try:
            conn = psycopg.connect(conninfo, autocommit=True, connect_timeout=5)
            conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        except Exception as exc:
            if not self._listen_lost:  # once per outage, not every retry
                log.warning("cannot LISTEN for rule-store changes (%s); polling", reason_of(exc))
                self._listen_lost = True
            self._listener = None
            self._retry_at = time.monotonic() + 10 * self.poll_interval
            return
        if self._listen_lost:
            log.info("listening for rule-store changes again")
            self._listen_lost = False
        self._listener = conn

    def _close_listener(self) -> None:
        conn, self._listener = self._listener, None
        self._retry_at = time.monotonic() + self.poll_interval
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


def _is_outage(exc: BaseException) -> bool:
    return isinstance(exc, StoreUnavailableError)
