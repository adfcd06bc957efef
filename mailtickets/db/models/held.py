"""Agents' answers held back because someone else answered the customer first.

One row per held answer. Its message stays `MessageKind.HELD` and its mail to the customer
stays `OutboundStatus.WITHHELD` (composed, never claimed by the sender) until the agent decides:
`#send` lets the mail go as it was written, `#discard` or the expiry drops it.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailtickets.db.base import Base, string_enum
from mailtickets.db.models.directory import Agent
from mailtickets.db.models.outbound import OutboundMessage
from mailtickets.db.models.ticket import Message


class HeldState(enum.StrEnum):
    HELD = "held"
    SENT = "sent"
    DISCARDED = "discarded"
    EXPIRED = "expired"


class HeldReply(Base):
    __tablename__ = "held_reply"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"))
    outbound_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_message.id", ondelete="SET NULL")
    )
    state: Mapped[HeldState] = mapped_column(string_enum(HeldState))
    held_at: Mapped[datetime]
    #: When a reply still held is dropped and its agent told; the expiry job looks here.
    expires_at: Mapped[datetime] = mapped_column(index=True)
    decided_at: Mapped[datetime | None]

    agent: Mapped[Agent] = relationship()
    message: Mapped[Message] = relationship()
    outbound: Mapped[OutboundMessage | None] = relationship()
