"""who holds each intake and outbox lease, since when

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mailtickets.db.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lease",
        sa.Column("work", sa.String(length=32), nullable=False),
        sa.Column("row_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("holder", sa.String(length=63), nullable=False),
        sa.Column("leased_at", mailtickets.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("work", "row_id", name=op.f("pk_lease")),
    )


def downgrade() -> None:
    op.drop_table("lease")
