"""agents' answers held back by the collision check

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mailtickets.db.base

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # New values of message.kind and outbound_message.status ("held", "withheld",
    # "discarded") need nothing: those columns are plain strings without a constraint.
    op.create_table(
        "held_reply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("outbound_id", sa.Integer(), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "held",
                "sent",
                "discarded",
                "expired",
                name="heldstate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("held_at", mailtickets.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", mailtickets.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", mailtickets.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agent.id"], name=op.f("fk_held_reply_agent_id_agent")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_held_reply_message_id_message"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbound_id"],
            ["outbound_message.id"],
            name=op.f("fk_held_reply_outbound_id_outbound_message"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
            name=op.f("fk_held_reply_ticket_id_ticket"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_held_reply")),
    )
    with op.batch_alter_table("held_reply", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_held_reply_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_held_reply_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("held_reply", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_held_reply_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_held_reply_expires_at"))
    op.drop_table("held_reply")
