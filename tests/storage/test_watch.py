"""A replica notices another replica's publish within 2 seconds, on SQLite by
polling and on PostgreSQL by LISTEN/NOTIFY (with polling as the fallback)."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest

from service.storage import ChangeWatcher, RuleStore, create_store

from .rulesets import rule_set


def _replica(store: RuleStore) -> RuleStore:
    """A second store on the same database, with its own engine, like another process."""
    return create_store(store.engine.url.render_as_string(hide_password=False))


def test_watcher_notices_a_publish_from_another_replica_within_2_seconds(
    store: RuleStore,
) -> None:
    other = _replica(store)
    changed = threading.Event()
    calls: list[float] = []

    def on_change() -> None:
        calls.append(time.monotonic())
        changed.set()

    with ChangeWatcher(store, on_change):
        time.sleep(0.3)
        assert calls == []  # nothing published yet: no spurious rebuild
        started = time.monotonic()
        other.publish(rule_set("2026.1", date(2026, 1, 1)), "replica-b")
        assert changed.wait(2.0), "the watcher did not see the publish within 2 seconds"
        assert time.monotonic() - started < 2.0
        time.sleep(1.5)
        assert len(calls) == 1  # NOTIFY and the poll both saw it; one callback
    other.engine.dispose()


@pytest.mark.postgres
def test_notify_arrives_without_waiting_for_the_poll(pg_url: str) -> None:
    store = create_store(pg_url)
    store.migrate()
    changed = threading.Event()
    # A poll interval far beyond the deadline: only LISTEN/NOTIFY can make it in time.
    with ChangeWatcher(store, changed.set, poll_interval=60.0) as watcher:
        assert watcher.listen
        _replica(store).publish(rule_set("2026.1", date(2026, 1, 1)), "replica-b")
        assert changed.wait(1.0), "NOTIFY did not reach the listener"
    store.engine.dispose()


def test_stop_is_prompt_and_a_failing_callback_does_not_kill_the_watcher(
    store: RuleStore,
) -> None:
    seen = threading.Event()
    count = [0]

    def flaky() -> None:
        count[0] += 1
        if count[0] == 1:
            raise RuntimeError("index rebuild failed")
        seen.set()

    watcher = ChangeWatcher(store, flaky, poll_interval=0.2)
    watcher.start()
    store.publish(rule_set("2026.1", date(2026, 1, 1), date(2026, 12, 31)), "a")
    time.sleep(0.8)
    store.publish(rule_set("2027.1", date(2027, 1, 1)), "a")
    assert seen.wait(2.0)
    started = time.monotonic()
    watcher.stop()
    assert time.monotonic() - started < 0.5
