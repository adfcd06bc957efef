"""The intake: every raw message accepted from any edge, kept until processed and after.

A row is committed before the edge acknowledges the message (SMTP 250, IMAP flag), so a
crash at any later point loses nothing: the ingest worker finds the row again. The bytes are
a row of their own (`InboundRaw`): SQLite rewrites a whole row on every update, and the
intake row is updated as it is claimed and processed; with a 36 MB message in it, each of
those cost two copies of the message in memory and 36 MB written.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailtickets.db.base import Base, string_enum
from mailtickets.db.models.directory import ADDRESS


class IntakeStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"
    DISCARDED = "discarded"


class InboundMessage(Base):
    __tablename__ = "inbound_message"
    __table_args__ = (
        # Idempotent intake: the same delivery from the same source is one row.
        UniqueConstraint("source", "source_key"),
        Index(None, "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # smtp | lmtp | pipe | imap | import
    #: What identifies this delivery within its source: content hash, or mailbox/UIDVALIDITY/UID.
    source_key: Mapped[str] = mapped_column(String(700))
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    mail_from: Mapped[str | None] = mapped_column(ADDRESS)
    rcpt_to: Mapped[list[str]]
    received_at: Mapped[datetime]
    status: Mapped[IntakeStatus] = mapped_column(string_enum(IntakeStatus))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None]
    #: What the pipeline made of it (new_ticket, follow_up, auto_reply, bounce, …).
    #: A `mailtickets.outcomes.Outcome`, once processed.
    outcome: Mapped[str | None] = mapped_column(String(32))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id", ondelete="SET NULL"))
    #: Imported as history (`mailtickets import` without --notify): the pipeline dates it by
    #: its Date header and queues no mail for it, whoever processes it and whenever.
    history: Mapped[bool] = mapped_column(default=False, server_default=false())
    body: Mapped[InboundRaw] = relationship(cascade="all, delete-orphan", passive_deletes=True)

    @property
    def raw(self) -> bytes:
        """The message as received, our Received header first; b"" once retention emptied it."""
        return self.body.raw


class InboundRaw(Base):
    """The bytes of an intake row, apart from it (see the module's docstring)."""

    __tablename__ = "inbound_raw"

    inbound_id: Mapped[int] = mapped_column(
        ForeignKey("inbound_message.id", ondelete="CASCADE"), primary_key=True
    )
    raw: Mapped[bytes] = mapped_column(LargeBinary)
