"""customer messages of the last hour by sender, for agents' flood notices

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mailtickets.db.base

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notice_tally",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=320), nullable=False),
        sa.Column("at", mailtickets.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("withheld", sa.Boolean(), nullable=False),
        sa.Column("summarised_at", mailtickets.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
            name=op.f("fk_notice_tally_ticket_id_ticket"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_tally")),
    )
    with op.batch_alter_table("notice_tally", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_tally_source"), ["source", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_notice_tally_ticket_id"), ["ticket_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_notice_tally_withheld"),
            ["withheld", "summarised_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("notice_tally", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_tally_withheld"))
        batch_op.drop_index(batch_op.f("ix_notice_tally_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_notice_tally_source"))
    op.drop_table("notice_tally")
