"""kill -9 in the middle of a write, on SQLite and PostgreSQL: every version is wholly present
or wholly absent (with all its plan rows), every saved quote is whole, every acknowledged
save survives, and the server starts afterwards.

Publishes: tests/storage/crash_worker.py publishes batches of 40 versions per transaction (the
server's publish path, RuleStore.publish_many) and says when a write begins; the test kills it
at a random moment inside a write, several times. Saved quotes: the real `massage-estimator
serve` process is killed while 8 clients save quotes as fast as it answers.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from massage_estimator.v1 import estimator_pb2 as pb

from service.app import start
from service.settings import Settings
from service.storage import create_store
from tests.api.helpers import issue_example
from tests.api.rules_helpers import clients_for
from tests.postgres import fresh_pg_database
from tests.replicas.test_two_servers import (
    Replica,
    start_replica,
    stop_replica,
    wait_serving,
)

from .crash_worker import BATCH
from .rulesets import RULES_DIR

WORKER = Path(__file__).with_name("crash_worker.py")
KILLS = 4


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def crash_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.db'}"
    else:
        with fresh_pg_database() as url:
            yield url


def _kill_inside_a_write(url: str, first_round: int, rng: random.Random) -> tuple[int, bool]:
    """Start a worker, learn how long a batch write takes, kill -9 it at a random moment of
    the next one. Returns (the round it was writing, whether it had committed it)."""
    worker = subprocess.Popen(
        [sys.executable, str(WORKER), url, str(first_round)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert worker.stdout is not None
    try:
        lines = [worker.stdout.readline().split() for _ in range(2)]
        assert [line[0] for line in lines] == ["begin", "committed"], lines
        took = float(lines[1][2])
        begin = worker.stdout.readline().split()
        assert begin[0] == "begin", begin
        threading.Event().wait(rng.uniform(0.0, 0.8 * took))
        worker.send_signal(signal.SIGKILL)
    finally:
        worker.kill()
        worker.wait(10)
    rest = worker.stdout.read().split()
    return int(begin[1]), rest[:2] == ["committed", begin[1]]


def _check_versions_whole(url: str) -> set[int]:
    """Every crash round all there or not at all; every version with exactly its plans;
    every checksum intact (load_versions rebuilds each one). Returns the rounds present."""
    store = create_store(url)
    try:
        with store.engine.connect() as conn:
            per_round = conn.execute(
                sa.text(
                    "SELECT published_by, count(*) FROM rule_set_version "
                    "WHERE published_by LIKE 'crash-%' GROUP BY published_by"
                )
            ).all()
        assert all(count == BATCH for _, count in per_round), per_round
        listed = {(m.payer_id, m.version): sorted(m.plan_ids) for m in store.list_versions()}
        store.seed_from_dir(RULES_DIR)  # reads the clinic profile; the store is not empty
        loaded = store.load_versions()
        assert listed == {
            (v.payer_id, v.version): sorted(p.plan_id for p in v.plans) for v in loaded
        }
        return {int(who.removeprefix("crash-")) for who, _ in per_round}
    finally:
        store.engine.dispose()


def _server_starts(url: str) -> int:
    app = start(
        Settings(host="127.0.0.1", port=0, database_url=url, rules_dir=RULES_DIR, max_workers=2)
    )
    try:
        return len(app.quoter.index.versions)
    finally:
        app.stop(grace=0)


def test_kill_9_during_a_publish_leaves_every_version_whole(crash_db: str) -> None:
    seed = create_store(crash_db)
    seed.migrate()
    seed.seed_from_dir(RULES_DIR)
    seed.engine.dispose()
    rng = random.Random(12)
    inside = 0
    committed_rounds: set[int] = set()
    next_round = 1
    for _ in range(KILLS):
        killed_round, committed = _kill_inside_a_write(crash_db, next_round, rng)
        committed_rounds.add(next_round)  # the worker's first batch, reported committed
        if committed:
            committed_rounds.add(killed_round)
        inside += not committed
        present = _check_versions_whole(crash_db)
        # Reported commits are there; the killed batch may be there (committed just before
        # the kill) or not, but never in part (checked above).
        assert committed_rounds <= present <= committed_rounds | {killed_round}
        committed_rounds = present
        assert _server_starts(crash_db) == 9 + len(present) * BATCH
        next_round = killed_round + 1
    assert inside >= 1, "no kill landed inside a write"


def _save_loop(target: str, saved: list[str], stop: threading.Event) -> None:
    with clients_for(target) as c:
        while not stop.is_set():
            try:
                answer = c.estimator.EstimateSession(
                    pb.EstimateSessionRequest(session=issue_example(), save_quote=True), timeout=10
                )
            except grpc.RpcError:
                return  # the server was killed
            saved.append(answer.quote_id)


def test_kill_9_during_quote_saves_keeps_every_acknowledged_quote_whole(
    crash_db: str, tmp_path: Path
) -> None:
    rng = random.Random(7)
    acknowledged: list[str] = []
    with ExitStack() as stack:
        for attempt in range(3):
            server: Replica = start_replica(f"serve{attempt}", crash_db, tmp_path)
            stack.callback(stop_replica, server)
            wait_serving(server)  # it starts after the previous kill
            saved: list[str] = []
            stop = threading.Event()
            savers = [
                threading.Thread(target=_save_loop, args=(server.target, saved, stop), daemon=True)
                for _ in range(8)
            ]
            for s in savers:
                s.start()
            while len(saved) < 40:
                threading.Event().wait(0.01)
            threading.Event().wait(rng.uniform(0.0, 0.5))
            server.process.send_signal(signal.SIGKILL)
            server.process.wait(10)
            stop.set()
            for s in savers:
                s.join(20)
            acknowledged.extend(saved)

        last = start_replica("after", crash_db, tmp_path)
        stack.callback(stop_replica, last)
        wait_serving(last)
        store = create_store(crash_db)
        with store.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, request, response FROM saved_quote")).all()
        store.engine.dispose()
        stored = {row[0] for row in rows}
        assert set(acknowledged) <= stored  # every answered save survived
        for _, request, response in rows:  # and no row is partial
            assert json.loads(request)["save_quote"] is True
            assert json.loads(response)["allowed_amount"]
        with clients_for(last.target) as c:
            for quote_id in sorted(stored)[:50]:
                got = c.estimator.GetQuote(pb.GetQuoteRequest(quote_id=quote_id), timeout=10)
                assert got.replay_matches
