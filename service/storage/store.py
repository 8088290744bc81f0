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

import json
import logging
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import defer
from sqlmodel import Session, col, func, select

from service import rulefiles
from service.domain.model import Clinic, RuleSetVersion
from service.domain.problems import Problem
from service.domain.versions import PublishRejectedError, check_publish_batch, version_label
from service.rulefiles import ParsedRuleSet, canonical_json
from service.storage.tables import (
    PlanVersionRow,
    RuleSetVersionRow,
    RuleSetWithdrawalRow,
    SavedQuoteRow,
)
from service.usecases.ports import (
    NewQuote,
    PublishedVersion,
    PublishResult,
    SavedQuote,
    WithdrawResult,
)
from service.usecases.publishing import plan_publish

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


class StoreIntegrityError(RuntimeError):
    """A stored version no longer matches its checksum: refuse to serve it."""


class RuleStore:
    """Publishes and loads immutable rule-set versions (see the module docstring); implements
    the RuleStore and QuoteStore Protocols of service.usecases.ports."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.clinic: Clinic | None = None  # needed to rebuild plans; set by seed_from_dir

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
            withdrawn = session.exec(select(func.count(col(RuleSetWithdrawalRow.id)))).one()
        return f"{count}:{max_id or 0}" + (f":w{withdrawn}" if withdrawn else "")

    def list_versions(
        self, payer_id: str | None = None, plan_id: str | None = None
    ) -> list[PublishedVersion]:
        """Metadata of published versions (oldest publish first), optionally one payer's or
        those defining one plan. Reads no content."""
        with Session(self.engine) as session:
            metas = self._metas(session)
        return [
            m
            for m in metas
            if (payer_id is None or m.payer_id == payer_id)
            and (plan_id is None or plan_id in m.plan_ids)
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
        if clinic is None:
            raise RuntimeError(
                "rebuilding rule versions needs the clinic profile: pass clinic=, or call "
                "seed_from_dir(rules_dir) first (it reads clinic.yaml)"
            )
        with Session(self.engine) as session:
            rows = session.exec(select(RuleSetVersionRow).order_by(col(RuleSetVersionRow.id))).all()
            withdrawals = _withdrawals(session)
        return [
            replace(
                self._to_domain(row, clinic),
                withdrawn_at=withdrawals[row.id].withdrawn_at if row.id in withdrawals else None,
            )
            for row in rows
        ]

    def _to_domain(self, row: RuleSetVersionRow, clinic: Clinic) -> RuleSetVersion:
        """Rebuild a version through the rule-file checks; its checksum must not have moved."""
        label = version_label(row)
        parsed = rulefiles.parse_rule_set_content(json.loads(row.content), row.source, clinic)
        if parsed.checksum != row.checksum:
            raise StoreIntegrityError(
                f"stored version {label} has checksum {row.checksum} but its content now "
                f"hashes to {parsed.checksum}; published versions must never change"
            )
        if (parsed.payer_id, parsed.version) != (row.payer_id, row.version):
            raise StoreIntegrityError(f"stored version {label} contains {version_label(parsed)}")
        return parsed.to_version(row.published_at, row.published_by, row.note)

    def _metas(self, session: Session) -> list[PublishedVersion]:
        rows = session.exec(
            select(RuleSetVersionRow)
            .options(defer(RuleSetVersionRow.content))  # type: ignore[arg-type]
            .order_by(col(RuleSetVersionRow.id))
        ).all()
        plans: dict[int | None, list[str]] = {}
        for version_id, plan_id in session.exec(
            select(PlanVersionRow.rule_set_version_id, PlanVersionRow.plan_id).order_by(
                col(PlanVersionRow.id)
            )
        ).all():
            plans.setdefault(version_id, []).append(plan_id)
        withdrawals = _withdrawals(session)
        out = []
        for r in rows:
            meta = PublishedVersion.of(r, plans.get(r.id, ()))
            gone = withdrawals.get(r.id) if r.id is not None else None
            if gone is not None:
                meta = replace(meta, withdrawn_at=gone.withdrawn_at, withdrawn_reason=gone.reason)
            out.append(meta)
        return out

    def _active_metas(
        self, session: Session, parsed_list: Sequence[ParsedRuleSet]
    ) -> list[PublishedVersion]:
        """The versions a publish is checked against: withdrawn ones no longer count. A file
        identical to a withdrawn version is refused (its checksum stays taken)."""
        metas = self._metas(session)
        taken = {(m.payer_id, m.checksum): m for m in metas if m.withdrawn_at is not None}
        problems = [
            Problem(
                p.source,
                "version",
                f"is identical to the withdrawn version {version_label(taken[key])}; "
                "publish a corrected file under a new version label",
            )
            for p in parsed_list
            if (key := (p.payer_id, p.checksum)) in taken
        ]
        if problems:
            raise PublishRejectedError(problems)
        return [m for m in metas if m.withdrawn_at is None]

    # ------------------------------------------------------------------ writes

    def check(self, parsed_list: Sequence[ParsedRuleSet]) -> list[Problem]:
        """Dry run: the problems publishing `parsed_list` now would raise (writes nothing)."""
        with Session(self.engine) as session:
            try:
                active = self._active_metas(session, parsed_list)
            except PublishRejectedError as exc:
                return list(exc.problems)
            return check_publish_batch(parsed_list, active)

    def publish(
        self,
        parsed: ParsedRuleSet,
        published_by: str,
        note: str | None = None,
        now: datetime | None = None,
    ) -> PublishResult:
        """Publish one rule set (see publish_many)."""
        return self.publish_many([parsed], published_by, note=note, now=now)[0]

    def publish_many(
        self,
        parsed_list: Sequence[ParsedRuleSet],
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
        with self._locked(_PUBLISH_LOCK_KEY) as conn, Session(bind=conn) as session:
            # Stamped only once the lock is held, so the publication time is as close as it
            # can be to the commit: a quote saved meanwhile replays (as of its own time) with
            # exactly the versions it was priced with.
            published_at = (now or datetime.now(UTC)).astimezone(UTC)
            active = self._active_metas(session, parsed_list)
            plan = plan_publish(parsed_list, active, published_at, published_by, note)
            if plan.rejected:
                raise PublishRejectedError(plan.problems)
            new = [(parsed_list[i], plan.results[i].version) for i in plan.new]
            for parsed, version in new:
                _insert(session, parsed, version)
            session.flush()
            if new and self.dialect == "postgresql":
                # Delivered to listeners only when this transaction commits.
                payload = ",".join(version_label(p) for p, _ in new)
                conn.execute(
                    sa.text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": NOTIFY_CHANNEL, "payload": payload[:7000]},
                )
        for parsed, _ in new:
            log.info("published %s by %s", version_label(parsed), published_by)
        return plan.results

    def withdraw(
        self,
        payer_id: str,
        version: str,
        withdrawn_by: str,
        reason: str,
        replacement: ParsedRuleSet | None = None,
        now: datetime | None = None,
    ) -> WithdrawResult | None:
        """Withdraw one version and publish its replacement (if any) in ONE transaction under
        the publish lock: both happen or neither. A second withdrawal changes nothing."""
        with self._locked(_PUBLISH_LOCK_KEY) as conn, Session(bind=conn) as session:
            row = session.exec(
                select(RuleSetVersionRow).where(
                    RuleSetVersionRow.payer_id == payer_id, RuleSetVersionRow.version == version
                )
            ).first()
            if row is None or row.id is None:
                return None
            if row.id in _withdrawals(session):
                (meta,) = [m for m in self._metas(session) if m.version == version
                           and m.payer_id == payer_id]  # fmt: skip
                return WithdrawResult(meta, None, already_withdrawn=True)
            at = (now or datetime.now(UTC)).astimezone(UTC)
            session.add(
                RuleSetWithdrawalRow(
                    rule_set_version_id=row.id,
                    withdrawn_at=at,
                    withdrawn_by=withdrawn_by,
                    reason=reason,
                )
            )
            session.flush()
            result: PublishResult | None = None
            if replacement is not None:
                active = self._active_metas(session, [replacement])
                plan = plan_publish([replacement], active, at, withdrawn_by, None)
                if plan.rejected:
                    raise PublishRejectedError(plan.problems)  # rolls the withdrawal back too
                result = plan.results[0]
                if plan.new:
                    _insert(session, replacement, result.version)
                    session.flush()
            (meta,) = [m for m in self._metas(session) if m.version == version
                       and m.payer_id == payer_id]  # fmt: skip
            if self.dialect == "postgresql":
                conn.execute(
                    sa.text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": NOTIFY_CHANNEL, "payload": f"withdrawn {payer_id} {version}"},
                )
        log.info("withdrew %s %s by %s", payer_id, version, withdrawn_by)
        return WithdrawResult(meta, result)

    def seed_from_dir(self, rules_dir: Path | str, published_by: str = "sample-data") -> int:
        """On first start, publish every rule file of `rules_dir` (all or nothing).

        Remembers the clinic profile either way, since rebuilding versions needs it. Returns
        how many versions were published (0 when the store already had versions).
        """
        clinic, parsed_list = rulefiles.load_rules_dir(Path(rules_dir))
        self.clinic = clinic
        if not self.is_empty():
            return 0
        root = Path(rules_dir).resolve()
        ordered = sorted(
            (replace(p, source=_relative_source(p.source, root)) for p in parsed_list),
            key=lambda p: (p.payer_id, p.effective_from, p.version),
        )
        results = self.publish_many(ordered, published_by, note=None)
        return sum(1 for r in results if r.created)

    # ------------------------------------------------------------------ saved quotes

    def save_quote(self, quote: NewQuote, now: datetime | None = None) -> SavedQuote:
        """Keep an estimate a client asked to save, with the rule version that answered (so a
        replay can pin that version); returns it with its id."""
        if now is not None and now.tzinfo is None:
            raise ValueError(f"save time {now.isoformat()} has no time zone; use UTC")
        row = SavedQuoteRow(
            id=str(uuid.uuid4()),
            created_at=(now or datetime.now(UTC)).astimezone(UTC),
            request=canonical_json(quote.request),
            response=canonical_json(quote.response),
            plan_id=quote.plan_id,
            payer_id=quote.payer_id,
            version=quote.version,
            checksum=quote.checksum,
        )
        with Session(self.engine) as session:
            session.add(row)
            session.commit()
            session.refresh(row)
            return _saved_quote(row)

    def get_quote(self, quote_id: str) -> SavedQuote | None:
        """A saved quote by id (None when there is none)."""
        with Session(self.engine) as session:
            row = session.get(SavedQuoteRow, quote_id)
            return None if row is None else _saved_quote(row)

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


def _withdrawals(session: Session) -> dict[int, RuleSetWithdrawalRow]:
    rows = session.exec(select(RuleSetWithdrawalRow)).all()
    return {r.rule_set_version_id: r for r in rows}


def _insert(session: Session, parsed: ParsedRuleSet, version: RuleSetVersion) -> None:
    """Write one new version: its metadata and canonical content, and a row per plan."""
    row = RuleSetVersionRow(
        payer_id=parsed.payer_id,
        payer_name=parsed.payer_name,
        version=parsed.version,
        effective_from=parsed.effective_from,
        effective_to=parsed.effective_to,
        checksum=parsed.checksum,
        published_at=version.published_at,
        published_by=version.published_by,
        note=version.note,
        source=parsed.source,
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
                plan_name=plan.plan_name,
                effective_from=parsed.effective_from,
                effective_to=parsed.effective_to,
            )
        )


def _saved_quote(row: SavedQuoteRow) -> SavedQuote:
    quote = NewQuote(
        request=json.loads(row.request),
        response=json.loads(row.response),
        plan_id=row.plan_id,
        payer_id=row.payer_id,
        version=row.version,
        checksum=row.checksum,
    )
    return SavedQuote(row.id, row.created_at, quote)


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


def _relative_source(source: str, root: Path) -> str:
    """A seeded file's name under the rules folder (acme-health/2026.yaml): rule-set answers
    name the file, never a server path."""
    try:
        return Path(source).resolve().relative_to(root).as_posix()
    except ValueError:
        return Path(source).name


def create_store(database_url: str) -> RuleStore:
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
    return RuleStore(engine)
