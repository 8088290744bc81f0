"""Built plans kept beside their rule-set version (a start-up cache, service.storage.builds).

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rule_set_version_build",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "rule_set_version_id",
            sa.Integer(),
            sa.ForeignKey("rule_set_version.id"),
            nullable=False,
        ),
        sa.Column("build_key", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.UniqueConstraint("rule_set_version_id", "build_key", name="uq_rule_set_version_build"),
    )
    op.create_index(
        "ix_rule_set_version_build_rule_set_version_id",
        "rule_set_version_build",
        ["rule_set_version_id"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_rule_set_version_build_rule_set_version_id", table_name="rule_set_version_build"
    )
    op.drop_table("rule_set_version_build")
