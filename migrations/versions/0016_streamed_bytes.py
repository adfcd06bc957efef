"""bytes in rows of their own: attachments in chunks, raw mail apart from its intake row

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

A file's bytes move from `attachment.content` to `attachment_chunk` rows, so that storing
and sending a file never needs it whole in memory. Existing files move as one chunk each
(they were written whole, so they fit in memory as they are); new ones are cut at 1 MiB.

The raw mail moves from `inbound_message.raw` to `inbound_raw`: SQLite rewrites a whole row
on every update, and the intake row is updated as it is claimed and processed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attachment_chunk",
        sa.Column("attachment_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["attachment.id"],
            name=op.f("fk_attachment_chunk_attachment_id_attachment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("attachment_id", "seq", name=op.f("pk_attachment_chunk")),
    )
    op.execute(
        "INSERT INTO attachment_chunk (attachment_id, seq, data) "
        "SELECT id, 0, content FROM attachment WHERE content IS NOT NULL"
    )
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_column("content")
    op.create_table(
        "inbound_raw",
        sa.Column("inbound_id", sa.Integer(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inbound_id"],
            ["inbound_message.id"],
            name=op.f("fk_inbound_raw_inbound_id_inbound_message"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("inbound_id", name=op.f("pk_inbound_raw")),
    )
    op.execute("INSERT INTO inbound_raw (inbound_id, raw) SELECT id, raw FROM inbound_message")
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.drop_column("raw")


def downgrade() -> None:
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("raw", sa.LargeBinary(), nullable=True))
    op.execute(
        "UPDATE inbound_message SET raw = "
        "(SELECT raw FROM inbound_raw WHERE inbound_raw.inbound_id = inbound_message.id)"
    )
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.alter_column("raw", existing_type=sa.LargeBinary(), nullable=False)
    op.drop_table("inbound_raw")
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content", sa.LargeBinary(), nullable=True))
    connection = op.get_bind()
    chunk = sa.table(
        "attachment_chunk",
        sa.column("attachment_id", sa.Integer()),
        sa.column("seq", sa.Integer()),
        sa.column("data", sa.LargeBinary()),
    )
    attachment = sa.table(
        "attachment", sa.column("id", sa.Integer()), sa.column("content", sa.LargeBinary())
    )
    ids = connection.scalars(sa.select(chunk.c.attachment_id).distinct()).all()
    for attachment_id in ids:
        parts = connection.scalars(
            sa.select(chunk.c.data)
            .where(chunk.c.attachment_id == attachment_id)
            .order_by(chunk.c.seq)
        )
        connection.execute(
            sa.update(attachment)
            .where(attachment.c.id == attachment_id)
            .values(content=b"".join(parts))
        )
    op.drop_table("attachment_chunk")
