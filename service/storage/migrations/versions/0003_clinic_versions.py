"""Clinic profile versions (locations, prices, network participation) and the clinic version a
saved quote was priced with.

The rule-set tables are not touched, so every stored rule-version checksum stays as it is.
Today's single profile (clinic.yaml) moves in when the service next starts: an empty
clinic_profile_version table is seeded from the rules folder's clinics/ files, or from
clinic.yaml as a one-location profile (RuleStore.seed_clinics_from_dir).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clinic_profile_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("clinic_id", sa.String(length=100), nullable=False),
        sa.Column("clinic_name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("checksum", sa.String(length=100), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.UniqueConstraint("clinic_id", "version", name="uq_clinic_profile_version_label"),
        sa.UniqueConstraint("clinic_id", "checksum", name="uq_clinic_profile_version_checksum"),
    )
    op.create_index("ix_clinic_profile_version_clinic_id", "clinic_profile_version", ["clinic_id"])
    with op.batch_alter_table("saved_quote") as batch:
        batch.add_column(sa.Column("clinic_id", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("clinic_version", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("clinic_checksum", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("saved_quote") as batch:
        batch.drop_column("clinic_checksum")
        batch.drop_column("clinic_version")
        batch.drop_column("clinic_id")
    op.drop_index("ix_clinic_profile_version_clinic_id", table_name="clinic_profile_version")
    op.drop_table("clinic_profile_version")
