"""work shared out: who is away, where round robin goes on, who follows a ticket

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mailtickets.db.base

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("away_since", mailtickets.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("away_until", mailtickets.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("away_how", sa.String(length=16), nullable=True))
    op.create_table(
        "assignment_cursor",
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("last_agent_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", mailtickets.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["last_agent_id"],
            ["agent.id"],
            name=op.f("fk_assignment_cursor_last_agent_id_agent"),
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"], ["queue.id"], name=op.f("fk_assignment_cursor_queue_id_queue")
        ),
        sa.PrimaryKeyConstraint("queue_id", name=op.f("pk_assignment_cursor")),
    )
    op.create_table(
        "ticket_follower",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("added_at", mailtickets.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agent.id"], name=op.f("fk_ticket_follower_agent_id_agent")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
            name=op.f("fk_ticket_follower_ticket_id_ticket"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_follower")),
        sa.UniqueConstraint(
            "ticket_id", "agent_id", name=op.f("uq_ticket_follower_ticket_id_agent_id")
        ),
    )
    with op.batch_alter_table("ticket_follower", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_follower_agent_id"), ["agent_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket_follower", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_follower_agent_id"))
    op.drop_table("ticket_follower")
    op.drop_table("assignment_cursor")
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.drop_column("away_how")
        batch_op.drop_column("away_until")
        batch_op.drop_column("away_since")
