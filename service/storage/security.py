"""API keys and the audit log in the rule store's database (tables api_key and audit_log).

Keys are created and revoked, never deleted; audit rows are only ever inserted (nothing here
updates or deletes one), so the log is append-only for everything that goes through the
service.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from service.storage.store import reaching_store
from service.storage.tables import ApiKeyRow, AuditRow
from service.usecases.identities import ApiKey, AuditRecord, Role, new_token


class UnknownKeyError(LookupError):
    """No API key has this id."""


class SecurityStore:
    """API keys and audit records on the store's engine (implements KeyStore and AuditLog)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # ------------------------------------------------------------------ API keys

    def create_key(
        self,
        name: str,
        role: Role,
        payer_ids: Sequence[str] = (),
        expires_in: timedelta | None = None,
        now: datetime | None = None,
    ) -> tuple[ApiKey, str]:
        """A new key and its token (the only time the token exists outside the caller)."""
        now = now or datetime.now(UTC)
        made = new_token()
        row = ApiKeyRow(
            id=made.key_id,
            name=name,
            role=role.value,
            payer_ids=" ".join(payer_ids),
            token_hash=made.token_hash,
            created_at=now,
            expires_at=now + expires_in if expires_in is not None else None,
        )
        with Session(self.engine) as session:
            session.add(row)
            session.commit()
            session.refresh(row)
            return _key(row), made.token

    def keys(self) -> list[ApiKey]:
        """Every key ever made, revoked and expired ones included (oldest first)."""
        with Session(self.engine) as session:
            rows = session.exec(select(ApiKeyRow).order_by(col(ApiKeyRow.created_at))).all()
            return [_key(r) for r in rows]

    def revoke_key(self, key_id: str, now: datetime | None = None) -> ApiKey:
        """Mark a key revoked (idempotent: a second revoke keeps the first time)."""
        with Session(self.engine) as session:
            row = session.get(ApiKeyRow, key_id)
            if row is None:
                raise UnknownKeyError(key_id)
            if row.revoked_at is None:
                row.revoked_at = now or datetime.now(UTC)
                session.add(row)
                session.commit()
                session.refresh(row)
            return _key(row)

    # ------------------------------------------------------------------ audit

    def append_audit(self, record: AuditRecord) -> None:
        """Append one record; an unreachable database is StoreUnavailableError."""
        with reaching_store(), Session(self.engine) as session:
            session.add(
                AuditRow(
                    at=record.at,
                    identity_id=record.identity_id[:200],
                    identity_name=record.identity_name[:200],
                    action=record.action[:100],
                    outcome=record.outcome[:40],
                    payer_id=record.payer_id[:100],
                    version=record.version[:100],
                    checksum=record.checksum[:100],
                    detail=record.detail,
                )
            )
            session.commit()

    def audit(
        self,
        *,
        identity: str | None = None,
        action: str | None = None,
        payer_id: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[AuditRecord]:
        """The newest audit records first, filtered by identity (id or name), action, payer
        and time."""
        query = select(AuditRow)
        if identity:
            query = query.where(
                (col(AuditRow.identity_id) == identity) | (col(AuditRow.identity_name) == identity)
            )
        if action:
            query = query.where(col(AuditRow.action) == action)
        if payer_id:
            query = query.where(col(AuditRow.payer_id) == payer_id)
        if since is not None:
            query = query.where(col(AuditRow.at) >= since)
        query = query.order_by(col(AuditRow.id).desc()).limit(limit)
        with Session(self.engine) as session:
            return [_record(r) for r in session.exec(query).all()]


def _key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        key_id=row.id,
        name=row.name,
        role=Role(row.role),
        payer_ids=tuple(row.payer_ids.split()),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        token_hash=row.token_hash,
    )


def _record(row: AuditRow) -> AuditRecord:
    return AuditRecord(
        at=row.at,
        identity_id=row.identity_id,
        identity_name=row.identity_name,
        action=row.action,
        outcome=row.outcome,
        payer_id=row.payer_id,
        version=row.version,
        checksum=row.checksum,
        detail=row.detail,
        seq=row.id or 0,
    )
