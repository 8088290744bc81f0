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

import hashlib
import json
import logging
import pickle
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
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import defer
from sqlmodel import Session, col, func, select

from service import rulefiles
from service.domain.model import Clinic, RuleSetVersion
from service.domain.problems import Problem
from service.domain.versions import PublishRejectedError, check_publish_batch, version_label
from service.rulefiles import ParsedRuleSet, canonical_json
from service.storage import builds
from service.storage.clinic_store import ClinicVersions
from service.storage.tables import (
    PlanVersionRow,
    RuleSetVersionBuildRow,
    RuleSetVersionRow,
    RuleSetWithdrawalRow,
    SavedQuoteRow,
)
from service.usecases.errors import StoreUnavailableError
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


_UNREACHABLE = (
    sa.exc.OperationalError,  # refused, reset, server shutting down, SQLite locked too long
    sa.exc.InterfaceError,
    sa.exc.DisconnectionError,
    sa.exc.TimeoutError,  # no pooled connection in time
)


@contextmanager
def reaching_store() -> Iterator[None]:
    """Turn "the database cannot be reached" into StoreUnavailableError (gRPC UNAVAILABLE)
    and let every other error (a bug, a constraint) through as it is."""
    try:
        yield
    except _UNREACHABLE as exc:
        raise StoreUnavailableError() from exc
    except sa.exc.DBAPIError as exc:
        if exc.connection_invalidated:
            raise StoreUnavailableError() from exc
        raise


class StoreIntegrityError(RuntimeError):
    """A stored version no longer matches its checksum: refuse to serve it."""


