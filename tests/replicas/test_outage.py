"""A PostgreSQL outage under two real replicas (`massage-estimator serve`), on a private server
the test stops and starts (tests/throwaway_pg.py), never the shared one.

While the database is down quotes keep being answered from memory with zero errors, the store's
own health name says NOT_SERVING while quoting stays SERVING, and a publish or a saved quote is
answered UNAVAILABLE saying the rule store is unreachable. When it returns, with no restart,
the pool reconnects, a publish works and the other replica serves it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import payer_rules_pb2 as rpb

from service.api.server import STORE_HEALTH_NAME
from tests.api.rules_helpers import august_session, clients_for, mid_year_2026
from tests.replicas.test_two_servers import quote, start_replica, stop_replica, wait_serving
from tests.throwaway_pg import throwaway_postgres

pytestmark = pytest.mark.postgres

OUTAGE_SECONDS = 20.0
SERVING: int = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING: int = health_pb2.HealthCheckResponse.NOT_SERVING


def health(target: str, service: str) -> int:
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        answer = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        return int(answer.status)


def wait_until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"{what}: not within {timeout}s")


def test_quotes_survive_a_database_outage_and_publishes_recover_without_a_restart(
    tmp_path: Path,
) -> None:
    with throwaway_postgres() as pg, ExitStack() as stack:
        a = start_replica("A", pg.url, tmp_path)
        stack.callback(stop_replica, a)
        b = start_replica("B", pg.url, tmp_path)
        stack.callback(stop_replica, b)
        wait_serving(a)
        wait_serving(b)
        ca = stack.enter_context(clients_for(a.target))
        cb = stack.enter_context(clients_for(b.target))
        assert health(a.target, STORE_HEALTH_NAME) == SERVING

        answered: list[str] = []
        failures: list[str] = []
        stop = threading.Event()

        def hammer(target: str) -> None:
            with clients_for(target) as own:
                while not stop.is_set():
                    try:
                        answered.append(quote(own, august_session()).rule_version.version)
                    except grpc.RpcError as exc:
                        failures.append(f"{target}: {exc.code()} {exc.details()}")

        workers = [
            threading.Thread(target=hammer, args=(t,), daemon=True) for t in (a.target, b.target)
        ]
        for w in workers:
            w.start()
        try:
            pg.stop()
            down_at = time.monotonic()
            before = len(answered)
            for r in (a, b):
                wait_until(
                    lambda r=r: health(r.target, STORE_HEALTH_NAME) == NOT_SERVING,  # type: ignore[misc]
                    f"{r.name} reporting the store NOT_SERVING",
                )
                assert health(r.target, "") == SERVING  # quoting stays in the load balancer

            with pytest.raises(grpc.RpcError) as publish:
                ca.rules.PublishRuleSet(
                    rpb.PublishRuleSetRequest(content=mid_year_2026(), published_by="outage"),
                    timeout=30,
                )
            assert publish.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "rule store is unreachable" in (publish.value.details() or "")
            with pytest.raises(grpc.RpcError) as save:
                ca.estimator.EstimateSession(
                    pb.EstimateSessionRequest(session=august_session(), save_quote=True),
                    timeout=30,
                )
            assert save.value.code() == grpc.StatusCode.UNAVAILABLE
            with pytest.raises(grpc.RpcError) as listing:
                cb.rules.ListRuleSets(rpb.ListRuleSetsRequest(), timeout=30)
            assert listing.value.code() == grpc.StatusCode.UNAVAILABLE

            time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))
            during = len(answered) - before
            pg.start()
            for r in (a, b):
                wait_until(
                    lambda r=r: health(r.target, STORE_HEALTH_NAME) == SERVING,  # type: ignore[misc]
                    f"{r.name} reporting the store SERVING again",
                )

            published = ca.rules.PublishRuleSet(
                rpb.PublishRuleSetRequest(content=mid_year_2026(), published_by="after-outage"),
                timeout=30,
            )
            assert published.created
            wait_until(
                lambda: quote(cb, august_session()).rule_version.version == "2026.2",
                "replica B serving the version published through A after the outage",
            )
        finally:
            stop.set()
            for w in workers:
                w.join(10)
        assert failures == []
        assert during > 0, "no quote was answered during the outage"
        assert a.process.poll() is None and b.process.poll() is None  # no restart
        for r in (a, b):
            log = r.log.read_text()
            assert "Traceback" not in log, log
            store_lines = [line for line in log.splitlines() if "rule store" in line]
            assert 2 <= len(store_lines) <= 6, store_lines  # down, (summary), back
        print(f"{during} quotes answered during a {OUTAGE_SECONDS:.0f}s outage, 0 errors")


def test_a_replica_started_while_the_database_is_down_waits_not_serving_then_serves(
    tmp_path: Path,
) -> None:
    with throwaway_postgres() as pg, ExitStack() as stack:
        pg.stop()
        replica = start_replica("early", pg.url, tmp_path)
        stack.callback(stop_replica, replica)

        def waiting() -> bool:
            assert replica.process.poll() is None, replica.log.read_text()
            try:
                return health(replica.target, "") == NOT_SERVING
            except grpc.RpcError:
                return False  # not listening yet

        wait_until(waiting, "the waiting replica answering health NOT_SERVING")
        wait_until(
            lambda: "waiting for the rule store" in replica.log.read_text(),
            "the replica saying what it waits for",
        )
        pg.start()
        wait_serving(replica)
        with clients_for(replica.target) as c:
            assert quote(c, august_session()).rule_version.version == "2026.1"
        log = replica.log.read_text()
        assert "Traceback" not in log, log
        assert "postgres@127.0.0.1" in log  # it names where it waits (never a password)
