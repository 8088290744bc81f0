"""SQLModel tables of the rule store, layered like the full-stack-fastapi-template: a Base model
with the shared fields and the table model. Callers read them as the service layer's own types
(service.usecases.ports), never as rows.

Published rule-set versions are immutable: nothing in service.storage updates or deletes a
row of rule_set_version or plan_version. The schema itself is created by the Alembic
migrations in service/storage/migrations/ (these classes must stay in step with them;
tests/storage/test_migrations.py compares the two).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    PostgreSQL keeps timestamptz natively; SQLite has no time zones, so values are stored as
    naive UTC and tagged UTC on the way out. Naive values going in are refused: a published-at
    time with an unknown zone would make as-of replay silently wrong.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"timestamp {value.isoformat()} has no time zone; use UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# ---------------------------------------------------------------------------- rule_set_version


class RuleSetVersionBase(SQLModel):
    """Metadata of one published rule-set version (what ListRuleSets shows)."""

    payer_id: str = Field(max_length=100, index=True)
    payer_name: str = Field(max_length=200)
    version: str = Field(max_length=100)
    effective_from: date
    effective_to: date | None = None
    checksum: str = Field(max_length=100)
    published_at: datetime = Field(sa_type=UTCDateTime)
    published_by: str = Field(max_length=200)
    note: str = Field(default="", sa_type=sa.Text)
    source: str = Field(default="", sa_type=sa.Text)


class RuleSetVersionRow(RuleSetVersionBase, table=True):
    """The stored version: metadata plus the canonical content as JSON text."""

    __tablename__ = "rule_set_version"
    __table_args__ = (
        sa.UniqueConstraint("payer_id", "version", name="uq_rule_set_version_payer_version"),
        sa.UniqueConstraint("payer_id", "checksum", name="uq_rule_set_version_payer_checksum"),
    )

    id: int | None = Field(default=None, primary_key=True)
    content: str = Field(sa_type=sa.Text)


# ---------------------------------------------------------------------------- plan_version


class PlanVersionBase(SQLModel):
    """One plan inside one version, with the date-of-service range it applies to."""

    plan_id: str = Field(max_length=100, index=True)
    plan_name: str = Field(default="", max_length=200)
    effective_from: date
    effective_to: date | None = None


class PlanVersionRow(PlanVersionBase, table=True):
    __tablename__ = "plan_version"
    __table_args__ = (
        sa.UniqueConstraint("rule_set_version_id", "plan_id", name="uq_plan_version_version_plan"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rule_set_version_id: int = Field(foreign_key="rule_set_version.id", index=True)


# ---------------------------------------------------------------------------- saved_quote


class SavedQuoteBase(SQLModel):
    """An estimate a client asked to keep, with the request and the rule version that answered.

    payer_id/version/checksum are empty for self-pay quotes (no rule version answers those).
    """

    created_at: datetime = Field(sa_type=UTCDateTime)
    request: str = Field(sa_type=sa.Text)  # JSON
    response: str = Field(sa_type=sa.Text)  # JSON
    plan_id: str = Field(max_length=100, index=True)
    payer_id: str | None = Field(default=None, max_length=100)
    version: str | None = Field(default=None, max_length=100)
    checksum: str | None = Field(default=None, max_length=100)
    # The clinic profile version that priced it (None when none was published for the date).
    clinic_id: str | None = Field(default=None, max_length=100)
    clinic_version: str | None = Field(default=None, max_length=100)
    clinic_checksum: str | None = Field(default=None, max_length=100)


class SavedQuoteRow(SavedQuoteBase, table=True):
    __tablename__ = "saved_quote"

    id: str = Field(primary_key=True, max_length=36)  # uuid4 text


# -------------------------------------------------------------------- rule_set_version_build


class RuleSetVersionBuildRow(SQLModel, table=True):
    """The built plans of one version for one build key (service.storage.builds): a cache a
    start reads instead of re-running the rule-file checks; never the source of truth."""

    __tablename__ = "rule_set_version_build"
    __table_args__ = (
        sa.UniqueConstraint("rule_set_version_id", "build_key", name="uq_rule_set_version_build"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rule_set_version_id: int = Field(foreign_key="rule_set_version.id", index=True)
    build_key: str = Field(max_length=64)
    payload: bytes = Field(sa_type=sa.LargeBinary)


# ------------------------------------------------------------------- clinic_profile_version


class ClinicProfileVersionBase(SQLModel):
    """Metadata of one published clinic profile version (what ListClinicProfiles shows)."""

    clinic_id: str = Field(max_length=100, index=True)
    clinic_name: str = Field(max_length=200)
    version: str = Field(max_length=100)
    effective_from: date
    effective_to: date | None = None
    checksum: str = Field(max_length=100)
    published_at: datetime = Field(sa_type=UTCDateTime)
    published_by: str = Field(max_length=200)
    note: str = Field(default="", sa_type=sa.Text)
    source: str = Field(default="", sa_type=sa.Text)


class ClinicProfileVersionRow(ClinicProfileVersionBase, table=True):
    """The stored clinic version: metadata plus the canonical content as JSON text. Rows are
    never updated or deleted."""

    __tablename__ = "clinic_profile_version"
    __table_args__ = (
        sa.UniqueConstraint("clinic_id", "version", name="uq_clinic_profile_version_label"),
        sa.UniqueConstraint("clinic_id", "checksum", name="uq_clinic_profile_version_checksum"),
    )

    id: int | None = Field(default=None, primary_key=True)
    content: str = Field(sa_type=sa.Text)


# ---------------------------------------------------------------------------- api_key, audit


class ApiKeyRow(SQLModel, table=True):
    """An API key: its public id, who it is for, its role and payers, and the SHA-256 of the
    token (never the token). Revoking sets revoked_at; rows are never deleted, so a revoked
    key keeps authentication on."""

    __tablename__ = "api_key"

    id: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    role: str = Field(max_length=32)
    payer_ids: str = Field(default="", sa_type=sa.Text)  # space-separated
    token_hash: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuditRow(SQLModel, table=True):
    """One audit entry; service.storage only ever inserts into this table."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    identity_id: str = Field(max_length=200)
    identity_name: str = Field(max_length=200)
    action: str = Field(max_length=100)
    outcome: str = Field(max_length=40)
    payer_id: str = Field(default="", max_length=100)
    version: str = Field(default="", max_length=100)
    checksum: str = Field(default="", max_length=100)
    detail: str = Field(default="", sa_type=sa.Text)


class RuleSetWithdrawalRow(SQLModel, table=True):
    """A withdrawn version: from `withdrawn_at` on it no longer answers (quotes saved before
    still replay with it). Inserted once, never updated; the version row itself never changes."""

    __tablename__ = "rule_set_withdrawal"

    id: int | None = Field(default=None, primary_key=True)
    rule_set_version_id: int = Field(foreign_key="rule_set_version.id", unique=True)
    withdrawn_at: datetime = Field(sa_type=UTCDateTime)
    withdrawn_by: str = Field(max_length=200)
    reason: str = Field(sa_type=sa.Text)