class RuleStore(ClinicVersions):
    """Publishes and loads immutable rule-set versions (see the module docstring); implements
    the RuleStore, QuoteStore and ClinicStore Protocols of service.usecases.ports."""

    _PUBLISH_KEY = _PUBLISH_LOCK_KEY

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.clinic: Clinic | None = None  # needed to rebuild plans; set by seed_from_dir
        # Versions this process already built (or published), by build key (version, digest of
        # the stored text, clinic, code: service.storage.builds), for the clinic they were
        # built for: a reload after a publish rebuilds only the new versions, and a row whose
        # text changed since is rebuilt, and refused.
        self._built: dict[str, builds.Built] = {}
        self._versions: dict[tuple[Any, ...], RuleSetVersion] = {}
        self._built_for: Clinic | None = None
        self.use_builds = True  # read and write stored builds (tests turn it off to compare)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # ------------------------------------------------------------------ schema

    @reaching_store()
    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (safe to run from every replica)."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self._locked(_MIGRATE_LOCK_KEY) as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    @reaching_store()
    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            value = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            return str(value) if value is not None else None

    # ------------------------------------------------------------------ reads

    @reaching_store()
    def is_empty(self) -> bool:
        with Session(self.engine) as session:
            return session.exec(select(RuleSetVersionRow.id).limit(1)).first() is None

    @reaching_store()
    def latest_change_marker(self) -> str:
        """Changes whenever a rule-set or clinic version is published (rows are never updated
        or deleted)."""
        with Session(self.engine) as session:
            count, max_id = session.exec(
                select(func.count(col(RuleSetVersionRow.id)), func.max(RuleSetVersionRow.id))
            ).one()
            withdrawn = session.exec(select(func.count(col(RuleSetWithdrawalRow.id)))).one()
        clinics = self.clinic_change_marker()
        return (
            f"{count}:{max_id or 0}"
            + (f":w{withdrawn}" if withdrawn else "")
            + ("" if clinics == "0:0" else f"/{clinics}")
        )

    @reaching_store()
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

    @reaching_store()
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

    @reaching_store()
    def load_versions(self, clinic: Clinic | None = None) -> list[RuleSetVersion]:
        """Every published version as a domain object: from this process's memory, else from
        its stored build (service.storage.builds), else rebuilt from its stored content
        through every check (and that build stored for the next start)."""
        clinic = clinic or self.clinic
        if clinic is None:
            raise RuntimeError(
                "rebuilding rule versions needs the clinic profile: pass clinic=, or call "
                "seed_from_dir(rules_dir) first (it reads clinic.yaml)"
            )
        if clinic != self._built_for:
            self._built, self._versions, self._built_for = {}, {}, clinic
        with Session(self.engine) as session:
            rows = session.exec(select(RuleSetVersionRow).order_by(col(RuleSetVersionRow.id))).all()
            keys = [_build_key(row, row.content, clinic) for row in rows]
            wanted = [k for k in keys if k not in self._built] if self.use_builds else []
            stored = _stored_builds(session, wanted)
            withdrawals = _withdrawals(session)
        fresh: list[dict[str, Any]] = []
        out = []
        for row, key in zip(rows, keys, strict=True):
            built = self._built.get(key)
            if built is None:
                built = _readable(stored.get(key), row)
                if built is None:
                    built = _built_of(self._rebuild(row, clinic))
                    if self.use_builds:
                        payload = builds.dump_built(built)
                        fresh.append(
                            {"rule_set_version_id": row.id, "build_key": key, "payload": payload}
                        )
                self._built[key] = built
            # The same version object for an unchanged row, so the index keeps its plans.
            published = (key, row.id, row.published_at, row.published_by, row.note, row.source)
            version = self._versions.get(published)
            if version is None:
                version = self._versions[published] = _version(row, built)
            if row.id in withdrawals:  # not cached: a withdrawal comes later than the build
                version = replace(version, withdrawn_at=withdrawals[row.id].withdrawn_at)
            out.append(version)
        if fresh:
            self._save_builds(fresh)
        return out

    def _save_builds(self, values: list[dict[str, Any]]) -> None:
        """Store builds a start made, for the next start; a cache, so a failure only logs."""
        try:
            with self.engine.begin() as conn:
                _insert_builds(conn, self.dialect, values)
        except sa.exc.SQLAlchemyError as exc:
            log.warning("could not store %d built versions: %s", len(values), exc)

    def _remember(self, parsed: ParsedRuleSet, content: str) -> dict[str, Any] | None:
        """Keep a version this process has just published, built from the same checked file;
        returns its build row for the publish transaction to store."""
        clinic = self.clinic
        if clinic is None or self._built_for not in (None, clinic):
            return None
        self._built_for = clinic
        key = _build_key(parsed, content, clinic)
        built = _built_of(parsed)
        self._built[key] = built
        return {"build_key": key, "payload": builds.dump_built(built)}

    def _rebuild(self, row: RuleSetVersionRow, clinic: Clinic) -> ParsedRuleSet:
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
        return parsed

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

    @reaching_store()
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

    @reaching_store()
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
            built = []
            for parsed, version in new:
                row_id, text = _insert(session, parsed, version)
                build = self._remember(parsed, text) if self.use_builds else None
                if build is not None:
                    built.append({"rule_set_version_id": row_id, **build})
            if built:  # the next start reads these instead of re-running the checks
                _insert_builds(conn, self.dialect, built)
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
        how many versions were published (0 when the store already had versions; then only
        clinic.yaml is read, so a restart costs no rule-file parsing however many there are).
        Replicas starting together on an empty store all parse the files; the publish lock and
        the checksums make the sample data land once.
        """
        if not self.is_empty():
            # Seeded already (by this store's first start or another replica): the rule files
            # are not read again, only the clinic profile, which every start takes from them.
            self.clinic = rulefiles.load_clinic_of_dir(Path(rules_dir))
            return 0
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

    @reaching_store()
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
            clinic_id=quote.clinic_id,
            clinic_version=quote.clinic_version,
            clinic_checksum=quote.clinic_checksum,
        )
        with Session(self.engine) as session:
            session.add(row)
            session.commit()
            session.refresh(row)
            return _saved_quote(row)

    @reaching_store()
    def get_quote(self, quote_id: str) -> SavedQuote | None:
        """A saved quote by id (None when there is none)."""
        with Session(self.engine) as session:
            row = session.get(SavedQuoteRow, quote_id)
            return None if row is None else _saved_quote(row)

    def list_quotes(
        self,
        plan_ids: Sequence[str],
        saved_from: datetime,
        saved_before: datetime | None = None,
        limit: int = 10_000,
    ) -> list[SavedQuote]:
        """The quotes of these plans saved in [saved_from, saved_before), oldest first."""
        query = select(SavedQuoteRow).where(
            col(SavedQuoteRow.plan_id).in_(list(plan_ids)),
            col(SavedQuoteRow.created_at) >= saved_from.astimezone(UTC),
        )
        if saved_before is not None:
            query = query.where(col(SavedQuoteRow.created_at) < saved_before.astimezone(UTC))
        query = query.order_by(col(SavedQuoteRow.created_at), col(SavedQuoteRow.id)).limit(limit)
        with Session(self.engine) as session:
            return [_saved_quote(row) for row in session.exec(query)]

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


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def _withdrawals(session: Session) -> dict[int, RuleSetWithdrawalRow]:
    rows = session.exec(select(RuleSetWithdrawalRow)).all()
    return {r.rule_set_version_id: r for r in rows}


def _insert(session: Session, parsed: ParsedRuleSet, version: RuleSetVersion) -> tuple[int, str]:
    """Write one new version: its metadata and canonical content, and a row per plan.
    Returns its id and the content text as stored."""
    content = canonical_json(parsed.content)
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
        content=content,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    if parsed.plans:  # one executemany, not an ORM object and an INSERT per plan
        session.execute(
            sa.insert(PlanVersionRow),
            [
                {
                    "rule_set_version_id": row.id,
                    "plan_id": plan.plan_id,
                    "plan_name": plan.plan_name,
                    "effective_from": parsed.effective_from,
                    "effective_to": parsed.effective_to,
                }
                for plan in parsed.plans
            ],
        )
    return row.id, content


def _build_key(v: RuleSetVersionRow | ParsedRuleSet, content: str, clinic: Clinic) -> str:
    return builds.build_key(v.payer_id, v.version, v.checksum, _digest(content), clinic)


def _built_of(parsed: ParsedRuleSet) -> builds.Built:
    return builds.Built(parsed.payer_name, parsed.effective_from, parsed.effective_to, parsed.plans)


def _version(row: RuleSetVersionRow, built: builds.Built) -> RuleSetVersion:
    """The domain version of a row: as ParsedRuleSet.to_version makes it, from the content's
    own values (built) and the row's publication."""
    return RuleSetVersion(
        payer_id=row.payer_id,
        payer_name=built.payer_name,
        version=row.version,
        effective_from=built.effective_from,
        effective_to=built.effective_to,
        plans=built.plans,
        checksum=row.checksum,
        published_at=row.published_at,
        published_by=row.published_by,
        note=row.note,
        source=row.source,
    )


