"""Clinic profile versions in the store: published once, never changed, rebuilt with their
checksum verified (like rule-set versions; see store.py for the locking)."""

from __future__ import annotations

import json
import logging
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlmodel import Session, col, func, select

from service.domain.clinics import ClinicVersion, ClinicVersionMeta, check_clinic_publish
from service.domain.model import Clinic
from service.domain.versions import PublishRejectedError
from service.rulefiles import canonical_json
from service.rulefiles.clinics import (
    CLINICS_DIR_NAME,
    ParsedClinicProfile,
    load_clinic_profiles_dir,
    parse_clinic_profile_content,
    profile_from_clinic,
)
from service.storage.tables import ClinicProfileVersionRow
from service.usecases.ports import ClinicPublishResult

log = logging.getLogger(__name__)


class ClinicIntegrityError(RuntimeError):
    """A stored clinic version no longer matches its checksum: refuse to serve it."""


class ClinicVersions:
    """The clinic half of the store (RuleStore mixes it in)."""

    engine: Engine
    _PUBLISH_KEY: int

    def _locked(self, key: int) -> AbstractContextManager[Connection]:  # pragma: no cover
        raise NotImplementedError

    # ------------------------------------------------------------------ reads

    def clinic_change_marker(self) -> str:
        with Session(self.engine) as session:
            row_id = col(ClinicProfileVersionRow.id)
            count, max_id = session.exec(select(func.count(row_id), func.max(row_id))).one()
        return f"{count}:{max_id or 0}"

    def list_clinic_versions(self) -> list[ClinicVersionMeta]:
        with Session(self.engine) as session:
            return [_meta(r) for r in self._clinic_rows(session)]

    def get_clinic_content(self, clinic_id: str, version: str) -> dict[str, Any] | None:
        with Session(self.engine) as session:
            row = session.exec(
                select(ClinicProfileVersionRow).where(
                    ClinicProfileVersionRow.clinic_id == clinic_id,
                    ClinicProfileVersionRow.version == version,
                )
            ).first()
        if row is None:
            return None
        content: dict[str, Any] = json.loads(row.content)
        return content

    def load_clinic_versions(self, catalogue: Clinic) -> list[ClinicVersion]:
        with Session(self.engine) as session:
            rows = self._clinic_rows(session)
        return [_to_domain(row, catalogue) for row in rows]

    @staticmethod
    def _clinic_rows(session: Session) -> list[ClinicProfileVersionRow]:
        return list(
            session.exec(
                select(ClinicProfileVersionRow).order_by(col(ClinicProfileVersionRow.id))
            ).all()
        )

    # ------------------------------------------------------------------ writes

    def publish_clinic(
        self,
        parsed: ParsedClinicProfile,
        published_by: str,
        note: str | None = None,
        now: datetime | None = None,
    ) -> ClinicPublishResult:
        """Publish one clinic version in one locked transaction, or refuse and write nothing;
        the same content again returns the version already published (created=False)."""
        if not published_by.strip():
            raise ValueError("published_by must name who publishes")
        if now is not None and now.tzinfo is None:
            raise ValueError(f"publish time {now.isoformat()} has no time zone; use UTC")
        with self._locked(self._PUBLISH_KEY) as conn, Session(bind=conn) as session:
            published_at = (now or datetime.now(UTC)).astimezone(UTC)
            metas = [_meta(r) for r in self._clinic_rows(session)]
            existing, problems = check_clinic_publish(
                parsed.clinic_id, parsed.version, parsed.checksum, metas
            )
            if existing is not None:
                return ClinicPublishResult(existing, False, parsed.warnings)
            if problems:
                raise PublishRejectedError(problems + list(parsed.warnings))
            row = ClinicProfileVersionRow(
                clinic_id=parsed.clinic_id,
                clinic_name=parsed.clinic_name,
                version=parsed.version,
                effective_from=parsed.effective_from,
                effective_to=parsed.effective_to,
                checksum=parsed.checksum,
                published_at=published_at,
                published_by=published_by,
                note=parsed.note if note is None else note,
                source=parsed.source,
                content=canonical_json(parsed.content),
            )
            session.add(row)
            session.flush()
            meta = _meta(row)
            if self.engine.dialect.name == "postgresql":
                conn.execute(
                    sa.text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": "rule_set_published", "payload": "clinic " + meta.label()},
                )
        log.info("published clinic %s by %s", meta.label(), published_by)
        return ClinicPublishResult(meta, True, parsed.warnings)

    def seed_clinics_from_dir(
        self, rules_dir: Path, catalogue: Clinic, published_by: str = "sample-data"
    ) -> int:
        """Move the clinic profile into an empty clinic table: the rules folder's clinics/
        files, or else clinic.yaml as a one-location profile. Returns how many versions it
        published (0 when the table already had versions)."""
        with Session(self.engine) as session:
            if session.exec(select(ClinicProfileVersionRow.id).limit(1)).first() is not None:
                return 0
        parsed_list = load_clinic_profiles_dir(Path(rules_dir) / CLINICS_DIR_NAME, catalogue)
        if not parsed_list:
            parsed_list = [profile_from_clinic(catalogue)]
        created = 0
        for parsed in parsed_list:
            created += self.publish_clinic(parsed, published_by).created
        return created


def _meta(row: ClinicProfileVersionRow) -> ClinicVersionMeta:
    content = json.loads(row.content) if row.content else {}
    return ClinicVersionMeta(
        clinic_id=row.clinic_id,
        clinic_name=row.clinic_name,
        version=row.version,
        effective_from=row.effective_from,
        effective_to=row.effective_to,
        checksum=row.checksum,
        published_at=row.published_at,
        published_by=row.published_by,
        note=row.note,
        source=row.source,
        location_ids=tuple(loc["id"] for loc in content.get("locations", ())),
    )


def _to_domain(row: ClinicProfileVersionRow, catalogue: Clinic) -> ClinicVersion:
    parsed = parse_clinic_profile_content(json.loads(row.content), row.source, catalogue)
    if parsed.checksum != row.checksum:
        raise ClinicIntegrityError(
            f"stored clinic version {row.clinic_id} {row.version} has checksum {row.checksum} "
            f"but its content now hashes to {parsed.checksum}; published versions must never "
            "change"
        )
    return parsed.to_version(row.published_at, row.published_by, row.note)


__all__ = ["ClinicIntegrityError", "ClinicVersions"]
