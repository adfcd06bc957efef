"""outgoing mail names the files it carries

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23

A mail names its files by attachment id (with how each is shown); the sender reads their
bytes when it composes, so the outbox never holds a copy. Rows written before have none.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attachments", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.drop_column("attachments")
