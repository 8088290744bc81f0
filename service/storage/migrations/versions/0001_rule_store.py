"""Rule store: published rule-set versions, their plans, saved quotes.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rule_set_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("payer_id", sa.String(length=100), nullable=False),
        sa.Column("payer_name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("checksum", sa.String(length=100), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.UniqueConstraint("payer_id", "version", name="uq_rule_set_version_payer_version"),
        sa.UniqueConstraint("payer_id", "checksum", name="uq_rule_set_version_payer_checksum"),
    )
    op.create_index("ix_rule_set_version_payer_id", "rule_set_version", ["payer_id"])
    op.create_table(
        "plan_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "rule_set_version_id",
            sa.Integer(),
            sa.ForeignKey("rule_set_version.id"),
            nullable=False,
        ),
        sa.Column("plan_id", sa.String(length=100), nullable=False),
        sa.Column("plan_name", sa.String(length=200), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.UniqueConstraint("rule_set_version_id", "plan_id", name="uq_plan_version_version_plan"),
    )
    op.create_index("ix_plan_version_plan_id", "plan_version", ["plan_id"])
    op.create_index("ix_plan_version_rule_set_version_id", "plan_version", ["rule_set_version_id"])
    op.create_table(
        "saved_quote",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("plan_id", sa.String(length=100), nullable=False),
        sa.Column("payer_id", sa.String(length=100), nullable=True),
        sa.Column("version", sa.String(length=100), nullable=True),
        sa.Column("checksum", sa.String(length=100), nullable=True),
    )
    op.create_index("ix_saved_quote_plan_id", "saved_quote", ["plan_id"])


def downgrade() -> None:
    op.drop_index("ix_saved_quote_plan_id", table_name="saved_quote")
    op.drop_table("saved_quote")
    op.drop_index("ix_plan_version_rule_set_version_id", table_name="plan_version")
    op.drop_index("ix_plan_version_plan_id", table_name="plan_version")
    op.drop_table("plan_version")
    op.drop_index("ix_rule_set_version_payer_id", table_name="rule_set_version")
    op.drop_table("rule_set_version")
