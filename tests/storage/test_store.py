"""The rule store on real SQLite and real PostgreSQL (see conftest: every test runs on both)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from service.domain.index import RuleIndex
from service.domain.versions import PublishRejectedError
from service.rulefiles import load_rules_dir
from service.storage import RuleStore, StoreIntegrityError, create_store
from service.usecases.ports import NewQuote

from .rulesets import RULES_DIR, clinic, rule_set

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _count(store: RuleStore, table: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


# ---------------------------------------------------------------------------- schema


def test_migrate_from_empty_creates_every_table(db_url: str) -> None:
    store = create_store(db_url)
    try:
        assert store.current_revision() is None
        store.migrate()
        assert store.current_revision() == "0005"
        tables = set(sa.inspect(store.engine).get_table_names())
        assert {"rule_set_version", "plan_version", "saved_quote", "alembic_version",
                "api_key", "audit_log"} <= tables  # fmt: skip
        store.migrate()  # a second replica starting up: nothing to do, no error
        assert store.current_revision() == "0005"
        assert store.is_empty()
        assert store.latest_change_marker() == "0:0"
    finally:
        store.engine.dispose()


def test_migrations_match_the_sqlmodel_tables(store: RuleStore) -> None:
    """The hand-written migration and the table classes describe the same schema."""
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_alembic_command_line_upgrades_the_same_schema(db_url: str) -> None:
    """`alembic upgrade head` by hand (alembic.ini at the repo root) does what migrate() does."""
    repo = Path(__file__).resolve().parents[2]
    alembic = Path(sys.executable).with_name("alembic")
    done = subprocess.run(
        [str(alembic), "-c", str(repo / "alembic.ini"), "-x", f"url={db_url}", "upgrade", "head"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    store = create_store(db_url)
    assert store.current_revision() == "0005"
    store.migrate()  # and the programmatic path agrees there is nothing left to do
    assert store.is_empty()
    store.engine.dispose()


def test_sqlite_folder_is_created(tmp_path: Path) -> None:
    store = create_store(f"sqlite:///{tmp_path / 'a' / 'b' / 'rules.db'}")
    store.migrate()
    assert (tmp_path / "a" / "b" / "rules.db").is_file()
    store.engine.dispose()


# ---------------------------------------------------------------------------- seeding


def test_seed_publishes_every_sample_file_once(store: RuleStore) -> None:
    _, parsed = load_rules_dir(RULES_DIR)
    assert store.seed_from_dir(RULES_DIR) == len(parsed) == 9
    assert not store.is_empty()
    assert store.seed_from_dir(RULES_DIR) == 0  # second start: the store already has rules
    versions = store.load_versions()
    assert sorted((v.payer_id, v.version, v.checksum) for v in versions) == sorted(
        (p.payer_id, p.version, p.checksum) for p in parsed
    )
    assert {v.published_by for v in versions} == {"sample-data"}
    assert _count(store, "plan_version") == sum(len(p.plans) for p in parsed)
    # The loaded versions answer quotes: the index finds the 2027 Acme rules for 2027.
    index = RuleIndex.build(versions)
    version, plan = index.resolve("acme-ppo-gold", date(2027, 3, 1))
    assert version.version == "2027.1"
    assert plan.in_network.allowed["97124"].first_unit == 3300


def test_seeding_a_new_store_in_a_fresh_process_needs_the_clinic(db_url: str) -> None:
    """A replica that did not seed still learns the clinic from seed_from_dir (0 published)."""
    first = create_store(db_url)
    first.migrate()
    first.seed_from_dir(RULES_DIR)
    second = create_store(db_url)
    with pytest.raises(RuntimeError, match="needs the clinic profile"):
        second.load_versions()
    assert second.seed_from_dir(RULES_DIR) == 0
    assert len(second.load_versions()) == 9
    first.engine.dispose()
    second.engine.dispose()


def test_replicas_seeding_at_the_same_moment_publish_once(db_url: str) -> None:
    """Two servers starting together on one empty database: the sample data lands once."""
    first = create_store(db_url)
    first.migrate()
    replicas = [create_store(db_url) for _ in range(3)]
    barrier = threading.Barrier(len(replicas))

    def start(s: RuleStore) -> int:
        s.migrate()
        barrier.wait()
        return s.seed_from_dir(RULES_DIR)

    with ThreadPoolExecutor(len(replicas)) as pool:
        seeded = list(pool.map(start, replicas))
    assert sorted(seeded) == [0, 0, 9]
    assert _count(first, "rule_set_version") == 9
    for s in [first, *replicas]:
        s.engine.dispose()


# ---------------------------------------------------------------------------- publish


def test_same_content_twice_is_one_version(store: RuleStore) -> None:
    parsed = rule_set("2026.1", date(2026, 1, 1), date(2026, 12, 31))
    first = store.publish(parsed, "analyst@acme", now=T0)
    again = store.publish(
        dataclasses.replace(
            rule_set("2026.1", date(2026, 1, 1), date(2026, 12, 31)), source="upload.yaml"
        ),
        "someone-else",
        now=T0 + timedelta(days=3),
    )
    assert first.created and not again.created
    assert again.version == first.version  # the existing one: same moment, same publisher
    assert again.version.published_at == T0
    assert again.version.published_by == "analyst@acme"
    assert again.version == store.load_versions()[0]
    assert again.version.source == parsed.source  # where it was first published from
    assert _count(store, "rule_set_version") == 1
    assert _count(store, "plan_version") == 1


def test_changed_content_under_a_published_label_is_rejected(store: RuleStore) -> None:
    store.publish(rule_set("2026.1", date(2026, 1, 1), date(2026, 12, 31)), "a", now=T0)
    marker = store.latest_change_marker()
    with pytest.raises(PublishRejectedError) as err:
        store.publish(
            rule_set("2026.1", date(2026, 1, 1), date(2026, 12, 31), allowed_97124="35.00"),
            "a",
        )
    [problem] = err.value.errors
    assert problem.source == "acme-health 2026.1"
    assert problem.field == "version"
    assert "already published with different content" in problem.message
    assert store.latest_change_marker() == marker


def test_batch_with_one_invalid_version_writes_nothing(store: RuleStore) -> None:
    good = rule_set("2026.1", date(2026, 1, 1), date(2026, 12, 31), payer="acme-health")
    other = rule_set("2026.1", date(2026, 1, 1), payer="birch-health")
    # Same plan, same start day as `good`: ambiguous, so the whole batch is refused.
    clash = rule_set("2026.2", date(2026, 1, 1), date(2026, 12, 31), allowed_97124="40.00")
    with pytest.raises(PublishRejectedError) as err:
        store.publish_many([good, other, clash], "batch")
    assert [p.source for p in err.value.errors] == ["acme-health 2026.2"]
    assert err.value.errors[0].field == "plans[acme-ppo-gold].effective_from"
    assert store.is_empty()
    assert _count(store, "plan_version") == 0
    assert store.latest_change_marker() == "0:0"
    # Without the clash the same batch goes through in one piece.
    results = store.publish_many([good, other], "batch")
    assert [r.created for r in results] == [True, True]
    assert len(store.load_versions()) == 2


def test_a_failure_inside_the_transaction_leaves_nothing_behind(store: RuleStore) -> None:
    """All or nothing also holds when the database itself refuses a row mid-batch: a trigger
    rejects the second version's plan row after the first version's rows were written."""
    if store.dialect == "sqlite":
        ddl = [
            "CREATE TRIGGER refuse_birch BEFORE INSERT ON plan_version "
            "WHEN NEW.plan_id = 'birch-health-gold' BEGIN SELECT RAISE(ABORT, 'refused'); END"
        ]
    else:
        ddl = [
            "CREATE FUNCTION refuse_birch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.plan_id = 'birch-health-gold' THEN RAISE EXCEPTION 'refused'; END IF; "
            "RETURN NEW; END $$",
            "CREATE TRIGGER refuse_birch BEFORE INSERT ON plan_version "
            "FOR EACH ROW EXECUTE FUNCTION refuse_birch()",
        ]
    with store.engine.begin() as conn:
        for statement in ddl:
            conn.exec_driver_sql(statement)
    first = rule_set("2026.1", date(2026, 1, 1), payer="acme-health")
    second = rule_set("2026.1", date(2026, 1, 1), payer="birch-health")
    with pytest.raises(sa.exc.DBAPIError, match="refused"):
        store.publish_many([first, second], "batch")
    assert store.is_empty()
    assert _count(store, "plan_version") == 0
    assert store.latest_change_marker() == "0:0"


def test_mid_year_replacement_is_allowed_and_answers_from_its_start(store: RuleStore) -> None:
    store.publish(rule_set("2026.1", date(2026, 1, 1), date(2026, 12, 31)), "a", now=T0)
    later = T0 + timedelta(days=30)
    result = store.publish(
        rule_set("2026.7", date(2026, 7, 1), None, allowed_97124="33.00"), "a", now=later
    )
    assert result.created and result.warnings == ()
    index = RuleIndex.build(store.load_versions())
    assert index.resolve("acme-ppo-gold", date(2026, 6, 30))[0].version == "2026.1"
    assert index.resolve("acme-ppo-gold", date(2026, 7, 1))[0].version == "2026.7"
    assert index.resolve("acme-ppo-gold", date(2027, 7, 1))[0].version == "2026.7"
    # Replay: before the mid-year version was published, July used the 2026.1 rules.
    assert index.resolve("acme-ppo-gold", date(2026, 7, 1), as_of=T0)[0].version == "2026.1"


@pytest.mark.parametrize(
    ("start", "end", "why"),
    [
        (date(2026, 1, 1), date(2026, 12, 31), "same start day"),
        (date(2026, 1, 1), None, "same start day, open-ended"),
        (date(2026, 3, 1), date(2026, 9, 30), "nested inside"),
        (date(2026, 7, 1), date(2026, 12, 30), "ends one day before the older one"),
        (date(2025, 7, 1), date(2027, 6, 30), "encloses the older one"),
        (date(2025, 7, 1), None, "starts earlier, open-ended, so the older one is nested"),
    ],
)
def test_ambiguous_overlaps_are_rejected(
    store: RuleStore, start: date, end: date | None, why: str
) -> None:
    store.publish(rule_set("2026.1", date(2026, 1, 1), date(2026, 12, 31)), "a", now=T0)
    with pytest.raises(PublishRejectedError) as err:
        store.publish(rule_set("2026.9", start, end, allowed_97124="35.00"), "a")
    [problem] = err.value.errors
    assert problem.source == "acme-health 2026.9", why
    assert problem.field == "plans[acme-ppo-gold].effective_from"
    assert "acme-health 2026.1" in problem.message
    assert len(store.load_versions()) == 1


def test_an_earlier_range_published_later_is_ended_by_the_existing_one(
    store: RuleStore,
) -> None:
    """Publish order does not matter: a version entered late for an earlier range is fine
    when the already-published later-starting version takes over from it."""
    store.publish(rule_set("2026.1", date(2026, 1, 1), date(2026, 12, 31)), "a", now=T0)
    result = store.publish(rule_set("2025.7", date(2025, 7, 1), date(2026, 6, 30)), "a")
    assert result.created and result.warnings == ()
    index = RuleIndex.build(store.load_versions())
    assert index.resolve("acme-ppo-gold", date(2025, 12, 31))[0].version == "2025.7"
    assert index.resolve("acme-ppo-gold", date(2026, 1, 1))[0].version == "2026.1"


def test_boundaries_between_consecutive_versions(store: RuleStore) -> None:
    store.publish(rule_set("2026.1", date(2026, 1, 1), date(2026, 12, 31)), "a", now=T0)
    # Starts the day after the older one ends: no overlap, no gap, no warning.
    nxt = store.publish(rule_set("2027.1", date(2027, 1, 1), date(2027, 12, 31), visits=24), "a")
    assert nxt.created and nxt.warnings == ()
    # Takes over on the older one's last day, open-ended: a clean replacement.
    last_day = store.publish(rule_set("2027.12", date(2027, 12, 31), None, visits=25), "a")
    assert last_day.created and last_day.warnings == ()
    index = RuleIndex.build(store.load_versions())
    assert index.resolve("acme-ppo-gold", date(2026, 12, 31))[0].version == "2026.1"
    assert index.resolve("acme-ppo-gold", date(2027, 1, 1))[0].version == "2027.1"
    assert index.resolve("acme-ppo-gold", date(2027, 12, 30))[0].version == "2027.1"
    assert index.resolve("acme-ppo-gold", date(2027, 12, 31))[0].version == "2027.12"


def test_a_gap_is_a_warning_not_an_error(store: RuleStore) -> None:
    store.publish(rule_set("2026.1", date(2026, 1, 1), date(2026, 12, 31)), "a", now=T0)
    result = store.publish(rule_set("2027.1", date(2027, 2, 1), None, visits=24), "a")
    assert result.created
    [warning] = result.warnings
    assert not warning.is_error
    assert warning.field == "plans[acme-ppo-gold].effective_from"
    assert "2027-01-01 to 2027-01-31 have no rules" in warning.message


def test_a_plan_id_of_another_payer_is_rejected(store: RuleStore) -> None:
    store.publish(rule_set("2026.1", date(2026, 1, 1), date(2026, 12, 31)), "a", now=T0)
    with pytest.raises(PublishRejectedError) as err:
        store.publish(
            rule_set("2030.1", date(2030, 1, 1), payer="birch-health", plan_id="acme-ppo-gold"), "a"
        )
    assert "already belongs to payer acme-health" in err.value.errors[0].message


def test_check_is_a_dry_run(store: RuleStore) -> None:
    store.publish(rule_set("2026.1", date(2026, 1, 1), date(2026, 12, 31)), "a", now=T0)
    problems = store.check([rule_set("2026.2", date(2026, 1, 1), allowed_97124="1.00")])
    assert [p.is_error for p in problems] == [True]
    assert store.check([rule_set("2026.1", date(2026, 1, 1), date(2026, 12, 31))]) == []
    assert len(store.load_versions()) == 1


def test_naive_publish_time_is_refused(store: RuleStore) -> None:
    with pytest.raises(ValueError, match="no time zone"):
        store.publish(rule_set("2026.1", date(2026, 1, 1)), "a", now=datetime(2026, 1, 1))
    assert store.is_empty()


# ---------------------------------------------------------------------------- round trip


def test_content_round_trips_exactly(store: RuleStore) -> None:
    clinic_, parsed = load_rules_dir(RULES_DIR)
    published_at = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    results = store.publish_many(parsed, "round-trip", now=published_at)
    loaded = {v.label(): v for v in store.load_versions(clinic_)}
    for p, r in zip(parsed, results, strict=True):
        v = loaded[f"{p.payer_id} {p.version}"]
        assert v == r.version == p.to_version(published_at, "round-trip")
        assert v.checksum == p.checksum
        assert v.published_at == published_at and v.published_at.tzinfo is not None
        assert store.get_content(p.payer_id, p.version) == p.content
    metas = store.list_versions(plan_id="acme-ppo-gold")
    assert [(m.version, m.plan_ids) for m in metas] == [
        ("2026.1", ("acme-ppo-gold",)),
        ("2027.1", ("acme-ppo-gold",)),
    ]


def test_a_changed_row_is_refused_not_served(store: RuleStore) -> None:
    store.publish(rule_set("2026.1", date(2026, 1, 1), date(2026, 12, 31)), "a", now=T0)
    with store.engine.begin() as conn:
        content = json.loads(
            conn.execute(sa.text("SELECT content FROM rule_set_version")).scalar_one()
        )
        content["plans"][0]["in_network"]["allowed_per_unit"]["97124"] = "99.00"
        conn.execute(
            sa.text("UPDATE rule_set_version SET content = :c"), {"c": json.dumps(content)}
        )
    with pytest.raises(StoreIntegrityError, match="published versions must never change"):
        store.load_versions()


# ---------------------------------------------------------------------------- concurrency


def test_concurrent_publishes_from_threads_land_exactly_once(store: RuleStore) -> None:
    """Several clients at once: each distinct version lands once; of two versions that
    conflict (same plan, same start) exactly one lands, never both and never half."""
    chain = [
        rule_set(f"2028.{m}", date(2028, m, 1), None, allowed_97124=f"{30 + m}.00")
        for m in (1, 4, 7, 10)
    ]
    others = [rule_set("2026.1", date(2026, 1, 1), payer=f"payer-{i}") for i in range(4)]
    rivals = [
        rule_set("2029.a", date(2029, 1, 1), None, allowed_97124="50.00"),
        rule_set("2029.b", date(2029, 1, 1), None, allowed_97124="51.00"),
    ]
    jobs = chain + others + rivals + chain  # the chain twice: idempotent under contention
    barrier = threading.Barrier(len(jobs))

    def publish(i: int) -> str:
        own = create_store(str(store.engine.url.render_as_string(hide_password=False)))
        try:
            barrier.wait()
            r = own.publish(jobs[i], f"thread-{i}")
            return "created" if r.created else "existing"
        except PublishRejectedError:
            return "rejected"
        finally:
            own.engine.dispose()

    with ThreadPoolExecutor(len(jobs)) as pool:
        outcomes = list(pool.map(publish, range(len(jobs))))
    assert outcomes.count("created") == len(chain) + len(others) + 1
    assert outcomes.count("existing") == len(chain)
    assert outcomes.count("rejected") == 1
    versions = store.load_versions()
    labels = sorted(v.label() for v in versions)
    assert len(labels) == len(set(labels)) == len(chain) + len(others) + 1
    assert sum(v.version.startswith("2029.") for v in versions) == 1
    assert _count(store, "plan_version") == len(versions)


@pytest.mark.postgres
def test_concurrent_publishes_from_processes(pg_url: str) -> None:
    store = create_store(pg_url)
    store.migrate()
    worker = Path(__file__).with_name("publish_worker.py")
    args = [
        ("acme-health", "2028.1", "2028-01-01", "31.00"),
        ("acme-health", "2028.7", "2028-07-01", "32.00"),
        ("acme-health", "2029.a", "2029-01-01", "50.00"),
        ("acme-health", "2029.b", "2029-01-01", "51.00"),
        ("birch-health", "2028.1", "2028-01-01", "31.00"),
        ("cedar-health", "2028.1", "2028-01-01", "31.00"),
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, str(worker), pg_url, *a],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for a in args
    ]
    for p in procs:  # a barrier: every process has imported, parsed and connected
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    outputs = [json.loads(p.communicate(timeout=60)[0].strip().splitlines()[-1]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    created = [o["version"] for o in outputs if o.get("created")]
    rejected = [o for o in outputs if "rejected" in o]
    assert len(created) == 5 and len(rejected) == 1
    store.clinic = clinic()
    versions = store.load_versions()
    assert len(versions) == 5
    assert sum(v.version.startswith("2029.") for v in versions) == 1
    assert _count(store, "plan_version") == 5
    store.engine.dispose()


# ---------------------------------------------------------------------------- saved quotes


def test_saved_quote_round_trip(store: RuleStore) -> None:
    quote = NewQuote(
        request={"plan_id": "acme-ppo-gold", "minutes": 53},
        response={"patient_pays": {"cents": 2480}},
        plan_id="acme-ppo-gold",
        payer_id="acme-health",
        version="2026.1",
        checksum="sha256:abc",
    )
    saved = store.save_quote(quote, now=T0)
    got = store.get_quote(saved.id)
    assert got == saved and saved.quote == quote
    assert got is not None and got.created_at == T0
    assert got.quote.response == {"patient_pays": {"cents": 2480}}
    assert store.get_quote("00000000-0000-0000-0000-000000000000") is None
    self_pay = store.save_quote(NewQuote(request={}, response={}, plan_id="self-pay"))
    assert self_pay.id != saved.id and self_pay.quote.payer_id is None


def test_saved_quotes_are_listed_by_plan_and_time_saved(store: RuleStore) -> None:
    def save(plan_id: str, at: datetime) -> str:
        return store.save_quote(NewQuote({}, {}, plan_id), now=at).id

    first = save("acme-ppo-gold", T0)
    second = save("acme-ppo-gold", T0 + timedelta(hours=1))
    save("acme-ppo-gold", T0 + timedelta(days=1))  # at the end: excluded
    save("summit-ma-plus", T0)  # another plan
    save("acme-ppo-gold", T0 - timedelta(microseconds=1))  # before the start
    found = store.list_quotes(["acme-ppo-gold"], T0, T0 + timedelta(days=1))
    assert [q.id for q in found] == [first, second]
    assert [q.id for q in store.list_quotes(["acme-ppo-gold"], T0, limit=1)] == [first]
    assert len(store.list_quotes(["acme-ppo-gold", "summit-ma-plus"], T0)) == 4
