"""The rule store: immutable published rule-set versions in SQLite or PostgreSQL.

Why it looks like this:
- Publishing is one transaction that first takes a store-wide publish lock (a transaction-level
  advisory lock on PostgreSQL, BEGIN IMMEDIATE on SQLite), then reads what is published, runs
  the pure checks (service.domain.versions) and inserts. So two replicas publishing at the same
  moment cannot both pass an overlap check that only one of them may pass, and a failed check
  writes nothing. Publishes are rare; serialising them costs nothing that matters.
- A version's content is stored as canonical JSON text with its checksum; domain objects are
  rebuilt from it through service.rulefiles, and the rebuilt checksum must equal the stored one
  (a changed row is refused loudly, never served).
- PostgreSQL replicas learn about a publish through NOTIFY (sent inside the publish
  transaction, so delivered only on commit) or by polling latest_change_marker()
  (service.storage.watch).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import defer
from sqlmodel import Session, col, func, select

from service.domain.model import Clinic, RuleSetVersion
from service.domain.versions import (
    WARNING,
    Problem,
    PublishRejectedError,
    VersionLike,
    check_publish,
)
from service.storage.tables import (
    PlanVersionPublic,
    PlanVersionRow,
    RuleSetVersionPublic,
    RuleSetVersionRow,
    SavedQuotePublic,
    SavedQuoteRow,
)

if TYPE_CHECKING:
    from sqlalchemy.engine.interfaces import DBAPIConnection
    from sqlalchemy.pool import ConnectionPoolEntry

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
NOTIFY_CHANNEL = "rule_set_published"
# Arbitrary fixed keys for pg_advisory_xact_lock: one for publishing, one for migrating.
_PUBLISH_LOCK_KEY = 0x6D61_7373_0001
_MIGRATE_LOCK_KEY = 0x6D61_7373_0002
_IMMEDIATE = "massage_estimator_sqlite_immediate"


class ParsedRuleSetLike(VersionLike, Protocol):
    """What the store needs from service.rulefiles.ParsedRuleSet (a parsed, validated file):
    a version's identity and plans, plus its canonical content and where it came from."""

    @property
    def content(self) -> Mapping[str, Any]: ...
    @property
    def source(self) -> str: ...
    @property
    def note(self) -> str | None: ...

    def to_version(
        self, published_at: datetime, published_by: str, note: str | None = None
    ) -> RuleSetVersion: ...


Rebuilder = Callable[[Mapping[str, Any], str, Clinic | None], ParsedRuleSetLike]
"""Rebuilds a parsed rule set from stored canonical content (content, source, clinic)."""


