"""satisfaction ratings

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mailtickets.db.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "satisfaction_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("rated_at", mailtickets.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "rating BETWEEN 1 AND 5", name=op.f("ck_satisfaction_rating_rating_range")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_satisfaction_rating_contact_id_contact"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
            name=op.f("fk_satisfaction_rating_ticket_id_ticket"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_satisfaction_rating")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_satisfaction_rating_ticket_id")),
    )
    with op.batch_alter_table("satisfaction_rating", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_satisfaction_rating_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_satisfaction_rating_rated_at"), ["rated_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("satisfaction_rating", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_satisfaction_rating_rated_at"))
        batch_op.drop_index(batch_op.f("ix_satisfaction_rating_contact_id"))
    op.drop_table("satisfaction_rating")
