"""Start-up, publishing, throughput and memory on a generated corpus (scripts.bench.corpus).

Every figure comes from a real `massage-estimator serve` process: the fresh seed is the time
from spawning the server on an empty store until health says SERVING, the restart the same
on the filled store, and the publish one PublishRuleSet call (the next yearly version of one
payer, 100 plans) answered by the running server, which includes reloading its index, the
way a payer analyst's publish really completes. The publish is timed on SQLite and on
PostgreSQL (a schema of its own in the `test` database, dropped afterwards).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import grpc
import sqlalchemy as sa
from massage_estimator.v1 import payer_rules_pb2 as rpb
from massage_estimator.v1 import payer_rules_pb2_grpc as rpb_grpc

from scripts.bench import corpus, workload
from scripts.bench.servers import BenchError, Server, start_project
from service.domain.model import RuleSetVersion
from service.rulefiles import DEFAULT_RULES_DIR


@dataclass
class ScaleResult:
    payers: int
    plans: int
    versions: int
    generate_s: float = 0.0
    seed_s: float | None = None
    restart_s: float | None = None
    publish_sqlite_s: float | None = None
    seed_pg_s: float | None = None
    publish_pg_s: float | None = None
    pg_note: str = ""
    sample_start_s: float | None = None
    rss_big_kib: int | None = None
    rss_sample_kib: int | None = None
    plan_versions: int = 0
    sample_plan_versions: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def rss_per_plan_version_kib(self) -> float | None:
        if self.rss_big_kib is None or self.rss_sample_kib is None:
            return None
        extra = self.plan_versions - self.sample_plan_versions
        return (self.rss_big_kib - self.rss_sample_kib) / extra if extra > 0 else None


def corpus_specs(
    sample_versions: list[RuleSetVersion], payers: int, plans: int, versions: int
) -> list[workload.PlanSpec]:
    """The request generator's view of the corpus, from the sample shapes (no parsing of
    the corpus in this process: that alone would take minutes)."""
    by_id = {s.plan_id: s for s in workload.plan_specs(sample_versions)}
    shapes = [by_id[plan_id] for _, plan_id in corpus.SHAPES]
    years = [corpus.FIRST_YEAR + v for v in range(versions)]
    ranges = tuple((date(y, 1, 1), date(y, 12, 31)) for y in years)
    return [
        workload.PlanSpec(
            plan_id=f"payer-{p:03d}-plan-{j:03d}",
            accepted=shapes[j % len(shapes)].accepted,
            out_of_network=shapes[j % len(shapes)].out_of_network,
            ranges=ranges,
        )
        for p in range(payers)
        for j in range(plans)
    ]


def publish(server: Server, text: str, source: str, timeout: float) -> float:
    """Seconds for one PublishRuleSet call that creates a new version."""
    with grpc.insecure_channel(server.target) as channel:
        stub = rpb_grpc.PayerRulesServiceStub(channel)  # type: ignore[no-untyped-call]
        t0 = time.perf_counter()
        try:
            answer = stub.PublishRuleSet(
                rpb.PublishRuleSetRequest(content=text, source=source, published_by="bench"),
                timeout=timeout,
                metadata=server.metadata,
            )
        except grpc.RpcError as exc:
            raise BenchError(f"publish failed: {exc.code().name}: {exc.details()}") from None
        elapsed = time.perf_counter() - t0
    if not answer.created:
        raise BenchError("publish created nothing (the version was already published)")
    return elapsed


@contextmanager
def pg_schema(url: str) -> Iterator[str]:
    """A URL whose connections use a new schema of `url`'s database; dropped afterwards."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        raise BenchError(f"no PostgreSQL at {url}: {str(exc.orig).strip()}") from None
    try:
        yield (
            sa.make_url(url)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def run(
    *,
    tmp: Path,
    payers: int,
    plans: int,
    versions: int,
    pg_url: str | None,
    cpu: int | None,
    timeout: float,
    sample_plan_versions: int,
    on_servers: Callable[[Server, Server], None],
) -> ScaleResult:
    """Generate the corpus, then seed, restart and publish on SQLite (with the throughput
    comparison while the big server runs), then seed and publish on PostgreSQL."""
    result = ScaleResult(payers, plans, versions, sample_plan_versions=sample_plan_versions)
    result.plan_versions = payers * plans * versions
    corpus_dir = tmp / "corpus"
    t0 = time.perf_counter()
    corpus.generate(corpus_dir, payers, plans, versions)
    result.generate_s = time.perf_counter() - t0
    new_version = corpus.next_version(0, plans, versions)
    logs = tmp / "logs"
    logs.mkdir(exist_ok=True)

    db = f"sqlite:///{tmp / 'big.db'}"
    big = start_project(
        "big-seed", rules_dir=corpus_dir, database_url=db, log_dir=logs, cpu=cpu, timeout=timeout
    )
    result.seed_s = big.started_s
    big.stop(timeout=60)
    big = start_project(
        "big-restart", rules_dir=corpus_dir, database_url=db, log_dir=logs, cpu=cpu, timeout=timeout
    )
    try:
        result.restart_s = big.started_s
        sample = start_project(
            "sample-for-scale",
            rules_dir=DEFAULT_RULES_DIR,
            database_url=f"sqlite:///{tmp / 'sample-scale.db'}",
            log_dir=logs,
            cpu=cpu,
            timeout=120,
        )
        try:
            result.sample_start_s = sample.started_s
            result.rss_big_kib = big.rss_kib()
            result.rss_sample_kib = sample.rss_kib()
            on_servers(big, sample)
        finally:
            sample.stop()
        result.publish_sqlite_s = publish(big, new_version, "bench-next.yaml", timeout)
    finally:
        big.stop(timeout=60)

    if pg_url is None:
        result.pg_note = "not available: not run (--no-postgres)"
        return result
    try:
        with pg_schema(pg_url) as url:
            pg = start_project(
                "big-pg-seed",
                rules_dir=corpus_dir,
                database_url=url,
                log_dir=logs,
                cpu=cpu,
                timeout=timeout,
            )
            try:
                result.seed_pg_s = pg.started_s
                result.publish_pg_s = publish(pg, new_version, "bench-next.yaml", timeout)
            finally:
                pg.stop(timeout=60)
    except BenchError as exc:
        if "no PostgreSQL" not in str(exc):
            raise
        result.pg_note = f"not available: {exc}"
    return result
