"""who holds each intake and outbox lease, since when

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mailtickets.db.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("inbound_message", "outbound_message"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("leased_by", sa.String(length=63), nullable=True))
            batch_op.add_column(
                sa.Column(
                    "leased_at", mailtickets.db.base.UTCDateTime(timezone=True), nullable=True
                )
            )


def downgrade() -> None:
    for table in ("outbound_message", "inbound_message"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("leased_at")
            batch_op.drop_column("leased_by")
