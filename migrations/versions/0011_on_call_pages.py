"""on-call pages

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mailtickets.db.base

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "on_call_page",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("rota", sa.String(length=200), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("paged_at", mailtickets.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ack_due", mailtickets.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("settled_at", mailtickets.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agent.id"], name=op.f("fk_on_call_page_agent_id_agent")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
            name=op.f("fk_on_call_page_ticket_id_ticket"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_on_call_page")),
    )
    with op.batch_alter_table("on_call_page", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_on_call_page_settled_at"), ["settled_at", "ack_due"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_on_call_page_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("on_call_page", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_on_call_page_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_on_call_page_settled_at"))

    op.drop_table("on_call_page")