@dataclass(frozen=True)
class PublishResult:
    """The outcome of publishing one rule set: the version (new or the identical existing one)
    and the warnings the checks raised (gaps, the loader's own warnings)."""

    version: RuleSetVersion
    created: bool
    warnings: tuple[Problem, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class _StoredMeta:
    """A published version as the publish checks see it (no content parsing needed)."""

    id: int
    payer_id: str
    payer_name: str
    version: str
    effective_from: date
    effective_to: date | None
    checksum: str
    plans: tuple[_StoredPlan, ...]
    published_at: datetime
    published_by: str
    note: str
    source: str


@dataclass(frozen=True)
class _StoredPlan:
    plan_id: str


def canonical_json(content: Mapping[str, Any]) -> str:
    """The one text form content is stored in (sorted keys, no extra spaces)."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _default_rebuild(
    content: Mapping[str, Any], source: str, clinic: Clinic | None
) -> ParsedRuleSetLike:
    """Rebuild through service.rulefiles: its content parser if it has one, else the text
    parser on canonical JSON (YAML is a superset of JSON)."""
    from service import rulefiles

    rf: Any = rulefiles
    for name in ("parse_rule_set_content", "parse_content", "rule_set_from_content"):
        fn = getattr(rf, name, None)
        if fn is not None:
            result: ParsedRuleSetLike = fn(content, source=source, clinic=clinic)
            return result
    parsed: ParsedRuleSetLike = rf.parse_rule_set(canonical_json(content), source, clinic)
    return parsed


class StoreIntegrityError(RuntimeError):
    """A stored version no longer matches its checksum: refuse to serve it."""


class RuleStore:
    """Publishes and loads immutable rule-set versions (see the module docstring)."""

    def __init__(self, engine: Engine, rebuild: Rebuilder | None = None) -> None:
        self.engine = engine
        self.clinic: Clinic | None = None  # needed to rebuild plans; set by seed_from_dir
        self._rebuild = rebuild or _default_rebuild

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # ------------------------------------------------------------------ schema

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (safe to run from every replica)."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self._locked(_MIGRATE_LOCK_KEY) as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            value = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            return str(value) if value is not None else None

    # ------------------------------------------------------------------ reads

    def is_empty(self) -> bool:
        with Session(self.engine) as session:
            return session.exec(select(RuleSetVersionRow.id).limit(1)).first() is None

    def latest_change_marker(self) -> str:
        """Changes whenever a version is published (rows are never updated or deleted)."""
        with Session(self.engine) as session:
            count, max_id = session.exec(
                select(func.count(col(RuleSetVersionRow.id)), func.max(RuleSetVersionRow.id))
            ).one()
        return f"{count}:{max_id or 0}"

    def list_versions(
        self, payer_id: str | None = None, plan_id: str | None = None
    ) -> list[RuleSetVersionPublic]:
        """Metadata of published versions (oldest publish first), optionally one payer's or
        those defining one plan. Reads no content."""
        with Session(self.engine) as session:
            metas = self._metas(session)
        return [
            RuleSetVersionPublic(
                id=m.id,
                payer_id=m.payer_id,
                payer_name=m.payer_name,
                version=m.version,
                effective_from=m.effective_from,
                effective_to=m.effective_to,
                checksum=m.checksum,
                published_at=m.published_at,
                published_by=m.published_by,
                note=m.note,
                source=m.source,
                plan_ids=[p.plan_id for p in m.plans],
            )
            for m in metas
            if (payer_id is None or m.payer_id == payer_id)
            and (plan_id is None or any(p.plan_id == plan_id for p in m.plans))
        ]

    def list_plans(self, plan_id: str | None = None) -> list[PlanVersionPublic]:
        """Every (plan, version) pair, by plan id and then effective date; reads no content."""
        query = (
            select(PlanVersionRow, RuleSetVersionRow)
            .join(
                RuleSetVersionRow, col(RuleSetVersionRow.id) == PlanVersionRow.rule_set_version_id
            )
            .options(defer(RuleSetVersionRow.content))  # type: ignore[arg-type]
            .order_by(col(PlanVersionRow.plan_id), col(PlanVersionRow.effective_from))
        )
        if plan_id is not None:
            query = query.where(PlanVersionRow.plan_id == plan_id)
        with Session(self.engine) as session:
            return [
                PlanVersionPublic(
                    plan_id=plan.plan_id,
                    plan_name=plan.plan_name,
                    effective_from=plan.effective_from,
                    effective_to=plan.effective_to,
                    payer_id=version.payer_id,
                    payer_name=version.payer_name,
                    version=version.version,
                    checksum=version.checksum,
                    published_at=version.published_at,
                )
                for plan, version in session.exec(query).all()
            ]

    def get_content(self, payer_id: str, version: str) -> dict[str, Any] | None:
        """The canonical content of one version (None when not published)."""
        with Session(self.engine) as session:
            row = session.exec(
                select(RuleSetVersionRow).where(
                    RuleSetVersionRow.payer_id == payer_id, RuleSetVersionRow.version == version
                )
            ).first()
        if row is None:
            return None
        content: dict[str, Any] = json.loads(row.content)
        return content

    def load_versions(self, clinic: Clinic | None = None) -> list[RuleSetVersion]:
        """Every published version as a domain object, rebuilt from its stored content."""
        clinic = clinic or self.clinic
        if clinic is None and self._rebuild is _default_rebuild:
            raise RuntimeError(
                "rebuilding rule versions needs the clinic profile: pass clinic=, or call "
                "seed_from_dir(rules_dir) first (it reads clinic.yaml)"
            )
        with Session(self.engine) as session:
            rows = session.exec(select(RuleSetVersionRow).order_by(col(RuleSetVersionRow.id))).all()
        return [self._to_domain(row, clinic) for row in rows]

    def _to_domain(self, row: RuleSetVersionRow, clinic: Clinic | None) -> RuleSetVersion:
        label = f"{row.payer_id} {row.version}"
        parsed = self._rebuild(json.loads(row.content), row.source, clinic)
        if parsed.checksum != row.checksum:
            raise StoreIntegrityError(
                f"stored version {label} has checksum {row.checksum} but its content now "
                f"hashes to {parsed.checksum}; published versions must never change"
            )
        if (parsed.payer_id, parsed.version) != (row.payer_id, row.version):
            raise StoreIntegrityError(
                f"stored version {label} contains {parsed.payer_id} {parsed.version}"
            )
        return parsed.to_version(row.published_at, row.published_by, row.note)

    def _metas(self, session: Session) -> list[_StoredMeta]:
        rows = session.exec(
            select(RuleSetVersionRow)
            .options(defer(RuleSetVersionRow.content))  # type: ignore[arg-type]
            .order_by(col(RuleSetVersionRow.id))
        ).all()
        plans: dict[int, list[_StoredPlan]] = {}
        for version_id, plan_id in session.exec(
            select(PlanVersionRow.rule_set_version_id, PlanVersionRow.plan_id).order_by(
                col(PlanVersionRow.id)
            )
        ).all():
            plans.setdefault(version_id, []).append(_StoredPlan(plan_id))
        out: list[_StoredMeta] = []
        for r in rows:
            assert r.id is not None
            out.append(
                _StoredMeta(
                    id=r.id,
                    payer_id=r.payer_id,
                    payer_name=r.payer_name,
                    version=r.version,
                    effective_from=r.effective_from,
                    effective_to=r.effective_to,
                    checksum=r.checksum,
                    plans=tuple(plans.get(r.id, ())),
                    published_at=r.published_at,
                    published_by=r.published_by,
                    note=r.note,
                    source=r.source,
                )
            )
        return out

    # ------------------------------------------------------------------ writes

    def check(self, parsed_list: Sequence[ParsedRuleSetLike]) -> list[Problem]:
        """Dry run: the problems publishing `parsed_list` now would raise (writes nothing)."""
        with Session(self.engine) as session:
            published: list[Any] = list(self._metas(session))
        problems: list[Problem] = []
        for parsed in parsed_list:
            if _find_same(published, parsed) is None:
                problems.extend(check_publish(parsed, published))
                published.append(parsed)
        return problems

    def publish(
        self,
        parsed: ParsedRuleSetLike,
        published_by: str,
        note: str | None = None,
        now: datetime | None = None,
    ) -> PublishResult:
        """Publish one rule set (see publish_many)."""
        return self.publish_many([parsed], published_by, note=note, now=now)[0]

    def publish_many(
        self,
        parsed_list: Sequence[ParsedRuleSetLike],
        published_by: str,
        note: str | None = None,
        now: datetime | None = None,
    ) -> list[PublishResult]:
        """Publish every rule set of the list in one transaction, or none of them.

        A rule set whose checksum is already published for its payer is not stored again: its
        result carries the existing version with created=False. Raises PublishRejectedError
        with every error (and warning) when any check fails; nothing is written then.
        """
        if not published_by.strip():
            raise ValueError("published_by must name who publishes")
        if now is not None and now.tzinfo is None:
            raise ValueError(f"publish time {now.isoformat()} has no time zone; use UTC")
        results: list[PublishResult] = []
        with self._locked(_PUBLISH_LOCK_KEY) as conn, Session(bind=conn) as session:
            # Stamped only once the lock is held, so the publication time is as close as it
            # can be to the commit: a quote saved meanwhile replays (as of its own time) with
            # exactly the versions it was priced with.
            published_at = (now or datetime.now(UTC)).astimezone(UTC)
            published: list[Any] = list(self._metas(session))
            problems: list[Problem] = []
            to_insert: list[tuple[ParsedRuleSetLike, int]] = []
            in_batch: dict[tuple[str, str], PublishResult] = {}
            for parsed in parsed_list:
                twin = in_batch.get((parsed.payer_id, parsed.checksum))
                if twin is not None:  # the same file twice in one batch
                    results.append(PublishResult(twin.version, False, ()))
                    continue
                same = _find_same(published, parsed)
                if same is not None:
                    existing = parsed.to_version(same.published_at, same.published_by, same.note)
                    # Same content, but the stored version keeps where it first came from.
                    existing = dataclasses.replace(existing, source=same.source)
                    results.append(PublishResult(existing, False, ()))
                    continue
                found = check_publish(parsed, published)
                problems.extend(found)
                warnings = tuple(p for p in found if not p.is_error) + _loader_warnings(parsed)
                version = parsed.to_version(
                    published_at, published_by, note if note is not None else parsed.note
                )
                results.append(PublishResult(version, True, warnings))
                in_batch[(parsed.payer_id, parsed.checksum)] = results[-1]
                to_insert.append((parsed, len(results) - 1))
                published.append(parsed)
            if any(p.is_error for p in problems):
                raise PublishRejectedError(problems)
            for parsed, index in to_insert:
                version = results[index].version
                row = RuleSetVersionRow(
                    payer_id=parsed.payer_id,
                    payer_name=parsed.payer_name,
                    version=parsed.version,
                    effective_from=parsed.effective_from,
                    effective_to=parsed.effective_to,
                    checksum=parsed.checksum,
                    published_at=published_at,
                    published_by=published_by,
                    note=version.note or "",
                    source=parsed.source or "",
                    content=canonical_json(parsed.content),
                )
                session.add(row)
                session.flush()
                assert row.id is not None
                for plan in parsed.plans:
                    session.add(
                        PlanVersionRow(
                            rule_set_version_id=row.id,
                            plan_id=plan.plan_id,
                            plan_name=str(getattr(plan, "plan_name", "") or ""),
                            effective_from=parsed.effective_from,
                            effective_to=parsed.effective_to,
                        )
                    )
            session.flush()
            if to_insert and self.dialect == "postgresql":
                # Delivered to listeners only when this transaction commits.
                payload = ",".join(f"{p.payer_id} {p.version}" for p, _ in to_insert)
                conn.execute(
                    sa.text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": NOTIFY_CHANNEL, "payload": payload[:7000]},
                )
        for parsed, _ in to_insert:
            log.info("published %s %s by %s", parsed.payer_id, parsed.version, published_by)
        return results

    def seed_from_dir(self, rules_dir: Path | str, published_by: str = "sample-data") -> int:
        """On first start, publish every rule file of `rules_dir` (all or nothing).

        Remembers the clinic profile either way, since rebuilding versions needs it. Returns
        how many versions were published (0 when the store already had versions).
        """
        from service import rulefiles

        rf: Any = rulefiles  # typed loosely: the loader lands separately
        clinic, parsed_list = rf.load_rules_dir(Path(rules_dir))
        self.clinic = clinic
        if not self.is_empty():
            return 0
        ordered = sorted(parsed_list, key=lambda p: (p.payer_id, p.effective_from, p.version))
        results = self.publish_many(ordered, published_by, note=None)
        return sum(1 for r in results if r.created)

    # ------------------------------------------------------------------ saved quotes

    def save_quote(
        self,
        *,
        request: Mapping[str, Any],
        response: Mapping[str, Any],
        plan_id: str,
        payer_id: str | None = None,
        version: str | None = None,
        checksum: str | None = None,
        now: datetime | None = None,
    ) -> SavedQuotePublic:
        """Keep an estimate a client asked to save (request and answer as JSON, plus the rule
        version that answered, so a replay can pin that version); returns it with its id."""
        if now is not None and now.tzinfo is None:
            raise ValueError(f"save time {now.isoformat()} has no time zone; use UTC")
        row = SavedQuoteRow(
            id=str(uuid.uuid4()),
            created_at=(now or datetime.now(UTC)).astimezone(UTC),
            request=canonical_json(request),
            response=canonical_json(response),
            plan_id=plan_id,
            payer_id=payer_id,
            version=version,
            checksum=checksum,
        )
        with Session(self.engine) as session:
            session.add(row)
            session.commit()
            session.refresh(row)
            return SavedQuotePublic.model_validate(row)

    def get_quote(self, quote_id: str) -> SavedQuotePublic | None:
        """A saved quote by id (None when there is none)."""
        with Session(self.engine) as session:
            row = session.get(SavedQuoteRow, quote_id)
            return None if row is None else SavedQuotePublic.model_validate(row)

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def _locked(self, key: int) -> Iterator[Connection]:
        """A transaction holding the store-wide lock `key` until it commits or rolls back."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(**{_IMMEDIATE: True})
            with conn.begin():
                if self.dialect == "postgresql":
                    # A stuck publisher must not hang every other one forever.
                    conn.execute(sa.text("SET LOCAL lock_timeout = '60s'"))
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
                yield conn


def _find_same(published: Sequence[Any], parsed: ParsedRuleSetLike) -> Any | None:
    for p in published:
        if p.payer_id == parsed.payer_id and p.checksum == parsed.checksum:
            return p
    return None


def _loader_warnings(parsed: ParsedRuleSetLike) -> tuple[Problem, ...]:
    label = f"{parsed.payer_id} {parsed.version}"
    out: list[Problem] = []
    for w in getattr(parsed, "warnings", ()) or ():
        if isinstance(w, Problem):
            out.append(w)
        else:
            field = str(getattr(w, "field", "") or getattr(w, "path", "") or "")
            message = str(getattr(w, "message", "") or w)
            source = str(getattr(w, "source", "") or label)
            out.append(Problem(source, field, message, WARNING))
    return tuple(out)


def _sqlite_setup(engine: Engine) -> None:
    """Let SQLite take the write lock at BEGIN for publishes (BEGIN IMMEDIATE), wait for a
    busy database instead of failing, and let readers run beside a writer (WAL)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_store(database_url: str, rebuild: Rebuilder | None = None) -> RuleStore:
    """A store on `database_url` (sqlite:///path or postgresql+psycopg://...). Creates the
    folder of a SQLite file; does not touch the schema (call migrate())."""
    url = sa.make_url(database_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})
        _sqlite_setup(engine)
    else:
        engine = sa.create_engine(url, pool_pre_ping=True)
    return RuleStore(engine, rebuild)
