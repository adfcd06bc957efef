"""sla due times and notifications

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mailtickets.db.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sla_notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("due_at", mailtickets.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", mailtickets.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
            name=op.f("fk_sla_notification_ticket_id_ticket"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_notification")),
        sa.UniqueConstraint(
            "ticket_id", "kind", "due_at", name=op.f("uq_sla_notification_ticket_id_kind_due_at")
        ),
    )
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "first_response_due", mailtickets.db.base.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "next_response_due", mailtickets.db.base.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "resolution_due", mailtickets.db.base.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("sla_check_at", mailtickets.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_ticket_sla_check_at"), ["sla_check_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_sla_check_at"))
        batch_op.drop_column("sla_check_at")
        batch_op.drop_column("resolution_due")
        batch_op.drop_column("next_response_due")
        batch_op.drop_column("first_response_due")

    op.drop_table("sla_notification")