def _readable(payload: bytes | None, row: RuleSetVersionRow) -> builds.Built | None:
    """A stored build, or None to rebuild (none stored, or one that is not plain plans)."""
    if payload is None:
        return None
    try:
        return builds.load_built(payload)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        log.warning("ignoring the stored build of %s: %s", version_label(row), exc)
        return None


def _stored_builds(session: Session, keys: Sequence[str]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for start in range(0, len(keys), 500):  # one query per 500 keys
        part = keys[start : start + 500]
        out.update(
            session.exec(
                select(RuleSetVersionBuildRow.build_key, RuleSetVersionBuildRow.payload).where(
                    col(RuleSetVersionBuildRow.build_key).in_(part)
                )
            ).all()
        )
    return out


def _insert_builds(conn: Connection, dialect: str, values: list[dict[str, Any]]) -> None:
    """Insert build rows; one another replica stored meanwhile is kept, not an error."""
    table = RuleSetVersionBuildRow.__table__  # type: ignore[attr-defined]
    insert = (
        postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    ).on_conflict_do_nothing()
    conn.execute(insert, values)


def _saved_quote(row: SavedQuoteRow) -> SavedQuote:
    quote = NewQuote(
        request=json.loads(row.request),
        response=json.loads(row.response),
        plan_id=row.plan_id,
        payer_id=row.payer_id,
        version=row.version,
        checksum=row.checksum,
        clinic_id=row.clinic_id,
        clinic_version=row.clinic_version,
        clinic_checksum=row.clinic_checksum,
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
    folder of a SQLite file; does not touch the schema (call migrate()).

    hide_parameters: a failed statement's error text must never carry its parameters (a saved
    quote's diagnosis codes and date of service would land in the ERROR log)."""
    url = sa.make_url(database_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        _sqlite_setup(engine)
    else:
        # pool_pre_ping: after an outage the pool replaces dead connections instead of
        # failing the first call on each; connect_timeout: a partitioned server fails a call
        # in seconds instead of hanging it.
        engine = sa.create_engine(
            url, pool_pre_ping=True, hide_parameters=True, connect_args={"connect_timeout": 5}
        )
    return RuleStore(engine)
